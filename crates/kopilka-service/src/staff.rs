//! Back-office staff: accounts, sign-in, roles, and the audit log (SPEC §8).

use crate::attempts::Audience;
use crate::auth::Client;
use crate::security::SecurityEvent;
use crate::{crypto, Kopilka, ServiceError, ServiceResult};
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::StaffId;
use kopilka_domain::staff::{Permission, Role};
use kopilka_domain::DomainError;
use kopilka_domain::Validation;
use kopilka_store::{
    AuditEntry, AuditFilter, AuditSubject, NewAuditEntry, StaffChange, StaffMember, StoreError,
    TokenKind,
};
use kopilka_text::Message;
use rand::rngs::OsRng;

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff(i64),
    Employee(kopilka_domain::employee::EmployeeId),
    Cli,
    System,
}

impl Actor {
    pub(crate) fn label(&self) -> String {
        match self {
            Actor::Staff(id) => format!("staff:{id}"),
            Actor::Employee(id) => format!("employee:{id}"),
            Actor::Cli => "cli".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }
}

/// Seconds a TOTP code stands for, and how many steps either side are accepted (a phone's
/// clock may be a little off).
const TOTP_STEP_S: u64 = 30;
const TOTP_SKEW: u16 = 1;

fn totp(secret_base32: &str, login: &str) -> ServiceResult<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_base32)
        .map_err(|e| ServiceError::Internal(format!("stored TOTP secret: {e}")))?;
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(TOTP_SKEW)
        .with_step_duration(TOTP_STEP_S)
        .with_secret(secret)
        .with_issuer(Some("Kopilka"))
        .with_account_name(login)
        .build()
        .map_err(|e| ServiceError::Internal(format!("TOTP: {e}")))
}

/// Whether `staff` holds `permission` (`Permission::roles`, the role matrix). Every staff use
/// case asks here first.
pub fn authorize(staff: &StaffMember, permission: Permission) -> Result<(), DomainError> {
    authorize_roles(staff, permission.roles())
}

/// Whether `staff` acts in one of `roles`; administrators may do everything. For what depends
/// on data rather than on the matrix: which department's threads one answers
/// (`Department::answered_by`).
pub fn authorize_roles(staff: &StaffMember, roles: &[Role]) -> Result<(), DomainError> {
    if kopilka_domain::staff::acts_as_any(&staff.roles, roles) {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Who asks for a back-office operation that the command line can do too: whoever runs
/// `kopilka` on the server is trusted, a signed-in staff member needs the permission.
#[derive(Debug, Clone, Copy)]
pub enum Caller<'a> {
    Cli,
    Staff(&'a StaffMember),
}

impl Caller<'_> {
    /// The audit log's actor, once the caller may do it.
    pub(crate) fn authorize(self, permission: Permission) -> Result<Actor, DomainError> {
        match self {
            Caller::Cli => Ok(Actor::Cli),
            Caller::Staff(staff) => {
                authorize(staff, permission)?;
                Ok(Actor::Staff(staff.id.get()))
            }
        }
    }
}

/// What `GET /admin/audit` and its page narrow the log by, as typed: a staff member's id (or
/// `cli`, `system`), an entity (`member`, or `member:12`), a period (dates are UTC days, or
/// RFC 3339 times). Blank means any.
pub fn audit_filter(
    staff: Option<&str>,
    entity: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<AuditFilter, DomainError> {
    fn given(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    let (staff, entity, from, to) = (given(staff), given(entity), given(from), given(to));
    let mut v = Validation::default();
    let actor = staff.and_then(|s| match s {
        "cli" | "system" => Some(s.to_owned()),
        id => match id.parse::<i64>() {
            Ok(id) if id > 0 => Some(format!("staff:{id}")),
            _ => {
                v.add("staff", "audit_staff_invalid");
                None
            }
        },
    });
    let subject = entity.and_then(|e| {
        let (kind, one) = match e.split_once(':') {
            Some((kind, one)) => (kind, Some(one)),
            None => (e, None),
        };
        let kind_ok = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        match (kind_ok, one) {
            (true, None) => Some(AuditSubject::Kind(kind.to_owned())),
            (true, Some(one)) if !one.is_empty() && !one.contains(char::is_whitespace) => {
                Some(AuditSubject::Exact(e.to_owned()))
            }
            _ => {
                v.add("entity", "audit_entity_invalid");
                None
            }
        }
    });
    let mut time = |field: &str, value: Option<&str>| {
        let value = value?;
        let parsed = DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                NaiveDate::parse_from_str(value, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            });
        if parsed.is_none() {
            v.add(field, "audit_time_invalid");
        }
        parsed
    };
    let from = time("from", from);
    let to = time("to", to);
    v.finish()?;
    Ok(AuditFilter {
        actor,
        subject,
        from,
        to,
    })
}

/// Audit rows as CSV, to open in a spreadsheet: `id,at,actor,action,subject,details`.
pub fn audit_csv(entries: &[AuditEntry]) -> ServiceResult<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ServiceError::Internal(format!("writing CSV: {e}"));
    out.write_record(["id", "at", "actor", "action", "subject", "details"])
        .map_err(fail)?;
    for e in entries {
        out.write_record([
            e.id.to_string(),
            e.at.to_rfc3339(),
            e.actor.clone(),
            e.action.clone(),
            e.subject.clone(),
            e.details.clone(),
        ])
        .map_err(fail)?;
    }
    out.into_inner()
        .map_err(|e| ServiceError::Internal(format!("writing CSV: {e}")))
}

impl Kopilka {
    /// The points the chain owes its customers, and the ledger's own totals to check that it
    /// balances: administrators and accounting.
    pub async fn liability(
        &self,
        staff: &StaffMember,
    ) -> ServiceResult<kopilka_domain::ledger::LedgerTotals> {
        authorize(staff, Permission::ReadReports)?;
        Ok(self.store().totals().await?)
    }

    /// `kopilka staff create`: passwords of at least the staff minimum.
    pub async fn create_staff(
        &self,
        login: &str,
        password: &NewPassword,
        roles: &[Role],
    ) -> ServiceResult<StaffMember> {
        self.check_staff_password(password)?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let hash = crypto::hash_password(password.expose().to_owned()).await?;
        let audit = self.audit_entry(
            Actor::Cli,
            "staff.create",
            "staff:",
            serde_json::json!({ "login": login, "roles": &roles }).to_string(),
        );
        match self
            .store()
            .create_staff(login, &hash, &roles, self.now(), audit)
            .await
        {
            Err(StoreError::Conflict(_)) => {
                Err(DomainError::field("login", "staff_login_taken").into())
            }
            other => Ok(other?),
        }
    }

    fn check_staff_password(&self, password: &NewPassword) -> ServiceResult<()> {
        let min = self.rules().staff_password_min_chars;
        if password.expose().chars().count() < min {
            return Err(DomainError::field(
                "password",
                Message::new("staff_password_too_short").with("min", min),
            )
            .into());
        }
        Ok(())
    }

    async fn staff_by_login_or_not_found(&self, login: &str) -> ServiceResult<StaffMember> {
        Ok(self
            .store()
            .staff_by_login(login)
            .await?
            .ok_or(DomainError::NotFound("staff"))?
            .0)
    }

    /// `kopilka staff password`: a new password; every session of theirs ends.
    pub async fn set_staff_password(
        &self,
        login: &str,
        password: &NewPassword,
    ) -> ServiceResult<()> {
        self.check_staff_password(password)?;
        let staff = self.staff_by_login_or_not_found(login).await?;
        let hash = crypto::hash_password(password.expose().to_owned()).await?;
        let audit = self.audit_entry(
            Actor::Cli,
            "staff.password",
            &format!("staff:{}", staff.id),
            "{}".to_owned(),
        );
        self.store()
            .change_staff(staff.id, StaffChange::Password(hash), audit)
            .await?;
        Ok(())
    }

    /// `kopilka staff disable`: no more sign-ins; every session of theirs ends at once.
    pub async fn disable_staff(&self, login: &str) -> ServiceResult<()> {
        let staff = self.staff_by_login_or_not_found(login).await?;
        let audit = self.audit_entry(
            Actor::Cli,
            "staff.disable",
            &format!("staff:{}", staff.id),
            "{}".to_owned(),
        );
        self.store()
            .change_staff(staff.id, StaffChange::Disable(self.now()), audit)
            .await?;
        Ok(())
    }

    /// `kopilka staff totp`: enrols a new second factor and returns its `otpauth://` URI,
    /// shown once. From then on a sign-in needs its current code.
    pub async fn enrol_staff_totp(&self, login: &str) -> ServiceResult<String> {
        let staff = self.staff_by_login_or_not_found(login).await?;
        let mut bytes = [0u8; 20];
        rand::RngCore::fill_bytes(&mut OsRng, &mut bytes);
        let secret = totp_rs::Secret::from(bytes).to_base32();
        let uri = totp(&secret, &staff.login)?
            .to_url()
            .map_err(|e| ServiceError::Internal(format!("TOTP URI: {e}")))?;
        let audit = self.audit_entry(
            Actor::Cli,
            "staff.totp",
            &format!("staff:{}", staff.id),
            "{}".to_owned(),
        );
        self.store()
            .change_staff(staff.id, StaffChange::Totp(secret), audit)
            .await?;
        Ok(uri)
    }

    /// Staff sign-in: throttled like a customer's (the attempt is claimed before the hash),
    /// then the second factor once enrolled, which some roles must have.
    pub async fn staff_sign_in(
        &self,
        login: &str,
        password: String,
        totp_code: Option<&str>,
        client: &Client,
    ) -> ServiceResult<(String, StaffMember)> {
        let masked = format!("staff:{login}");
        let attempt = self
            .claim_password_attempt(Audience::Staff, login, &masked, &client.ip)
            .await?;
        let found = self.store().staff_by_login(login).await?;
        let hash = found.as_ref().map(|(_, c)| c.password_hash.clone());
        let password_ok = crypto::verify_password(password, hash).await?;
        let Some((staff, credentials)) = found.filter(|(s, _)| password_ok && !s.disabled) else {
            self.settle_password_attempt(attempt, false).await?;
            return Err(DomainError::InvalidCredentials.into());
        };
        match &credentials.totp_secret {
            Some(secret) => {
                let now = u64::try_from(self.now().timestamp()).unwrap_or(0);
                let given = totp_code.unwrap_or("").trim();
                let step = totp(secret, &staff.login)?.check(given, now);
                // RFC 6238 §5.2: a code is accepted once, so one seen over a shoulder or
                // replayed is refused.
                let fresh = match step {
                    Some(step) => self.first_use_of_totp_step(staff.id.get(), step).await?,
                    None => false,
                };
                if !fresh {
                    self.settle_password_attempt(attempt, false).await?;
                    self.security_event(SecurityEvent::TotpFailed, &masked, &client.ip);
                    return Err(DomainError::InvalidCredentials.into());
                }
            }
            None if staff
                .roles
                .iter()
                .any(|r| self.rules().totp_required_roles.contains(r)) =>
            {
                self.settle_password_attempt(attempt, true).await?;
                tracing::warn!(
                    staff_id = staff.id.get(),
                    "staff sign-in refused: no second factor enrolled"
                );
                return Err(DomainError::Forbidden.into());
            }
            None => {}
        }
        self.settle_password_attempt(attempt, true).await?;
        let token = self
            .open_session(TokenKind::Staff, staff.id.get(), None, client)
            .await?;
        tracing::info!(staff_id = staff.id.get(), "staff signed in");
        Ok((token, staff))
    }

    /// The staff member a staff token stands for, if they hold one of `roles` (or any role
    /// when `roles` is empty). A session idle for too long has ended, and so has every
    /// session of a disabled account.
    pub async fn authenticate_staff(
        &self,
        token: &str,
        roles: &[Role],
    ) -> ServiceResult<StaffMember> {
        let hash = crypto::token_hash(token);
        let session = self
            .store()
            .session(TokenKind::Staff, &hash, self.now())
            .await?
            .ok_or(DomainError::Unauthorized)?;
        self.keep_alive(
            TokenKind::Staff,
            &hash,
            session.last_seen_at,
            self.rules().staff_session_idle,
        )
        .await?;
        let staff = self
            .store()
            .staff_member(StaffId::new(session.subject))
            .await?
            .filter(|s| !s.disabled)
            .ok_or(DomainError::Unauthorized)?;
        if roles.is_empty() || roles.iter().any(|r| staff.roles.contains(r)) {
            Ok(staff)
        } else {
            Err(DomainError::Forbidden.into())
        }
    }

    /// True the first time a staff member's code of this time step is used.
    async fn first_use_of_totp_step(&self, staff: i64, step: u64) -> ServiceResult<bool> {
        let now = self.now();
        // Long enough to outlive every step the skew still accepts.
        let lasts =
            chrono::Duration::seconds(((2 * u64::from(TOTP_SKEW) + 1) * TOTP_STEP_S) as i64);
        Ok(self
            .store()
            .start_cooldown(&format!("totp:{staff}:{step}"), now, now + lasts)
            .await?
            .is_none())
    }

    pub(crate) fn audit_entry(
        &self,
        actor: Actor,
        action: &str,
        subject: &str,
        details: String,
    ) -> NewAuditEntry {
        NewAuditEntry {
            actor: actor.label(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            details,
            at: self.now(),
        }
    }

    pub async fn audit(
        &self,
        actor: Actor,
        action: &str,
        subject: &str,
        details: String,
    ) -> ServiceResult<()> {
        self.store()
            .record_audit(self.audit_entry(actor, action, subject, details))
            .await?;
        Ok(())
    }

    /// The audit log, newest first, narrowed by `filter`: administrators only.
    pub async fn audit_log(
        &self,
        staff: &StaffMember,
        filter: &AuditFilter,
        limit: u32,
    ) -> ServiceResult<Vec<AuditEntry>> {
        authorize(staff, Permission::ReadAudit)?;
        if limit == 0 || limit > 1000 {
            return Err(
                DomainError::field("limit", Message::new("range_1_to").with("max", 1000)).into(),
            );
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from >= to {
                return Err(DomainError::field("to", "audit_period_empty").into());
            }
        }
        Ok(self.store().audit_log(filter, limit).await?)
    }
}
