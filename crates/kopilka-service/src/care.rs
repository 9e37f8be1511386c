//! Customer care: staff find a customer by what they were told (a phone as typed, a card
//! number, a name or an e-mail) and see their cards and points.

use crate::staff::authorize;
use crate::{Kopilka, ServiceResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kopilka_domain::ledger::{Balance, HistoryEntry};
use kopilka_domain::member::{Member, MemberId, MemberLookup};
use kopilka_domain::staff::{ApprovalStatus, Permission, StaffId};
use kopilka_domain::CardNumber;
use kopilka_domain::{DomainError, Points};
use kopilka_store::approvals::AdjustmentRequest;
use kopilka_store::{Card, MemberCursor, MemberSearch, NewAuditEntry, StaffMember, Ticket};
use std::collections::HashMap;

/// History lines the customer's page in the back office shows.
pub const CARE_HISTORY_LINES: u32 = 20;
/// Adjustment requests the approvers' queue shows at once.
const QUEUE_MAX: u32 = 200;

/// One customer as customer care sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerFile {
    pub member: Member,
    pub cards: Vec<Card>,
    pub balance: Balance,
    /// Newest first.
    pub history: Vec<HistoryEntry>,
    /// Adjustments of theirs waiting for approval, with who asked.
    pub waiting: Vec<(AdjustmentRequest, String)>,
    /// Their questions to support, newest first.
    pub tickets: Vec<Ticket>,
    /// Where they are signed in now, newest first.
    pub sessions: Vec<kopilka_store::Session>,
}

/// An adjustment waiting for approval, with who asked and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingAdjustment {
    pub request: AdjustmentRequest,
    pub requested_by: String,
    pub member: Option<Member>,
}

/// The most members one page of a search shows.
pub const FOUND_PAGE_MAX: u32 = 50;

/// A customer as a search lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundMember {
    pub member: Member,
    pub cards: Vec<Card>,
    pub available: Points,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundPage {
    pub items: Vec<FoundMember>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(c: &MemberCursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([c.name_key, c.id.get()]).to_string())
}

fn decode_cursor(cursor: &str) -> Result<MemberCursor, DomainError> {
    let bad = || DomainError::field("cursor", "cursor_invalid");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let (name_key, id): (String, i64) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(MemberCursor {
        name_key,
        id: MemberId::new(id),
    })
}

impl Kopilka {
    /// Customers matching what was typed (support, store managers, administrators): a phone
    /// or a card finds its one holder, an e-mail its owner, a name every customer whose last
    /// name (and first name, if typed) starts so, in alphabetical order, a page at a time.
    pub async fn find_members(
        &self,
        staff: &StaffMember,
        typed: &str,
        limit: u32,
        cursor: Option<&str>,
    ) -> ServiceResult<FoundPage> {
        authorize(staff, Permission::FindCustomers)?;
        let lookup = MemberLookup::parse(typed)
            .ok_or_else(|| DomainError::field("q", "member_lookup_invalid"))?;
        let limit = limit.clamp(1, FOUND_PAGE_MAX);
        let after = cursor.map(decode_cursor).transpose()?;
        let store = self.store();
        let (members, next_cursor) = match lookup {
            MemberLookup::Phone(phone) => (
                store.member_by_phone(&phone).await?.into_iter().collect(),
                None,
            ),
            MemberLookup::Card(number) => (
                store
                    .member_by_card(&number)
                    .await?
                    .map(|(m, _)| m)
                    .into_iter()
                    .collect(),
                None,
            ),
            MemberLookup::Email(email) => {
                self.page(MemberSearch::Email(email), after, limit).await?
            }
            MemberLookup::Name(prefix) => {
                self.page(MemberSearch::NamePrefix(prefix), after, limit)
                    .await?
            }
        };
        let now = self.now();
        // A page's customers are looked up side by side: their cards and points are
        // independent reads, and a page is at most `FOUND_PAGE_MAX` of them.
        let items =
            futures_util::future::try_join_all(members.into_iter().map(|member| async move {
                let (cards, balance) = tokio::try_join!(
                    store.cards(member.id),
                    store.ledger_balance(member.id, now, None)
                )?;
                Ok::<_, kopilka_store::StoreError>(FoundMember {
                    member,
                    cards,
                    available: balance.available,
                })
            }))
            .await?;
        Ok(FoundPage { items, next_cursor })
    }

    /// A customer's file (support, store managers, administrators): profile, cards, points,
    /// the latest history and the adjustments of theirs waiting for approval.
    pub async fn customer_file(
        &self,
        staff: &StaffMember,
        id: MemberId,
    ) -> ServiceResult<CustomerFile> {
        authorize(staff, Permission::FindCustomers)?;
        let store = self.store();
        let member = store
            .member(id)
            .await?
            .ok_or(DomainError::NotFound("member"))?;
        let waiting: Vec<AdjustmentRequest> = store
            .adjustment_requests(Some(ApprovalStatus::Pending), QUEUE_MAX)
            .await?
            .into_iter()
            .filter(|r| r.member_id == id)
            .collect();
        let logins = self.logins(waiting.iter().map(|r| r.requested_by)).await?;
        let now = self.now();
        let idle = self.rules().customer_session_idle;
        let sessions = store
            .sessions_of(kopilka_store::TokenKind::Customer, id.get(), now)
            .await?
            .into_iter()
            .filter(|s| now - s.last_seen_at < idle)
            .collect();
        Ok(CustomerFile {
            sessions,
            cards: store.cards(id).await?,
            balance: store.ledger_balance(id, self.now(), None).await?,
            history: store.history(id, CARE_HISTORY_LINES, None).await?,
            tickets: store.member_tickets(id).await?,
            waiting: waiting
                .into_iter()
                .map(|r| {
                    let login = logins.get(&r.requested_by).cloned().unwrap_or_default();
                    (r, login)
                })
                .collect(),
            member,
        })
    }

    /// Signs a customer out everywhere (support, store managers, administrators): a phone
    /// lost, or someone else in their account; audited. How many sessions ended.
    pub async fn end_customer_sessions(
        &self,
        staff: &StaffMember,
        member: MemberId,
    ) -> ServiceResult<u64> {
        authorize(staff, Permission::ManageCards)?;
        let store = self.store();
        store
            .member(member)
            .await?
            .ok_or(DomainError::NotFound("member"))?;
        let ended = store
            .revoke_sessions_of(
                kopilka_store::TokenKind::Customer,
                member.get(),
                self.now(),
                None,
            )
            .await?;
        self.audit(
            crate::staff::Actor::Staff(staff.id.get()),
            "member.sessions_end",
            &format!("member:{member}"),
            serde_json::json!({ "ended": ended }).to_string(),
        )
        .await?;
        Ok(ended)
    }

    /// Blocks one of a customer's cards (`blocked`), or gives a blocked one back as their
    /// active card (support, store managers, administrators); audited.
    pub async fn set_card_blocked(
        &self,
        staff: &StaffMember,
        member: MemberId,
        number: &CardNumber,
        blocked: bool,
    ) -> ServiceResult<Card> {
        authorize(staff, Permission::ManageCards)?;
        let now = self.now();
        let audit = NewAuditEntry {
            actor: format!("staff:{}", staff.id),
            action: if blocked {
                "card.block"
            } else {
                "card.unblock"
            }
            .into(),
            subject: format!("member:{member}"),
            details: serde_json::json!({ "card_last4": number.last4() }).to_string(),
            at: now,
        };
        Ok(self
            .store()
            .set_card_blocked(member, number, blocked, now, audit)
            .await?)
    }

    /// Adjustments waiting for approval, oldest first, with who asked and for whom.
    pub async fn adjustment_queue(
        &self,
        staff: &StaffMember,
    ) -> ServiceResult<Vec<WaitingAdjustment>> {
        let requests = self
            .adjustment_requests(staff, Some(ApprovalStatus::Pending), QUEUE_MAX)
            .await?;
        let logins = self.logins(requests.iter().map(|r| r.requested_by)).await?;
        let mut queue = Vec::with_capacity(requests.len());
        for request in requests {
            queue.push(WaitingAdjustment {
                requested_by: logins
                    .get(&request.requested_by)
                    .cloned()
                    .unwrap_or_default(),
                member: self.store().member(request.member_id).await?,
                request,
            });
        }
        Ok(queue)
    }

    /// Staff logins by id, for showing who did what.
    async fn logins(
        &self,
        ids: impl Iterator<Item = StaffId>,
    ) -> ServiceResult<HashMap<StaffId, String>> {
        let mut logins = HashMap::new();
        for id in ids {
            if let std::collections::hash_map::Entry::Vacant(slot) = logins.entry(id) {
                if let Some(staff) = self.store().staff_member(id).await? {
                    slot.insert(staff.login);
                }
            }
        }
        Ok(logins)
    }

    async fn page(
        &self,
        search: MemberSearch,
        after: Option<MemberCursor>,
        limit: u32,
    ) -> ServiceResult<(Vec<Member>, Option<String>)> {
        let mut members = self
            .store()
            .find_members(&search, after.as_ref(), limit + 1)
            .await?;
        let next = if members.len() > limit as usize {
            members.truncate(limit as usize);
            members
                .last()
                .map(|m| encode_cursor(&MemberCursor::after(m)))
        } else {
            None
        };
        Ok((members, next))
    }
}

impl Kopilka {
    /// What an audit actor label (`staff:3`, `employee:5`, `cli`, `system`) stands for, for
    /// people reading a history: a staff member's login, an employee's name; `None` for the
    /// labels that name nobody (the caller says "automatically").
    pub async fn actor_name(&self, label: &str) -> ServiceResult<Option<String>> {
        let id = |prefix: &str| {
            label
                .strip_prefix(prefix)
                .and_then(|id| id.parse::<i64>().ok())
        };
        if let Some(id) = id("staff:") {
            return Ok(self
                .store()
                .staff_member(StaffId::new(id))
                .await?
                .map(|s| s.login));
        }
        if let Some(id) = id("employee:") {
            return Ok(self
                .store()
                .employee(kopilka_domain::employee::EmployeeId::new(id))
                .await?
                .map(|e| e.full_name));
        }
        Ok(None)
    }

    /// The names of the actors `labels` stand for, each distinct label looked up once: a
    /// page of the audit log names a handful of people over hundreds of rows.
    pub async fn actor_names(&self, labels: &[&str]) -> ServiceResult<HashMap<String, String>> {
        let mut names = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for &label in labels {
            if seen.insert(label) {
                if let Some(name) = self.actor_name(label).await? {
                    names.insert(label.to_owned(), name);
                }
            }
        }
        Ok(names)
    }
}
