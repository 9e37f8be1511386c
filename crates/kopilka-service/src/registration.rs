//! Registration with a virtual card (SPEC §1.4).

use crate::{crypto, Kopilka, ServiceError, ServiceResult};
use kopilka_domain::card::CardRange;
use kopilka_domain::ledger::{welcome_lot, Balance, Credit, MovementKind, SystemAccount};
use kopilka_domain::member::{Consents, Member, Profile};
use kopilka_domain::password::NewPassword;
use kopilka_domain::{CardKind, CardNumber, DomainError, Points, Validation};
use kopilka_store::{Card, Enrolment, Registration, StoreError, TokenKind};
use kopilka_text::Message;
use rand::rngs::OsRng;

/// The registration form, its fields already valid one by one.
#[derive(Debug)]
pub struct RegistrationForm {
    pub profile: Profile,
    pub newsletters: bool,
    pub password: RegistrationPassword,
}

/// The password a registration sets.
#[derive(Debug)]
pub enum RegistrationPassword {
    /// Given with the form (the API).
    New(NewPassword),
    /// Checked and hashed at an earlier step of a form in several steps (the pages' wizard),
    /// sealed to its registration token by [`Kopilka::seal_registration_password`]: the
    /// password itself need not travel through the later steps.
    Sealed(String),
}

impl From<NewPassword> for RegistrationPassword {
    fn from(password: NewPassword) -> Self {
        RegistrationPassword::New(password)
    }
}

#[derive(Debug)]
pub struct Registered {
    pub token: String,
    pub member: Member,
    pub card: Card,
    pub balance: Balance,
}

/// Random numbers collide rarely; a handful of tries makes a failure practically impossible.
const CARD_NUMBER_TRIES: usize = 8;

impl Kopilka {
    /// Checks a password for a registration in progress (the policy, and not the phone
    /// itself) and hashes it, sealed to the registration token with the server's key, so a
    /// later step can set it without the password travelling again.
    pub async fn seal_registration_password(
        &self,
        registration_token: &str,
        password: &NewPassword,
    ) -> ServiceResult<String> {
        let phone = self.registration_phone(registration_token).await?;
        NewPassword::parse(
            password.expose(),
            self.rules().password_min_chars,
            &[phone.as_str()],
        )
        .map_err(|e| DomainError::field("password", e))?;
        let hash = crypto::hash_password(password.expose().to_owned()).await?;
        let seal = self.keyed_hash(&["registration-password", registration_token, &hash]);
        Ok(format!("{seal}.{hash}"))
    }

    /// The hash a sealed password carries, if its seal is this token's.
    fn unseal_registration_password(
        &self,
        registration_token: &str,
        sealed: &str,
    ) -> Option<String> {
        let (seal, hash) = sealed.split_once('.')?;
        let expected = self.keyed_hash(&["registration-password", registration_token, hash]);
        crypto::hashes_equal(seal, &expected).then(|| hash.to_owned())
    }

    /// The welcome points of SPEC §1.4 as a credit from the welcome account.
    pub(crate) fn welcome_credit(&self, now: chrono::DateTime<chrono::Utc>) -> Credit {
        let rules = self.rules();
        Credit {
            from: SystemAccount::Welcome,
            kind: MovementKind::Welcome,
            lot: welcome_lot(
                Points::new(rules.welcome_points),
                rules.welcome_lifetime_days,
                now,
            ),
            description: Message::new("history_welcome").to_stored(),
        }
    }

    pub async fn register(
        &self,
        registration_token: &str,
        form: RegistrationForm,
        client: &crate::auth::Client,
    ) -> ServiceResult<Registered> {
        let phone = self.registration_phone(registration_token).await?;
        let mut v = Validation::default();
        match form.profile.favourite_category_id {
            Some(id) if self.store().category_exists(id).await? => {}
            _ => v.add("favourite_category_id", "category_unknown"),
        }
        if let Some(id) = form.profile.favourite_store_id {
            if !self.store().store_exists(id).await? {
                v.add("favourite_store_id", "store_unknown");
            }
        }
        let sealed_hash = match &form.password {
            RegistrationPassword::New(password) => {
                if let Err(e) = NewPassword::parse(
                    password.expose(),
                    self.rules().password_min_chars,
                    &[phone.as_str()],
                ) {
                    v.add("password", e);
                }
                None
            }
            RegistrationPassword::Sealed(sealed) => {
                let hash = self.unseal_registration_password(registration_token, sealed);
                if hash.is_none() {
                    v.add("password", "password_again");
                }
                hash
            }
        };
        v.finish()?;
        if self.store().member_by_phone(&phone).await?.is_some() {
            return Err(DomainError::PhoneTaken.into());
        }

        let now = self.now();
        let password_hash = match (sealed_hash, &form.password) {
            (Some(hash), _) => hash,
            (None, RegistrationPassword::New(password)) => {
                crypto::hash_password(password.expose().to_owned()).await?
            }
            (None, RegistrationPassword::Sealed(_)) => {
                return Err(DomainError::field("password", "password_again").into())
            }
        };
        let rules = self.rules();
        let registration = Registration {
            phone,
            enrolment: Enrolment::Online {
                registration_token_hash: crypto::token_hash(registration_token),
                password_hash,
            },
            profile: form.profile,
            consents: Consents {
                personal_data: true,
                newsletters: form.newsletters,
                version: rules.consent_version.clone(),
                recorded_at: now,
            },
            card: CardNumber::generate(CardRange::Virtual, &mut OsRng),
            card_kind: CardKind::Virtual,
            welcome: self.welcome_credit(now),
            at: now,
        };
        let (member, card) = self.insert_registration(registration).await?;
        let token = self
            .open_session(TokenKind::Customer, member.id.get(), None, client)
            .await?;
        let balance = self.balance(member.id).await?;
        tracing::info!(
            member_id = member.id.get(),
            card = card.number.last4(),
            "registered"
        );
        Ok(Registered {
            token,
            member,
            card,
            balance,
        })
    }

    async fn insert_registration(
        &self,
        mut registration: Registration,
    ) -> ServiceResult<(Member, Card)> {
        for _ in 0..CARD_NUMBER_TRIES {
            match self.store().register(registration.clone()).await {
                Ok(done) => return Ok(done),
                Err(StoreError::Conflict("card_number")) => {
                    registration.card = CardNumber::generate(CardRange::Virtual, &mut OsRng);
                }
                Err(StoreError::Conflict("phone")) => return Err(DomainError::PhoneTaken.into()),
                // The token was used by a concurrent request, or expired meanwhile.
                Err(StoreError::NotFound) => return Err(DomainError::Unauthorized.into()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Internal("no free virtual card number".into()))
    }
}
