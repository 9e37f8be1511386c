//! Customer sign-in: SMS codes (SPEC §1.1, §1.4), passwords (§1.2), recovery (§1.5), sessions.

use crate::crypto::{self, hashes_equal};
use crate::security::SecurityEvent;
use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Duration, Utc};
use kopilka_domain::member::{Member, MemberId};
use kopilka_domain::password::NewPassword;
use kopilka_domain::{CardNumber, CardStatus, DomainError, OtpCode, Phone};
use kopilka_store::{NewOtp, NewSession, OtpPurpose, TokenKind};
use kopilka_text::Message;
use rand::rngs::OsRng;

/// What the client may show after a code was sent.
#[derive(Debug, Clone, Copy)]
pub struct CodeSent {
    pub resend_after_s: u64,
    pub expires_in_s: u64,
}

#[derive(Debug)]
pub enum CodeVerified {
    SignedIn {
        token: String,
        member: Box<Member>,
    },
    /// A new phone: it is verified, and the token carries it into the registration form.
    RegistrationRequired {
        registration_token: String,
    },
}

/// Who is calling: the client's address (after trusted proxies) and user agent, for the
/// session list, per-address budgets and security logs.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: String,
    pub user_agent: String,
}

impl Client {
    pub fn new(ip: impl Into<String>, user_agent: impl Into<String>) -> Self {
        Self {
            ip: ip.into(),
            // A session list shows it; a page of it would only fill the table.
            user_agent: user_agent.into().chars().take(200).collect(),
        }
    }
}

/// A live customer session and whose it is.
#[derive(Debug, Clone)]
pub struct CustomerSession {
    pub member: Member,
    pub session_id: i64,
}

/// A password login: a phone or a card number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Phone(Phone),
    Card(CardNumber),
}

impl Login {
    /// Thirteen digits are a card; anything else must be a phone.
    pub fn parse(input: &str) -> Result<Self, Message> {
        let trimmed = input.trim();
        if trimmed.len() == 13 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            CardNumber::parse(input)
                .map(Login::Card)
                .map_err(Message::from)
        } else {
            Phone::parse(input)
                .map(Login::Phone)
                .map_err(|_| Message::new("login_shape"))
        }
    }

    fn key(&self) -> &str {
        match self {
            Login::Phone(p) => p.as_str(),
            Login::Card(c) => c.as_str(),
        }
    }

    /// What a log may show of it.
    pub fn masked(&self) -> String {
        match self {
            Login::Phone(p) => p.masked(),
            Login::Card(c) => c.masked(),
        }
    }
}

pub(crate) fn window_start(now: DateTime<Utc>, window: Duration) -> DateTime<Utc> {
    let secs = window.num_seconds().max(1);
    let start = now.timestamp().div_euclid(secs) * secs;
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

pub(crate) fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0);
    // Round up: a client that waits exactly this long must find the limit lifted.
    (ms as u64).div_ceil(1000).max(1)
}

impl Kopilka {
    /// Sends a sign-in code (SPEC §1.1). The answer is the same for known and unknown phones.
    pub async fn request_sign_in_code(&self, phone: &Phone, ip: &str) -> ServiceResult<CodeSent> {
        self.cooldown(
            &format!("otp:{}:{}", OtpPurpose::SignIn.as_str(), phone),
            self.rules().otp_resend_cooldown,
        )
        .await?;
        self.count_sms(phone, ip).await?;
        self.send_code(phone, OtpPurpose::SignIn).await
    }

    /// Checks a sign-in code: signs a known customer in, or lets a new one register.
    pub async fn verify_sign_in_code(
        &self,
        phone: &Phone,
        code: &OtpCode,
        client: &Client,
    ) -> ServiceResult<CodeVerified> {
        self.check_code(phone, OtpPurpose::SignIn, code, &client.ip)
            .await?;
        match self.store().member_by_phone(phone).await? {
            Some(member) => {
                let token = self
                    .open_session(TokenKind::Customer, member.id.get(), None, client)
                    .await?;
                tracing::info!(member_id = member.id.get(), "signed in by SMS code");
                Ok(CodeVerified::SignedIn {
                    token,
                    member: Box::new(member),
                })
            }
            None => {
                let registration_token = self
                    .open_session(TokenKind::Registration, 0, Some(phone.clone()), client)
                    .await?;
                Ok(CodeVerified::RegistrationRequired { registration_token })
            }
        }
    }

    /// Phone or card number and password (SPEC §1.2). The attempt is claimed from the
    /// account's, the address's and everyone's budget before the hash is checked.
    pub async fn sign_in_with_password(
        &self,
        login: &Login,
        password: String,
        client: &Client,
    ) -> ServiceResult<(String, Member)> {
        let member = self.member_by_login(login).await?;
        let ok = self
            .check_customer_password(
                member.as_ref(),
                login.key(),
                &login.masked(),
                password,
                &client.ip,
            )
            .await?;
        match member {
            Some(member) if ok => {
                let token = self
                    .open_session(TokenKind::Customer, member.id.get(), None, client)
                    .await?;
                tracing::info!(member_id = member.id.get(), "signed in by password");
                Ok((token, member))
            }
            _ => Err(DomainError::InvalidCredentials.into()),
        }
    }

    /// Sends a recovery code to the phone on file (SPEC §1.5). Unknown logins get the same
    /// answer, after the same checks, and no SMS.
    pub async fn request_password_reset(&self, login: &Login, ip: &str) -> ServiceResult<CodeSent> {
        self.cooldown(
            &format!("reset:{}", login.key()),
            self.rules().otp_resend_cooldown,
        )
        .await?;
        // Counted per login whether or not it exists, so the daily limit answers alike.
        self.count_daily(&format!("sms:login:{}", login.key()))
            .await?;
        self.count_ip(ip).await?;
        match self.member_by_login(login).await? {
            // The phone's own daily limit is kept by not sending: answering 429 here would
            // tell that the login exists.
            Some(member) => match self
                .count_daily(&format!("sms:phone:{}", member.phone))
                .await
            {
                Ok(()) => {
                    self.send_code(&member.phone, OtpPurpose::PasswordReset)
                        .await
                }
                Err(_) => {
                    tracing::warn!(
                        member_id = member.id.get(),
                        "recovery code not sent: the phone's daily limit is reached"
                    );
                    Ok(self.code_sent())
                }
            },
            None => Ok(self.code_sent()),
        }
    }

    /// Sets a new password with the recovery code, signs out every other session, and signs in.
    pub async fn confirm_password_reset(
        &self,
        login: &Login,
        code: &OtpCode,
        password: &NewPassword,
        client: &Client,
    ) -> ServiceResult<(String, Member)> {
        let Some(member) = self.member_by_login(login).await? else {
            self.security_event(SecurityEvent::OtpWrong, &login.masked(), &client.ip);
            return Err(DomainError::OtpInvalid.into());
        };
        self.check_code(&member.phone, OtpPurpose::PasswordReset, code, &client.ip)
            .await?;
        let hash = crypto::hash_password(password.expose().to_owned()).await?;
        self.store().set_password(member.id, &hash).await?;
        self.store()
            .revoke_sessions_of(TokenKind::Customer, member.id.get(), self.now(), None)
            .await?;
        let token = self
            .open_session(TokenKind::Customer, member.id.get(), None, client)
            .await?;
        tracing::info!(member_id = member.id.get(), "password reset");
        Ok((token, member))
    }

    /// A signed-in customer changes their password: the old one is checked against the
    /// account's budget as a sign-in is, and every other session ends.
    pub async fn change_password(
        &self,
        session: &CustomerSession,
        old_password: String,
        new_password: &NewPassword,
        client: &Client,
    ) -> ServiceResult<()> {
        let member = &session.member;
        let ok = self
            .check_customer_password(
                Some(member),
                "",
                &member.phone.masked(),
                old_password,
                &client.ip,
            )
            .await?;
        if !ok {
            return Err(DomainError::field("old_password", "password_wrong").into());
        }
        let hash = crypto::hash_password(new_password.expose().to_owned()).await?;
        self.store().set_password(member.id, &hash).await?;
        self.store()
            .revoke_sessions_of(
                TokenKind::Customer,
                member.id.get(),
                self.now(),
                Some(session.session_id),
            )
            .await?;
        tracing::info!(member_id = member.id.get(), "password changed");
        Ok(())
    }

    /// The member a customer token stands for.
    pub async fn authenticate_customer(&self, token: &str) -> ServiceResult<Member> {
        Ok(self.customer_session(token).await?.member)
    }

    /// The customer session a token stands for. A session unused for longer than the idle
    /// timeout has ended; one in use is marked seen about once a minute.
    pub async fn customer_session(&self, token: &str) -> ServiceResult<CustomerSession> {
        let now = self.now();
        let hash = crypto::token_hash(token);
        let (member, session) = self
            .store()
            .session_member(&hash, now)
            .await?
            .ok_or(DomainError::Unauthorized)?;
        self.keep_alive(
            TokenKind::Customer,
            &hash,
            session.last_seen_at,
            self.rules().customer_session_idle,
        )
        .await?;
        Ok(CustomerSession {
            member,
            session_id: session.id,
        })
    }

    /// Refuses a session idle for `idle` or longer, and records its use now and then.
    pub(crate) async fn keep_alive(
        &self,
        kind: TokenKind,
        token_hash: &str,
        last_seen_at: DateTime<Utc>,
        idle: Duration,
    ) -> ServiceResult<()> {
        let now = self.now();
        if now - last_seen_at >= idle {
            return Err(DomainError::Unauthorized.into());
        }
        // Often enough that the idle timeout is exact to a minute, rarely enough that a
        // signed-in app's burst of requests writes once.
        if now - last_seen_at >= (idle / 60).clamp(Duration::seconds(1), Duration::minutes(1)) {
            self.store().touch_session(kind, token_hash, now).await?;
        }
        Ok(())
    }

    /// The customer's live sessions, newest first.
    pub async fn customer_sessions(
        &self,
        session: &CustomerSession,
    ) -> ServiceResult<Vec<kopilka_store::Session>> {
        let now = self.now();
        let idle = self.rules().customer_session_idle;
        Ok(self
            .store()
            .sessions_of(TokenKind::Customer, session.member.id.get(), now)
            .await?
            .into_iter()
            .filter(|s| now - s.last_seen_at < idle)
            .collect())
    }

    /// Ends one of the customer's own sessions.
    pub async fn end_customer_session(
        &self,
        session: &CustomerSession,
        id: i64,
    ) -> ServiceResult<()> {
        if self
            .store()
            .revoke_session_id(TokenKind::Customer, session.member.id.get(), id, self.now())
            .await?
        {
            Ok(())
        } else {
            Err(DomainError::NotFound("session").into())
        }
    }

    /// The verified phone a registration token stands for.
    pub(crate) async fn registration_phone(&self, token: &str) -> ServiceResult<Phone> {
        self.store()
            .session(
                TokenKind::Registration,
                &crypto::token_hash(token),
                self.now(),
            )
            .await?
            .and_then(|s| s.phone)
            .ok_or_else(|| DomainError::Unauthorized.into())
    }

    pub async fn sign_out(&self, kind: TokenKind, token: &str) -> ServiceResult<()> {
        self.store()
            .revoke_session(kind, &crypto::token_hash(token), self.now())
            .await?;
        Ok(())
    }

    pub async fn sign_out_everywhere(&self, member: MemberId) -> ServiceResult<u64> {
        Ok(self
            .store()
            .revoke_sessions_of(TokenKind::Customer, member.get(), self.now(), None)
            .await?)
    }

    pub(crate) async fn open_session(
        &self,
        kind: TokenKind,
        subject: i64,
        phone: Option<Phone>,
        client: &Client,
    ) -> ServiceResult<String> {
        let (prefix, ttl) = match kind {
            TokenKind::Customer => ("kpc", self.rules().customer_session_ttl),
            TokenKind::Staff => ("kps", self.rules().staff_session_ttl),
            TokenKind::Employee => ("kpe", self.rules().customer_session_ttl),
            TokenKind::Registration => ("kpr", self.rules().registration_ttl),
        };
        let token = crypto::new_token(prefix);
        let now = self.now();
        self.store()
            .create_session(NewSession {
                kind,
                subject,
                phone,
                token_hash: crypto::token_hash(&token),
                created_at: now,
                expires_at: now + ttl,
                ip: client.ip.clone(),
                user_agent: client.user_agent.clone(),
            })
            .await?;
        Ok(token)
    }

    async fn member_by_login(&self, login: &Login) -> ServiceResult<Option<Member>> {
        Ok(match login {
            Login::Phone(phone) => self.store().member_by_phone(phone).await?,
            // A blocked card is a lost one: it no longer opens the account.
            Login::Card(card) => self
                .store()
                .member_by_card(card)
                .await?
                .filter(|(_, c)| c.status == CardStatus::Active)
                .map(|(m, _)| m),
        })
    }

    async fn cooldown(&self, key: &str, length: Duration) -> ServiceResult<()> {
        let now = self.now();
        match self.store().start_cooldown(key, now, now + length).await? {
            None => Ok(()),
            Some(until) => Err(DomainError::RateLimited {
                retry_after_s: seconds_until(now, until),
            }
            .into()),
        }
    }

    /// Limits against SMS pumping: codes per phone a day, messages per IP address an hour.
    async fn count_sms(&self, phone: &Phone, ip: &str) -> ServiceResult<()> {
        self.count_daily(&format!("sms:phone:{phone}")).await?;
        self.count_ip(ip).await
    }

    /// One more message under `key` today; refused past the daily limit of codes.
    async fn count_daily(&self, key: &str) -> ServiceResult<()> {
        let now = self.now();
        let day = window_start(now, Duration::days(1));
        if self.store().hit(key, day).await? > self.rules().otp_per_phone_daily {
            return Err(DomainError::RateLimited {
                retry_after_s: seconds_until(now, day + Duration::days(1)),
            }
            .into());
        }
        Ok(())
    }

    async fn count_ip(&self, ip: &str) -> ServiceResult<()> {
        let now = self.now();
        let hour = window_start(now, Duration::hours(1));
        if self.store().hit(&format!("sms:ip:{ip}"), hour).await? > self.rules().sms_per_ip_hourly {
            return Err(DomainError::RateLimited {
                retry_after_s: seconds_until(now, hour + Duration::hours(1)),
            }
            .into());
        }
        Ok(())
    }

    fn code_sent(&self) -> CodeSent {
        let rules = self.rules();
        CodeSent {
            resend_after_s: rules.otp_resend_cooldown.num_seconds().max(0) as u64,
            expires_in_s: rules.otp_ttl.num_seconds().max(0) as u64,
        }
    }

    async fn send_code(&self, phone: &Phone, purpose: OtpPurpose) -> ServiceResult<CodeSent> {
        let code = OtpCode::generate(&mut OsRng);
        let now = self.now();
        self.store()
            .create_otp(NewOtp {
                phone: phone.clone(),
                purpose,
                code_hash: self.inner.secret.code_hash(&[
                    purpose.as_str(),
                    phone.as_str(),
                    code.expose(),
                ]),
                created_at: now,
                expires_at: now + self.rules().otp_ttl,
            })
            .await?;
        // In Russian: the programme's language, and nothing tells us the customer's.
        let text = Message::new(match purpose {
            OtpPurpose::SignIn => "sms_sign_in",
            OtpPurpose::PasswordReset => "sms_password_reset",
        })
        .with("code", code.expose())
        .russian();
        self.inner.sms.enqueue(phone, text);
        tracing::info!(phone = %phone.masked(), purpose = purpose.as_str(), "code queued");
        Ok(self.code_sent())
    }

    /// Accepts the newest code for the phone once. Each try is claimed in the store before
    /// the code is compared, so however many arrive at once, at most the allowed number are
    /// compared; the last allowed wrong try kills the code.
    async fn check_code(
        &self,
        phone: &Phone,
        purpose: OtpPurpose,
        code: &OtpCode,
        ip: &str,
    ) -> ServiceResult<()> {
        let max = self.rules().otp_max_attempts;
        let Some(challenge) = self.store().latest_otp(phone, purpose).await? else {
            self.security_event(SecurityEvent::OtpWrong, &phone.masked(), ip);
            return Err(DomainError::OtpInvalid.into());
        };
        if challenge.expires_at <= self.now() {
            return Err(DomainError::OtpExpired.into());
        }
        let Some(tries) = self.store().claim_otp_attempt(challenge.id, max).await? else {
            self.security_event(SecurityEvent::OtpExhausted, &phone.masked(), ip);
            return Err(DomainError::OtpAttemptsExceeded.into());
        };
        let given = self
            .inner
            .secret
            .code_hash(&[purpose.as_str(), phone.as_str(), code.expose()]);
        if !hashes_equal(&given, &challenge.code_hash) {
            self.security_event(SecurityEvent::OtpWrong, &phone.masked(), ip);
            return Err(if tries >= max {
                DomainError::OtpAttemptsExceeded
            } else {
                DomainError::OtpInvalid
            }
            .into());
        }
        if !self.store().consume_otp(challenge.id, self.now()).await? {
            return Err(DomainError::OtpInvalid.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_cards_or_phones() {
        assert!(matches!(Login::parse("4006381333931"), Ok(Login::Card(_))));
        assert!(matches!(
            Login::parse("+7 999 123-45-67"),
            Ok(Login::Phone(_))
        ));
        assert!(Login::parse("4006381333932").is_err());
        assert!(Login::parse("ivan").is_err());
    }

    #[test]
    fn windows_are_aligned_and_waits_round_up() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:17:42Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            window_start(now, Duration::hours(1)).to_rfc3339(),
            "2026-11-25T10:00:00+00:00"
        );
        assert_eq!(seconds_until(now, now + Duration::milliseconds(59_001)), 60);
        assert_eq!(seconds_until(now, now), 1);
    }
}
