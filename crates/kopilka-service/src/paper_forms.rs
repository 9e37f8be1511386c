//! Paper forms (SPEC 1.3): a customer fills one in at a store and gets a physical card from
//! an issued batch; staff key the form in, which makes the customer and binds the card. The
//! card number then signs in once the customer sets a password through recovery (1.5).

use crate::staff::authorize;
use crate::{Kopilka, ServiceResult};
use kopilka_domain::card::CardRange;
use kopilka_domain::member::{Consents, Member, Profile};
use kopilka_domain::staff::Permission;
use kopilka_domain::{CardKind, CardNumber, DomainError, Phone};
use kopilka_store::{Enrolment, NewAuditEntry, Registration, StaffMember, StoreError};

/// A paper form as keyed in.
#[derive(Debug, Clone)]
pub struct PaperForm {
    pub card: CardNumber,
    pub phone: Phone,
    pub profile: Profile,
    pub newsletters: bool,
}

impl Kopilka {
    /// Makes the customer a paper form describes and binds its card (support, store managers,
    /// administrators), with the welcome points; audited.
    pub async fn key_in_paper_form(
        &self,
        staff: &StaffMember,
        form: PaperForm,
    ) -> ServiceResult<Member> {
        authorize(staff, Permission::KeyPaperForms)?;
        if form.card.range() != Some(CardRange::Physical) {
            return Err(DomainError::field("card_number", "paper_form_card_physical").into());
        }
        if self.store().member_by_phone(&form.phone).await?.is_some() {
            return Err(DomainError::PhoneTaken.into());
        }
        let now = self.now();
        let last4 = form.card.last4().to_owned();
        let registration = Registration {
            phone: form.phone,
            enrolment: Enrolment::PaperForm {
                audit: NewAuditEntry {
                    actor: format!("staff:{}", staff.id),
                    action: "member.paper_form".into(),
                    subject: "member:".into(),
                    details: serde_json::json!({ "card_last4": last4 }).to_string(),
                    at: now,
                },
            },
            profile: form.profile,
            consents: Consents {
                personal_data: true,
                newsletters: form.newsletters,
                version: self.rules().consent_version.clone(),
                recorded_at: now,
            },
            card: form.card,
            card_kind: CardKind::Physical,
            welcome: self.welcome_credit(now),
            at: now,
        };
        match self.store().register(registration).await {
            Ok((member, _)) => {
                tracing::info!(member_id = member.id.get(), card = %last4, "paper form keyed in");
                Ok(member)
            }
            Err(StoreError::Conflict("phone")) => Err(DomainError::PhoneTaken.into()),
            Err(StoreError::Rule(DomainError::NotFound("card"))) => {
                Err(DomainError::field("card_number", "paper_form_card_unknown").into())
            }
            Err(e) => Err(e.into()),
        }
    }
}
