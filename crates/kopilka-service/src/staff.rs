//! Back-office staff: accounts, sign-in, roles, and the audit log (SPEC §8).

use crate::{crypto, Kopilka, ServiceResult};
use kopilka_domain::password::NewPassword;
use kopilka_domain::staff::Role;
use kopilka_domain::DomainError;
use kopilka_store::{AuditEntry, NewAuditEntry, StaffMember, StoreError, TokenKind};

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub enum Actor {
    Staff(i64),
    Cli,
    System,
}

impl Actor {
    fn label(&self) -> String {
        match self {
            Actor::Staff(id) => format!("staff:{id}"),
            Actor::Cli => "cli".to_owned(),
            Actor::System => "system".to_owned(),
        }
    }
}

impl Kopilka {
    /// `kopilka staff create`.
    pub async fn create_staff(
        &self,
        login: &str,
        password: &NewPassword,
        roles: &[Role],
    ) -> ServiceResult<StaffMember> {
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let hash = crypto::hash_password(password.expose().to_owned()).await?;
        let staff = match self
            .store()
            .create_staff(login, &hash, &roles, self.now())
            .await
        {
            Err(StoreError::Conflict(_)) => {
                return Err(DomainError::field("login", "Такой логин уже есть").into())
            }
            other => other?,
        };
        self.audit(
            Actor::Cli,
            "staff.create",
            &format!("staff:{}", staff.id),
            serde_json::json!({ "login": login, "roles": &roles }).to_string(),
        )
        .await?;
        Ok(staff)
    }

    pub async fn staff_sign_in(
        &self,
        login: &str,
        password: String,
    ) -> ServiceResult<(String, StaffMember)> {
        let found = self.store().staff_by_login(login).await?;
        let (staff, hash) = match found {
            Some((s, h)) => (Some(s), Some(h)),
            None => (None, None),
        };
        let ok = crypto::verify_password(password, hash).await?;
        match staff {
            Some(staff) if ok => {
                let token = self.open_session(TokenKind::Staff, staff.id, None).await?;
                tracing::info!(staff_id = staff.id, "staff signed in");
                Ok((token, staff))
            }
            _ => Err(DomainError::InvalidCredentials.into()),
        }
    }

    /// The staff member a staff token stands for, if they hold one of `roles` (or any role
    /// when `roles` is empty).
    pub async fn authenticate_staff(
        &self,
        token: &str,
        roles: &[Role],
    ) -> ServiceResult<StaffMember> {
        let session = self
            .store()
            .session(TokenKind::Staff, &crypto::token_hash(token), self.now())
            .await?
            .ok_or(DomainError::Unauthorized)?;
        let staff = self
            .store()
            .staff_member(session.subject)
            .await?
            .ok_or(DomainError::Unauthorized)?;
        if roles.is_empty() || roles.iter().any(|r| staff.roles.contains(r)) {
            Ok(staff)
        } else {
            Err(DomainError::Forbidden.into())
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
            .record_audit(NewAuditEntry {
                actor: actor.label(),
                action: action.to_owned(),
                subject: subject.to_owned(),
                details,
                at: self.now(),
            })
            .await?;
        Ok(())
    }

    pub async fn audit_log(&self, limit: u32) -> ServiceResult<Vec<AuditEntry>> {
        if limit == 0 || limit > 1000 {
            return Err(DomainError::field("limit", "От 1 до 1000").into());
        }
        Ok(self.store().audit_log(limit).await?)
    }
}
