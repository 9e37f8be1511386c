//! Employees' accounts (SPEC §6.1): HR issues a login and a temporary password (frontline staff
//! have no corporate e-mail); the password must change at first sign-in, and until then
//! nothing else is allowed.

use crate::attempts::Audience;
use crate::auth::Client;
use crate::staff::{authorize, Actor};
use crate::{crypto, Kopilka, ServiceResult};
use chrono::NaiveDate;
use kopilka_domain::employee::{
    bounded_text, parse_login, EmployeeId, FULL_NAME_MAX_CHARS, POSITION_MAX_CHARS,
};
use kopilka_domain::member::StoreId;
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::Permission;
use kopilka_domain::{DomainError, Validation};
use kopilka_store::employees::{Employee, NewEmployee};
use kopilka_store::{StaffMember, StoreError, TokenKind};
use rand::rngs::OsRng;
use rand::Rng;

/// Letters of a temporary password: no look-alikes, since it is read off a screen or paper.
const TEMPORARY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
const TEMPORARY_LEN: usize = 12;

fn temporary_password() -> String {
    let mut rng = OsRng;
    (0..TEMPORARY_LEN)
        .map(|_| TEMPORARY_ALPHABET[rng.gen_range(0..TEMPORARY_ALPHABET.len())] as char)
        .collect()
}

/// An employee's account as HR types it in.
#[derive(Debug, Clone)]
pub struct EmployeeInput<'a> {
    pub login: &'a str,
    pub full_name: &'a str,
    pub position: &'a str,
    pub store_id: StoreId,
    pub hired_on: &'a str,
}

/// The signed-in employee, and which session is theirs (a password change keeps it).
#[derive(Debug, Clone)]
pub struct EmployeeSession {
    pub employee: Employee,
    pub token_hash: String,
}

impl Kopilka {
    /// `kopilka employee create`: the account and its temporary password, shown once.
    pub async fn create_employee_cli(
        &self,
        input: &EmployeeInput<'_>,
    ) -> ServiceResult<(Employee, String)> {
        self.create_employee_as(Actor::Cli, input).await
    }

    /// HR opens an account for an employee.
    pub async fn create_employee(
        &self,
        staff: &StaffMember,
        input: &EmployeeInput<'_>,
    ) -> ServiceResult<(Employee, String)> {
        authorize(staff, Permission::ManageEmployees)?;
        self.create_employee_as(Actor::Staff(staff.id.get()), input)
            .await
    }

    async fn create_employee_as(
        &self,
        actor: Actor,
        input: &EmployeeInput<'_>,
    ) -> ServiceResult<(Employee, String)> {
        let mut v = Validation::default();
        let login = v.check("login", parse_login(input.login));
        let full_name = v.check(
            "full_name",
            bounded_text(input.full_name, FULL_NAME_MAX_CHARS),
        );
        let position = v.check("position", bounded_text(input.position, POSITION_MAX_CHARS));
        let hired_on = v.check(
            "hired",
            NaiveDate::parse_from_str(input.hired_on.trim(), "%Y-%m-%d")
                .map_err(|_| "date_invalid"),
        );
        if let Some(day) = hired_on.filter(|d| *d > self.today()) {
            v.add("hired", "hired_in_future");
            tracing::debug!(%day, "hire date in the future");
        }
        if input.store_id <= StoreId::new(0) {
            v.add("store", "store_unknown");
        }
        let (Some(login), Some(full_name), Some(position), Some(hired_on)) =
            (login, full_name, position, hired_on)
        else {
            return Err(v.into_error().into());
        };
        v.finish()?;
        let password = temporary_password();
        let hash = crypto::hash_password(password.clone()).await?;
        let audit = self.audit_entry(
            actor,
            "employee.create",
            "employee:",
            serde_json::json!({ "login": &login, "position": &position, "store_id": input.store_id })
                .to_string(),
        );
        let created = self
            .store()
            .create_employee(
                NewEmployee {
                    login,
                    full_name,
                    position,
                    store_id: input.store_id,
                    hired_on,
                    password_hash: hash,
                    at: self.now(),
                },
                audit,
            )
            .await;
        match created {
            Err(StoreError::Conflict(_)) => {
                Err(DomainError::field("login", "employee_login_taken").into())
            }
            other => Ok((other?, password)),
        }
    }

    /// Everyone with an account: HR.
    pub async fn employees(&self, staff: &StaffMember) -> ServiceResult<Vec<Employee>> {
        authorize(staff, Permission::ManageEmployees)?;
        Ok(self.store().employees().await?)
    }

    async fn employee_or_not_found(&self, id: EmployeeId) -> ServiceResult<Employee> {
        Ok(self
            .store()
            .employee(id)
            .await?
            .ok_or(DomainError::NotFound("employee"))?)
    }

    /// HR issues a new temporary password (a forgotten one): every session of theirs ends.
    pub async fn reset_employee_password(
        &self,
        staff: &StaffMember,
        id: EmployeeId,
    ) -> ServiceResult<String> {
        authorize(staff, Permission::ManageEmployees)?;
        let employee = self.employee_or_not_found(id).await?;
        if employee.deactivated_at.is_some() {
            return Err(DomainError::StateConflict.into());
        }
        let password = temporary_password();
        let hash = crypto::hash_password(password.clone()).await?;
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "employee.password_reset",
            &format!("employee:{id}"),
            "{}".to_owned(),
        );
        self.store()
            .set_employee_password(id, &hash, true, None, audit)
            .await?;
        Ok(password)
    }

    /// HR closes an account: no more sign-ins, every session ends at once.
    pub async fn deactivate_employee(
        &self,
        staff: &StaffMember,
        id: EmployeeId,
    ) -> ServiceResult<()> {
        authorize(staff, Permission::ManageEmployees)?;
        self.employee_or_not_found(id).await?;
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "employee.deactivate",
            &format!("employee:{id}"),
            "{}".to_owned(),
        );
        if !self
            .store()
            .deactivate_employee(id, self.now(), audit)
            .await?
        {
            return Err(DomainError::StateConflict.into());
        }
        Ok(())
    }

    /// An employee's sign-in, throttled like every other: the attempt is claimed before the
    /// hash. A closed account answers as a wrong password does.
    pub async fn employee_sign_in(
        &self,
        login: &str,
        password: String,
        client: &Client,
    ) -> ServiceResult<(String, Employee)> {
        let login = login.trim().to_lowercase();
        let masked = format!("employee:{login}");
        let attempt = self
            .claim_password_attempt(Audience::Employee, &login, &masked, &client.ip)
            .await?;
        let found = self.store().employee_by_login(&login).await?;
        let hash = found.as_ref().map(|(_, h)| h.clone());
        let password_ok = crypto::verify_password(password, hash).await?;
        let Some((employee, _)) = found.filter(|(e, _)| password_ok && e.deactivated_at.is_none())
        else {
            self.settle_password_attempt(attempt, false).await?;
            return Err(DomainError::InvalidCredentials.into());
        };
        self.settle_password_attempt(attempt, true).await?;
        let token = self
            .open_session(TokenKind::Employee, employee.id.get(), None, client)
            .await?;
        tracing::info!(employee_id = employee.id.get(), "employee signed in");
        Ok((token, employee))
    }

    /// The employee an employee token stands for. `password_changed`: the call needs the
    /// temporary password replaced first (every call but changing it).
    pub async fn authenticate_employee(
        &self,
        token: &str,
        password_changed: bool,
    ) -> ServiceResult<EmployeeSession> {
        let hash = crypto::token_hash(token);
        let session = self
            .store()
            .session(TokenKind::Employee, &hash, self.now())
            .await?
            .ok_or(DomainError::Unauthorized)?;
        self.keep_alive(
            TokenKind::Employee,
            &hash,
            session.last_seen_at,
            self.rules().customer_session_idle,
        )
        .await?;
        let employee = self
            .store()
            .employee(EmployeeId::new(session.subject))
            .await?
            .filter(|e| e.deactivated_at.is_none())
            .ok_or(DomainError::Unauthorized)?;
        if password_changed && employee.must_change_password {
            return Err(DomainError::Forbidden.into());
        }
        Ok(EmployeeSession {
            employee,
            token_hash: hash,
        })
    }

    /// Ends the session the employee signed in with.
    pub async fn employee_sign_out(&self, session: &EmployeeSession) -> ServiceResult<()> {
        self.store()
            .revoke_session(TokenKind::Employee, &session.token_hash, self.now())
            .await?;
        Ok(())
    }

    /// The employee's own password in place of the old one (the temporary one at first):
    /// their other sessions end, this one goes on.
    pub async fn change_employee_password(
        &self,
        session: &EmployeeSession,
        old_password: String,
        new_password: &str,
    ) -> ServiceResult<()> {
        let employee = &session.employee;
        let mut v = Validation::default();
        let new = v.check(
            "new_password",
            NewPassword::parse(
                new_password,
                self.rules().password_min_chars,
                &[employee.login.as_str()],
            ),
        );
        let stored = self
            .store()
            .employee_by_login(&employee.login)
            .await?
            .map(|(_, hash)| hash);
        if !crypto::verify_password(old_password.clone(), stored).await? {
            v.add("old_password", "password_wrong");
        } else if new.as_ref().is_some_and(|n| n.expose() == old_password) {
            v.add("new_password", "password_unchanged");
        }
        v.finish()?;
        let Some(new) = new else {
            return Err(DomainError::field("new_password", "field_required").into());
        };
        let hash = crypto::hash_password(new.expose().to_owned()).await?;
        let audit = self.audit_entry(
            Actor::Employee(employee.id),
            "employee.password",
            &format!("employee:{}", employee.id),
            "{}".to_owned(),
        );
        self.store()
            .set_employee_password(employee.id, &hash, false, Some(&session.token_hash), audit)
            .await?;
        Ok(())
    }
}
