//! The till (SPEC §4): keys, identify, quote, purchase, refund; and the expiry job and manual
//! adjustments that also move points.

use crate::security::SecurityEvent;
use crate::{crypto, Kopilka, ServiceResult};
use chrono::{DateTime, Duration, Months, NaiveDate, TimeZone, Utc};
use kopilka_domain::card::CardRange;
use kopilka_domain::earning::{price, Basket, Priced, PurchaseContext};
use kopilka_domain::member::Member;
use kopilka_domain::offers::{apply_offers, ActivatedOffer};
use kopilka_domain::{CardNumber, DomainError, Kopecks, Points};
use kopilka_store::{
    Card, CardHolder, MemberShare, PurchaseOutcome, PurchaseRequest, RefundOutcome, RefundRequest,
    StoreError, Till, TillCustomer,
};
use kopilka_text::Message;
use sha2::{Digest, Sha256};

/// A scanned barcode resolved to a member and a card.
#[derive(Debug)]
pub struct Identified {
    pub member: Member,
    pub card: Card,
    pub available: Points,
    /// The one-time code it came from, if it was one.
    pub token: Option<CardNumber>,
    /// Activated personal offers that the next purchase would get.
    pub offers: Vec<ActivatedOffer>,
}

/// A purchase as the till sends it, already valid field by field.
#[derive(Debug, Clone)]
pub struct PurchaseInput {
    pub receipt_id: String,
    pub barcode: CardNumber,
    pub basket: Basket,
    pub redeem: Points,
    /// When the till sold it, if it uploads the receipt later.
    pub purchased_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct RefundInput {
    pub receipt_id: String,
    pub refund_id: String,
    pub lines: Option<Vec<(String, Kopecks)>>,
}

/// Receipt and refund ids: what a till prints, within reason.
pub fn parse_external_id(input: &str) -> Result<String, &'static str> {
    let id = input.trim();
    if id.is_empty() || id.len() > 64 || id.chars().any(char::is_control) {
        Err("external_id_shape")
    } else {
        Ok(id.to_owned())
    }
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    crypto::hex(&h.finalize())
}

impl Kopilka {
    pub async fn authenticate_till(&self, key: &str, ip: &str) -> ServiceResult<Till> {
        let hash = crypto::token_hash(key);
        let ttl = self.rules().till_key_cache;
        if let Some(till) = self.inner.tills.get(&hash, ttl) {
            return Ok(till);
        }
        let Some(till) = self.store().till_by_key(&hash).await? else {
            // The key's prefix and first characters: enough to tell keys apart in a log.
            let shown: String = key.chars().take(8).collect();
            self.security_event(SecurityEvent::TillKeyRefused, &format!("{shown}…"), ip);
            return Err(DomainError::Unauthorized.into());
        };
        if !ttl.is_zero() {
            self.inner.tills.put(hash, till.clone());
        }
        Ok(till)
    }

    /// The customer a barcode (a card or a one-time code) stands for, with their points now
    /// and, when `earning_day` is given, their earning receipts on it.
    async fn customer(
        &self,
        barcode: &CardNumber,
        earning_day: Option<(DateTime<Utc>, DateTime<Utc>)>,
    ) -> ServiceResult<(TillCustomer, Option<CardNumber>)> {
        let now = self.now();
        let found = if barcode.range() == Some(CardRange::OneTimeToken) {
            match self.token_holder(barcode, Some(now)).await? {
                Some(holder) => {
                    let earning_receipts = match earning_day {
                        Some((start, end)) => {
                            self.store()
                                .earning_receipts(holder.member.id, start, end)
                                .await?
                        }
                        None => 0,
                    };
                    Some((
                        TillCustomer {
                            available: self.available_points(holder.member.id).await?,
                            holder,
                            earning_receipts,
                        },
                        Some(barcode.clone()),
                    ))
                }
                None => None,
            }
        } else {
            self.store()
                .till_customer(barcode, now, earning_day)
                .await?
                .map(|customer| (customer, None))
        };
        let (customer, token) = found.ok_or(DomainError::NotFound("card"))?;
        customer.holder.card.status.check_purchase()?;
        Ok((customer, token))
    }

    /// The holder a purchase's barcode stands for, without the points: the purchase reads
    /// them with the rest of its state. Also a code that was already spent and a card blocked
    /// since, so that a retried purchase can be recognised and replayed: the purchase itself
    /// checks both after looking for the receipt.
    async fn purchase_holder(
        &self,
        barcode: &CardNumber,
    ) -> ServiceResult<(CardHolder, Option<CardNumber>)> {
        let found = if barcode.range() == Some(CardRange::OneTimeToken) {
            self.token_holder(barcode, None)
                .await?
                .map(|holder| (holder, Some(barcode.clone())))
        } else {
            self.store()
                .card_holder(barcode)
                .await?
                .map(|holder| (holder, None))
        };
        Ok(found.ok_or(DomainError::NotFound("card"))?)
    }

    /// The holder a one-time code stands for: with `now`, only while the code is unspent
    /// and unexpired then; without, whatever became of it.
    async fn token_holder(
        &self,
        code: &CardNumber,
        now: Option<DateTime<Utc>>,
    ) -> ServiceResult<Option<CardHolder>> {
        let Some((member, card)) = self.store().resolve_card_token(code, now).await? else {
            return Ok(None);
        };
        Ok(Some(CardHolder {
            activations: self.store().activations(member.id).await?,
            member,
            card,
        }))
    }

    pub async fn identify(&self, barcode: &CardNumber) -> ServiceResult<Identified> {
        let (customer, token) = self.customer(barcode, None).await?;
        let offers = self
            .activated_offers(&customer.holder.activations, self.now())
            .await?;
        Ok(Identified {
            member: customer.holder.member,
            card: customer.holder.card,
            available: customer.available,
            token,
            offers,
        })
    }

    async fn context(
        &self,
        till: &Till,
        member: &Member,
        card: &Card,
        available: Points,
        receipts_today: u32,
    ) -> ServiceResult<PurchaseContext> {
        let tree = self.inner.categories.tree(self.store()).await?;
        let rules = self.rules();
        let locked_until = card
            .bound_at
            .map(|at| at + Duration::days(i64::from(rules.spend_lock_days)));
        Ok(PurchaseContext {
            available,
            till: till.kind,
            favourite_categories: tree.with_descendants(member.profile.favourite_category_id),
            excluded_categories: tree.with_descendants(rules.excluded_categories.iter().copied()),
            earning_receipts_today: receipts_today,
            redemption_locked: rules.spend_lock_days > 0
                && locked_until.is_some_and(|until| self.now() < until),
        })
    }

    /// What a basket would earn and cost if bought now (SPEC §4.3), the day's earning
    /// receipts counted against the daily limit as the purchase counts them. Changes nothing.
    pub async fn quote(
        &self,
        till: &Till,
        barcode: &CardNumber,
        basket: &Basket,
        redeem: Points,
    ) -> ServiceResult<Priced> {
        let today = self.local_day(self.now());
        let (
            TillCustomer {
                holder,
                available,
                earning_receipts,
            },
            _,
        ) = self.customer(barcode, Some(today)).await?;
        let ctx = self
            .context(
                till,
                &holder.member,
                &holder.card,
                available,
                earning_receipts,
            )
            .await?;
        let offers = self
            .activated_offers(&holder.activations, self.now())
            .await?;
        let mut priced = price(basket, redeem, &ctx, &self.rules().earning);
        apply_offers(&mut priced, &offers, self.now(), &self.rules().earning);
        Ok(priced)
    }

    /// Records a purchase (SPEC §4.4, §4.7): exactly once per receipt id in the till's store.
    pub async fn purchase(
        &self,
        till: &Till,
        input: PurchaseInput,
    ) -> ServiceResult<PurchaseOutcome> {
        let now = self.now();
        let rules = self.rules();
        // Checked inside the purchase, after the receipt id: a retry of a recorded purchase
        // gets its first answer even once the receipt is too old or the card is blocked.
        let time_check = match input.purchased_at {
            None => Ok(now),
            Some(at) if at > now + rules.till_clock_skew => {
                Err(DomainError::field("purchased_at", "purchase_in_future"))
            }
            Some(at) if at < now - rules.offline_receipt_max_age => {
                Err(DomainError::field("purchased_at", "receipt_too_old"))
            }
            Some(at) => Ok(at.min(now)),
        };
        let purchased_at = time_check.clone().unwrap_or(now);
        let request_hash = digest(&[
            &input.barcode.to_string(),
            &serde_json::to_string(input.basket.lines()).unwrap_or_default(),
            &input.redeem.to_string(),
            &input
                .purchased_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
        ]);
        let (
            CardHolder {
                member,
                card,
                activations,
            },
            token,
        ) = self.purchase_holder(&input.barcode).await?;
        let ctx = self.context(till, &member, &card, Points::ZERO, 0).await?;
        let offers = self.activated_offers(&activations, purchased_at).await?;
        let offer_ids = offers.iter().map(|o| o.offer.id).collect();
        let earning = rules.earning.clone();
        let (basket, requested) = (input.basket.clone(), input.redeem);
        let status = card.status;
        let pricer = Box::new(move |state: &kopilka_store::PurchaseState| {
            time_check.clone()?;
            status.check_purchase()?;
            let ctx = PurchaseContext {
                available: state.available,
                earning_receipts_today: state.earning_receipts_today,
                ..ctx.clone()
            };
            let mut priced = price(&basket, requested, &ctx, &earning);
            // The uses as read under the purchase's lock: two tills cannot both spend the
            // last use of an offer.
            let offers: Vec<ActivatedOffer> = offers
                .iter()
                .cloned()
                .filter_map(|mut o| {
                    let (_, uses) = state.offer_uses.iter().find(|(id, _)| *id == o.offer.id)?;
                    o.uses = *uses;
                    Some(o)
                })
                .collect();
            apply_offers(&mut priced, &offers, purchased_at, &earning);
            if priced.redeem < requested {
                return Err(if requested > state.available {
                    DomainError::InsufficientPoints
                } else {
                    DomainError::field(
                        "redeem_points",
                        Message::new("redeem_at_most").with("max", priced.max_redeem.get()),
                    )
                });
            }
            Ok(priced)
        });
        let (day_start, day_end) = self.local_day(purchased_at);
        let lot_expires_at = purchased_at
            .checked_add_months(Months::new(rules.points_lifetime_months))
            .unwrap_or(purchased_at);
        let outcome = self
            .store()
            .commit_purchase(
                PurchaseRequest {
                    store_id: till.store_id,
                    till_id: till.id,
                    receipt_id: input.receipt_id.clone(),
                    request_hash,
                    member_id: member.id,
                    card_number: card.number.clone(),
                    card_token: token.map(|t| t.to_string()),
                    purchased_at,
                    committed_at: now,
                    day_start,
                    day_end,
                    lot_expires_at,
                    lot_available_at: purchased_at + rules.accrual_pending,
                    accrual_description: Message::new("history_accrual")
                        .with("receipt", &input.receipt_id)
                        .to_stored(),
                    redemption_description: Message::new("history_redemption")
                        .with("receipt", &input.receipt_id)
                        .to_stored(),
                    offer_ids,
                },
                pricer,
            )
            .await?;
        if !outcome.replayed {
            tracing::info!(member_id = member.id.get(), store_id = till.store_id.get(), earned = %outcome.earned, redeemed = %outcome.redeemed, "purchase");
        }
        Ok(outcome)
    }

    /// Returns goods (SPEC §4.5): idempotent on the refund id within the till's store.
    pub async fn refund(&self, till: &Till, input: RefundInput) -> ServiceResult<RefundOutcome> {
        // A deleted account's points were forfeited with it: a return gives nothing back to it
        // and takes nothing from it. The till refunds the money without the card.
        if let Some(member) = self
            .store()
            .purchase_member(till.store_id, &input.receipt_id)
            .await?
        {
            if self.store().member(member).await?.is_none() {
                return Err(DomainError::CardBlocked.into());
            }
        }
        let lines_text = input
            .lines
            .as_ref()
            .map(|ls| {
                ls.iter()
                    .map(|(id, k)| format!("{id}={k}"))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_else(|| "*".to_owned());
        let outcome = self
            .store()
            .refund_purchase(RefundRequest {
                store_id: till.store_id,
                receipt_id: input.receipt_id.clone(),
                refund_id: input.refund_id.clone(),
                request_hash: digest(&[&input.receipt_id, &lines_text]),
                lines: input.lines,
                at: self.now(),
                description: Message::new("history_refund")
                    .with("receipt", &input.receipt_id)
                    .to_stored(),
            })
            .await?;
        Ok(outcome)
    }

    /// The expiry job (SPEC §3.6): expires every due lot, a batch per transaction. Its
    /// workers each take a disjoint share of the members, so they never wait on one another's
    /// accounts and a database with several cores works them at once (SQLite, with its one
    /// writer, gets one worker).
    pub async fn expire_points(&self) -> ServiceResult<u64> {
        let now = self.now();
        let count = self
            .rules()
            .expiry_workers
            .min(self.store().concurrent_writes())
            .max(1);
        let mut workers = tokio::task::JoinSet::new();
        for index in 0..count {
            let kopilka = self.clone();
            workers.spawn(async move {
                kopilka
                    .expire_share(now, MemberShare { index, count })
                    .await
            });
        }
        let mut total = 0;
        while let Some(done) = workers.join_next().await {
            total += done.map_err(|e| StoreError::backend_while("an expiry worker", e))??;
        }
        if total > 0 {
            tracing::info!(lots = total, "points expired");
        }
        Ok(total)
    }

    async fn expire_share(&self, now: DateTime<Utc>, share: MemberShare) -> ServiceResult<u64> {
        let mut total = 0;
        let mut after = None;
        loop {
            let (n, last) = self
                .store()
                .expire_lots(
                    now,
                    self.rules().expiry_batch.max(1),
                    after,
                    share,
                    &Message::new("history_expiry").to_stored(),
                )
                .await?;
            total += n;
            if last.is_none() {
                return Ok(total);
            }
            after = last;
        }
    }

    /// The chain's calendar day around `at`, as UTC instants.
    pub(crate) fn local_day(&self, at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let tz = self.rules().timezone;
        let date = at.with_timezone(&tz).date_naive();
        let start = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|m| tz.from_local_datetime(&m).earliest())
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(at)
        };
        let next = date.succ_opt().unwrap_or(date);
        (start(date), start(next))
    }
}
