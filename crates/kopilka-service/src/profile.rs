//! What a signed-in customer sees and changes about themselves.

use crate::{Kopilka, ServiceResult};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use kopilka_domain::ledger::{Balance, HistoryEntry, TransferId};
use kopilka_domain::member::StoreId;
use kopilka_domain::member::{self, Gender, Member, MemberId};
use kopilka_domain::{DomainError, Validation};
use kopilka_store::Card;
use kopilka_text::Message;

/// A partial profile update: `None` leaves a field as it is; for optional fields
/// `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct ProfilePatch {
    pub last_name: Option<String>,
    pub first_name: Option<Option<String>>,
    pub gender: Option<Gender>,
    pub birth_date: Option<NaiveDate>,
    pub city: Option<String>,
    pub email: Option<Option<String>>,
    pub favourite_store_id: Option<Option<i64>>,
    pub favourite_category_id: Option<i64>,
    pub newsletters: Option<bool>,
}

#[derive(Debug)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub next_cursor: Option<String>,
}

impl Kopilka {
    pub async fn update_profile(
        &self,
        member: &Member,
        patch: ProfilePatch,
    ) -> ServiceResult<Member> {
        let mut profile = member.profile.clone();
        let mut consents = member.consents.clone();
        let mut v = Validation::default();
        if let Some(Some(store)) = patch.favourite_store_id {
            if !self.store().store_exists(StoreId::new(store)).await? {
                v.add("favourite_store_id", "store_unknown");
            }
        }
        if let Some(category) = patch.favourite_category_id {
            if !self.store().category_exists(category).await? {
                v.add("favourite_category_id", "category_unknown");
            }
        }
        v.finish()?;
        if let Some(category) = patch.favourite_category_id {
            if Some(category) != profile.favourite_category_id {
                self.change_favourite_category(member, category).await?;
            }
        }
        profile.last_name = patch.last_name.or(profile.last_name);
        profile.gender = patch.gender.or(profile.gender);
        profile.birth_date = patch.birth_date.or(profile.birth_date);
        profile.city = patch.city.or(profile.city);
        if let Some(first_name) = patch.first_name {
            profile.first_name = first_name;
        }
        if let Some(email) = patch.email {
            profile.email = email;
        }
        if let Some(store) = patch.favourite_store_id {
            profile.favourite_store_id = store.map(StoreId::new);
        }
        if let Some(newsletters) = patch.newsletters {
            if newsletters != consents.newsletters {
                consents.newsletters = newsletters;
                consents.version = self.rules().consent_version.clone();
                consents.recorded_at = self.now();
            }
        }
        // The favourite category has its own once-a-month rule above; keep what it wrote.
        let current = self
            .store()
            .member(member.id)
            .await?
            .ok_or(DomainError::Unauthorized)?;
        profile.favourite_category_id = current.profile.favourite_category_id;
        Ok(self
            .store()
            .update_profile(member.id, &profile, &consents)
            .await?)
    }

    /// Withdraws the consent to process personal data. Without it the chain may keep no
    /// account (152-FZ), so this is the deletion of the account, done only once the customer
    /// confirmed it: unconfirmed, nothing changes and the answer says what it would do.
    pub async fn withdraw_personal_data_consent(
        &self,
        member: &Member,
        confirmed: bool,
    ) -> ServiceResult<()> {
        if !confirmed {
            return Err(DomainError::field(
                "consents.personal_data",
                "Отзыв согласия на обработку персональных данных удалит учётную запись, \
                 карты будут заблокированы, а баллы сгорят. Чтобы подтвердить, отправьте \
                 запрос ещё раз с \"confirm_deletion\": true",
            )
            .into());
        }
        self.delete_account(member).await?;
        Ok(())
    }

    /// SPEC §1.6: once per calendar month in the chain's time zone; the choice at
    /// registration counts.
    pub async fn change_favourite_category(
        &self,
        member: &Member,
        category: i64,
    ) -> ServiceResult<()> {
        if !self.store().category_exists(category).await? {
            return Err(DomainError::field("category_id", "category_unknown").into());
        }
        let now = self.now();
        let tz = self.rules().timezone;
        if let Err(next_change_at) =
            member::favourite_category_change_allowed(member.favourite_category_set_at, now, tz)
        {
            return Err(DomainError::FavouriteCategoryLocked { next_change_at }.into());
        }
        let month_start = member::month_start(now, tz);
        if !self
            .store()
            .set_favourite_category(member.id, category, now, month_start)
            .await?
        {
            return Err(DomainError::FavouriteCategoryLocked {
                next_change_at: member::next_month_start(now, tz),
            }
            .into());
        }
        tracing::info!(
            member_id = member.id.get(),
            category,
            "favourite category changed"
        );
        Ok(())
    }

    /// The member as stored now, after a change.
    pub async fn member(&self, id: MemberId) -> ServiceResult<Member> {
        self.store()
            .member(id)
            .await?
            .ok_or_else(|| DomainError::Unauthorized.into())
    }

    pub async fn balance(&self, member: MemberId) -> ServiceResult<Balance> {
        let horizon = self.expiring_horizon();
        Ok(self
            .store()
            .ledger_balance(member, self.now(), Some(horizon))
            .await?)
    }

    /// What the member can spend now, without the expiring lots (the till's question).
    pub async fn available_points(
        &self,
        member: MemberId,
    ) -> ServiceResult<kopilka_domain::Points> {
        Ok(self
            .store()
            .ledger_balance(member, self.now(), None)
            .await?
            .available)
    }

    fn expiring_horizon(&self) -> DateTime<Utc> {
        self.now() + Duration::days(i64::from(self.rules().expiring_window_days))
    }

    /// A page's size as a client asks for it: 20 unless given, at most `history_page_max`.
    /// The history and the purchases are paged alike.
    pub(crate) fn page_limit(&self, limit: Option<u32>) -> Result<u32, DomainError> {
        let limit = limit.unwrap_or(20);
        let max = self.rules().history_page_max;
        if limit == 0 || limit > max {
            return Err(DomainError::field(
                "limit",
                Message::new("range_1_to").with("max", max),
            ));
        }
        Ok(limit)
    }

    pub async fn history(
        &self,
        member: MemberId,
        limit: Option<u32>,
        cursor: Option<&str>,
    ) -> ServiceResult<HistoryPage> {
        let limit = self.page_limit(limit)?;
        let before = match cursor {
            None => None,
            Some(c) => Some(
                c.parse::<TransferId>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| DomainError::field("cursor", "cursor_invalid"))?,
            ),
        };
        let mut items = self.store().history(member, limit + 1, before).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|e| e.id.to_string())
        } else {
            None
        };
        Ok(HistoryPage { items, next_cursor })
    }

    pub async fn cards(&self, member: MemberId) -> ServiceResult<Vec<Card>> {
        Ok(self.store().cards(member).await?)
    }
}
