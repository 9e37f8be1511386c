//! Budgets for password attempts (NIST SP 800-63B §5.2.2, ASVS V6.3): each attempt is claimed
//! from the account's, the client address's and everyone's budget, atomically in the store,
//! before any hash is computed; a right password gives its claims back, so only failures
//! spend. A throttled attempt costs no hash.

use crate::auth::{seconds_until, window_start};
use crate::security::SecurityEvent;
use crate::{crypto, Kopilka, ServiceResult};
use chrono::{DateTime, Utc};
use kopilka_domain::member::Member;
use kopilka_domain::DomainError;

/// Who signs in: each audience has budgets of its own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audience {
    Customer,
    Staff,
    Employee,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Audience::Customer => "customer",
            Audience::Staff => "staff",
            Audience::Employee => "employee",
        }
    }
}

/// One attempt, claimed from every budget.
#[must_use = "settle the attempt once the password is checked"]
pub(crate) struct Attempt {
    keys: Vec<String>,
    window: DateTime<Utc>,
    masked: String,
    ip: String,
}

impl Kopilka {
    /// `account` identifies the account whatever login named it (phone and card share it);
    /// `masked` is what the log may show of the login.
    pub(crate) async fn claim_password_attempt(
        &self,
        audience: Audience,
        account: &str,
        masked: &str,
        ip: &str,
    ) -> ServiceResult<Attempt> {
        let rules = self.rules();
        let now = self.now();
        let window = window_start(now, rules.login_failure_window);
        let who = audience.as_str();
        let budgets = [
            (
                format!("pw:{who}:account:{account}"),
                rules.login_max_failures,
            ),
            (format!("pw:{who}:ip:{ip}"), rules.login_ip_max_failures),
            (format!("pw:{who}:all"), rules.login_global_max_failures),
        ];
        let mut keys: Vec<String> = Vec::with_capacity(budgets.len());
        for (key, max) in budgets {
            if self
                .store()
                .claim(&key, window, 1, max.max(1))
                .await?
                .is_none()
            {
                for claimed in &keys {
                    self.store().release(claimed, window, 1).await?;
                }
                self.security_event(SecurityEvent::LoginThrottled, masked, ip);
                return Err(DomainError::RateLimited {
                    retry_after_s: seconds_until(now, window + rules.login_failure_window),
                }
                .into());
            }
            keys.push(key);
        }
        Ok(Attempt {
            keys,
            window,
            masked: masked.to_owned(),
            ip: ip.to_owned(),
        })
    }

    /// A customer's password checked under the budgets: the account's budget is the member's
    /// whatever login named them (an unknown login has one of its own, `unknown_login`), and
    /// an unknown login is checked against a decoy hash so that it takes as long.
    pub(crate) async fn check_customer_password(
        &self,
        member: Option<&Member>,
        unknown_login: &str,
        masked: &str,
        password: String,
        ip: &str,
    ) -> ServiceResult<bool> {
        let account = match member {
            Some(m) => format!("member:{}", m.id),
            None => format!("login:{unknown_login}"),
        };
        let attempt = self
            .claim_password_attempt(Audience::Customer, &account, masked, ip)
            .await?;
        let stored = match member {
            Some(m) => self.store().password_hash(m.id).await?,
            None => None,
        };
        let ok = crypto::verify_password(password, stored).await? && member.is_some();
        self.settle_password_attempt(attempt, ok).await?;
        Ok(ok)
    }

    /// A right password gives the attempt back; a wrong one stays spent and is logged.
    pub(crate) async fn settle_password_attempt(
        &self,
        attempt: Attempt,
        succeeded: bool,
    ) -> ServiceResult<()> {
        if succeeded {
            for key in &attempt.keys {
                self.store().release(key, attempt.window, 1).await?;
            }
        } else {
            self.security_event(SecurityEvent::LoginFailed, &attempt.masked, &attempt.ip);
        }
        Ok(())
    }
}
