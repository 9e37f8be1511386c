use crate::posting::{add_lot, post, Movement, SystemIds};
use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::ledger::Credit;
use kopilka_domain::member::StoreId;
use kopilka_domain::member::{CategoryId, Consents, Gender, Member, MemberId, Profile};
use kopilka_domain::{CardNumber, CardStatus, DomainError, Phone};
use kopilka_store::{
    convert, Card, Enrolment, Erased, Erasure, ImportedMember, MemberCursor, MemberRecords,
    MemberSearch, Members, Registration, StoreError, StoreResult,
};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

pub(crate) const MEMBER_COLUMNS: &str =
    "m.id, m.phone, m.last_name, m.first_name, m.gender, m.birth_date, m.city, \
     m.email, m.favourite_store_id, m.favourite_category_id, m.favourite_category_set_at, \
     m.consent_personal_data, m.consent_newsletters, m.consent_version, m.consent_at, m.created_at";

/// A card's columns, after the member's in a join: `card_from_row` reads them by name.
pub(crate) const CARD_COLUMNS: &str = "c.number, c.kind, c.status, c.member_id, c.bound_at";

pub(crate) fn member_from_row(row: &PgRow) -> StoreResult<Member> {
    let phone: String = row.try_get(1).map_err(db)?;
    let gender: Option<String> = row.try_get(4).map_err(db)?;
    Ok(Member {
        id: MemberId::new(row.try_get(0).map_err(db)?),
        phone: kopilka_store::member_phone(&phone)?,
        profile: Profile {
            last_name: row.try_get(2).map_err(db)?,
            first_name: row.try_get(3).map_err(db)?,
            gender: gender.as_deref().and_then(|g| Gender::parse(g).ok()),
            birth_date: row.try_get::<Option<NaiveDate>, _>(5).map_err(db)?,
            city: row.try_get(6).map_err(db)?,
            email: row.try_get(7).map_err(db)?,
            favourite_store_id: row
                .try_get::<Option<i64>, _>(8)
                .map_err(db)?
                .map(StoreId::new),
            favourite_category_id: row.try_get(9).map_err(db)?,
        },
        favourite_category_set_at: row.try_get(10).map_err(db)?,
        consents: Consents {
            personal_data: row.try_get(11).map_err(db)?,
            newsletters: row.try_get(12).map_err(db)?,
            version: row.try_get(13).map_err(db)?,
            recorded_at: row.try_get(14).map_err(db)?,
        },
        created_at: row.try_get(15).map_err(db)?,
    })
}

pub(crate) fn card_from_row(row: &PgRow) -> StoreResult<Card> {
    let number: String = row.try_get("number").map_err(db)?;
    let kind: String = row.try_get("kind").map_err(db)?;
    let status: String = row.try_get("status").map_err(db)?;
    Ok(Card {
        number: convert::card_number(&number)?,
        kind: convert::card_kind(&kind)?,
        status: convert::card_status(&status)?,
        member_id: row
            .try_get::<Option<i64>, _>("member_id")
            .map_err(db)?
            .map(MemberId::new),
        bound_at: row.try_get("bound_at").map_err(db)?,
    })
}

pub(crate) async fn member_by_id(
    conn: &mut PgConnection,
    id: MemberId,
) -> StoreResult<Option<Member>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.id = $1");
    sqlx::query(&sql)
        .bind(id.get())
        .fetch_optional(conn)
        .await
        .map_err(db)?
        .map(|r| member_from_row(&r))
        .transpose()
}

/// Posts a credit from the system account `debit` (`credit.from`'s id) to a member's
/// account, with its lot.
pub(crate) async fn post_credit(
    conn: &mut PgConnection,
    member: MemberId,
    account: i64,
    debit: i64,
    credit: &Credit,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let amount = credit.lot.points.get();
    let transfer = post(
        conn,
        &Movement {
            debit,
            credit: account,
            amount,
            kind: credit.kind,
            member,
            store_id: None,
            receipt_id: None,
            lot_id: None,
            description: &credit.description,
            at,
        },
    )
    .await?;
    add_lot(
        conn,
        member,
        transfer,
        amount,
        credit.lot.earned_at,
        credit.lot.expires_at,
        credit.lot.earned_at,
    )
    .await?;
    Ok(transfer)
}

pub(crate) async fn log_consents(
    conn: &mut PgConnection,
    member: MemberId,
    c: &Consents,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO consent_log (member_id, personal_data, newsletters, version, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(member.get())
        .bind(c.personal_data)
        .bind(c.newsletters)
        .bind(&c.version)
        .bind(c.recorded_at)
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

#[async_trait]
impl Members for PostgresStore {
    async fn register(&self, r: Registration) -> StoreResult<(Member, Card)> {
        let welcome_from = self.system.of(r.welcome.from)?;
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let password_hash = match &r.enrolment {
                Enrolment::Online {
                    registration_token_hash,
                    password_hash,
                } => {
                    let consumed = sqlx::query(
                        "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND kind = 'registration' \
                         AND revoked_at IS NULL AND expires_at > $2 AND phone = $3",
                    )
                    .bind(registration_token_hash)
                    .bind(r.at)
                    .bind(r.phone.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?
                    .rows_affected();
                    if consumed != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Some(password_hash.clone())
                }
                Enrolment::PaperForm { .. } => None,
            };
            let p = &r.profile;
            let member: i64 = sqlx::query_scalar(
                "INSERT INTO members (phone, password_hash, last_name, first_name, gender, birth_date, city, email, \
                 favourite_store_id, favourite_category_id, favourite_category_set_at, consent_personal_data, \
                 consent_newsletters, consent_version, consent_at, created_at, name_key, city_key) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $11, $16, $17) RETURNING id",
            )
            .bind(r.phone.as_str())
            .bind(&password_hash)
            .bind(&p.last_name)
            .bind(&p.first_name)
            .bind(p.gender.map(Gender::as_str))
            .bind(p.birth_date)
            .bind(&p.city)
            .bind(&p.email)
            .bind(p.favourite_store_id.map(|id| id.get()))
            .bind(p.favourite_category_id)
            .bind(r.at)
            .bind(r.consents.personal_data)
            .bind(r.consents.newsletters)
            .bind(&r.consents.version)
            .bind(r.consents.recorded_at)
            .bind(p.name_key())
            .bind(p.city_key())
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            log_consents(&mut tx, kopilka_domain::member::MemberId::new(member), &r.consents).await?;
            match &r.enrolment {
                Enrolment::Online { .. } => {
                    sqlx::query(
                        "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES ($1, $2, 'active', $3, $4, $4)",
                    )
                    .bind(r.card.as_str())
                    .bind(r.card_kind.as_str())
                    .bind(member)
                    .bind(r.at)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                }
                Enrolment::PaperForm { audit } => {
                    let member = kopilka_domain::member::MemberId::new(member);
                    crate::cards::bind_unbound(&mut tx, member, r.card.as_str(), r.at).await?;
                    let mut audit = audit.clone();
                    audit.subject.push_str(&member.to_string());
                    crate::catalog::insert_audit(&mut tx, &audit).await?;
                }
            }
            let account: i64 = sqlx::query_scalar("INSERT INTO accounts (member_id, created_at) VALUES ($1, $2) RETURNING id")
                .bind(member)
                .bind(r.at)
                .fetch_one(&mut *tx)
                .await
                .map_err(db)?;
            post_credit(&mut tx, kopilka_domain::member::MemberId::new(member), account, welcome_from, &r.welcome, r.at).await?;
            let member = member_by_id(&mut tx, kopilka_domain::member::MemberId::new(member)).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await.map_err(db)?;
            let card = Card {
                number: r.card,
                kind: r.card_kind,
                status: CardStatus::Active,
                member_id: Some(member.id),
                bound_at: Some(r.at),
            };
            Ok((member, card))
        })
        .await
    }

    async fn member(&self, id: MemberId) -> StoreResult<Option<Member>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.id = $1 AND m.deleted_at IS NULL"
        );
        sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| member_from_row(&r))
            .transpose()
    }

    async fn member_by_phone(&self, phone: &Phone) -> StoreResult<Option<Member>> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.phone = $1");
        sqlx::query(&sql)
            .bind(phone.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| member_from_row(&r))
            .transpose()
    }

    async fn find_members(
        &self,
        search: &MemberSearch,
        after: Option<&MemberCursor>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        let (range, exact) = search.bounds();
        let (key, id) = after.map_or((String::new(), 0), |c| (c.name_key.clone(), c.id.get()));
        // One statement for each kind of search, each with the one index it needs: a plan
        // made for both ("$1 IS NULL OR …") reads the whole table. A name's page starts at
        // the cursor, or at the prefix: one lower bound, so the index is entered there.
        let (first, second, sql) = match (range, exact) {
            (Some((low, high)), _) => {
                let (key, id) = if key < low { (low, 0) } else { (key, id) };
                (
                    (key, id),
                    Some(high),
                    format!(
                        "SELECT {MEMBER_COLUMNS} FROM members m \
                         WHERE (m.name_key COLLATE \"C\", m.id) > ($1 COLLATE \"C\", $2) \
                         AND m.name_key COLLATE \"C\" < $3 AND m.deleted_at IS NULL \
                         ORDER BY m.name_key COLLATE \"C\", m.id LIMIT $4"
                    ),
                )
            }
            (None, exact) => (
                (key, id),
                exact,
                format!(
                    "SELECT {MEMBER_COLUMNS} FROM members m \
                     WHERE (coalesce(m.name_key, '') COLLATE \"C\", m.id) > ($1 COLLATE \"C\", $2) \
                     AND m.email = $3 AND m.deleted_at IS NULL \
                     ORDER BY coalesce(m.name_key, '') COLLATE \"C\", m.id LIMIT $4"
                ),
            ),
        };
        sqlx::query(&sql)
            .bind(first.0)
            .bind(first.1)
            .bind(second)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?
            .iter()
            .map(member_from_row)
            .collect()
    }

    async fn member_by_card(&self, number: &CardNumber) -> StoreResult<Option<(Member, Card)>> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS}, {CARD_COLUMNS} FROM cards c JOIN members m ON m.id = c.member_id WHERE c.number = $1"
        );
        sqlx::query(&sql)
            .bind(number.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| Ok((member_from_row(&r)?, card_from_row(&r)?)))
            .transpose()
    }

    async fn password_hash(&self, id: MemberId) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT password_hash FROM members WHERE id = $1",
        )
        .bind(id.get())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?
        .flatten())
    }

    async fn set_password(&self, id: MemberId, password_hash: &str) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE members SET password_hash = $2 WHERE id = $1 AND deleted_at IS NULL",
        )
        .bind(id.get())
        .bind(password_hash)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 1 {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn update_profile(
        &self,
        id: MemberId,
        p: &Profile,
        consents: &Consents,
    ) -> StoreResult<Member> {
        let (pool, caches) = (self.pool.clone(), self.caches.clone());
        let (p, consents) = (p.clone(), consents.clone());
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let before = member_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let updated = sqlx::query(
                "UPDATE members SET last_name = $2, first_name = $3, gender = $4, birth_date = $5, city = $6, email = $7, \
                 favourite_store_id = $8, consent_personal_data = $9, consent_newsletters = $10, consent_version = $11, \
                 consent_at = $12, name_key = $13, city_key = $14 WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(id.get())
            .bind(&p.last_name)
            .bind(&p.first_name)
            .bind(p.gender.map(Gender::as_str))
            .bind(p.birth_date)
            .bind(&p.city)
            .bind(&p.email)
            .bind(p.favourite_store_id.map(|id| id.get()))
            .bind(consents.personal_data)
            .bind(consents.newsletters)
            .bind(&consents.version)
            .bind(consents.recorded_at)
            .bind(p.name_key())
            .bind(p.city_key())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            // A deleted account takes no personal data again (a request that began before
            // the deletion, which this waited for): its session is gone, so the caller hears
            // 401.
            if updated != 1 {
                return Err(StoreError::Rule(DomainError::Unauthorized));
            }
            if before.consents != consents {
                log_consents(&mut tx, id, &consents).await?;
            }
            let member = member_by_id(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await.map_err(db)?;
            caches.forget_member(id);
            Ok(member)
        })
        .await
    }

    async fn set_favourite_category(
        &self,
        id: MemberId,
        category: CategoryId,
        at: DateTime<Utc>,
        locked_since: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE members SET favourite_category_id = $2, favourite_category_set_at = $3 \
             WHERE id = $1 AND (favourite_category_set_at IS NULL OR favourite_category_set_at < $4)",
        )
        .bind(id.get())
        .bind(category)
        .bind(at)
        .bind(locked_since)
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        self.caches.forget_member(id);
        Ok(n == 1)
    }

    async fn cards(&self, member: MemberId) -> StoreResult<Vec<Card>> {
        sqlx::query(
            "SELECT number, kind, status, member_id, bound_at FROM cards WHERE member_id = $1 \
             ORDER BY status = 'active' DESC, bound_at DESC",
        )
        .bind(member.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(card_from_row)
        .collect()
    }

    async fn import_members(
        &self,
        members: Vec<ImportedMember>,
    ) -> StoreResult<Vec<(MemberId, Option<CardNumber>)>> {
        let (pool, system) = (self.pool.clone(), self.system.clone());
        detached(async move { import_members(&pool, &system, members).await }).await
    }

    async fn member_count(&self) -> StoreResult<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM members")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Without statistics right after millions of rows arrive (autovacuum comes later, or
        // never where it is off), a lookup the indexes answer in a millisecond was planned as
        // a scan of the whole table: the system accounts' ids took 3 s at 10 M members.
        sqlx::query("ANALYZE members, consent_log, cards, accounts, transfers, lots, live_lots")
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn member_records(&self, member: MemberId) -> StoreResult<MemberRecords> {
        crate::privacy::member_records(self, member).await
    }

    async fn erase_member(&self, erasure: Erasure) -> StoreResult<Erased> {
        crate::privacy::erase_member(self, erasure).await
    }
}

/// Bulk import: a handful of set-based statements for the whole batch rather than a dozen
/// round trips per member.
async fn import_members(
    pool: &crate::Pool,
    system: &SystemIds,
    members: Vec<ImportedMember>,
) -> StoreResult<Vec<(MemberId, Option<CardNumber>)>> {
    let Some(first) = members.first() else {
        return Ok(Vec::new());
    };
    let (at, version, consent_at) = (
        first.at,
        first.consents.version.clone(),
        first.consents.recorded_at,
    );
    let welcome_from = first.welcome.from;
    let welcome_description = first.welcome.description.clone();
    let mut tx = pool.begin().await.map_err(db)?;
    let phones: Vec<&str> = members.iter().map(|m| m.phone.as_str()).collect();
    let last: Vec<Option<String>> = members
        .iter()
        .map(|m| m.profile.last_name.clone())
        .collect();
    let first_names: Vec<Option<String>> = members
        .iter()
        .map(|m| m.profile.first_name.clone())
        .collect();
    let genders: Vec<Option<&str>> = members
        .iter()
        .map(|m| m.profile.gender.map(Gender::as_str))
        .collect();
    let births: Vec<Option<NaiveDate>> = members.iter().map(|m| m.profile.birth_date).collect();
    let cities: Vec<Option<String>> = members.iter().map(|m| m.profile.city.clone()).collect();
    let categories: Vec<Option<i64>> = members
        .iter()
        .map(|m| m.profile.favourite_category_id)
        .collect();
    let newsletters: Vec<bool> = members.iter().map(|m| m.consents.newsletters).collect();
    let name_keys: Vec<Option<String>> = members.iter().map(|m| m.profile.name_key()).collect();
    let city_keys: Vec<Option<String>> = members.iter().map(|m| m.profile.city_key()).collect();
    let inserted: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO members (phone, last_name, first_name, gender, birth_date, city, favourite_category_id, favourite_category_set_at, \
         consent_personal_data, consent_newsletters, consent_version, consent_at, created_at, name_key, city_key) \
         SELECT x.phone, x.last_name, x.first_name, x.gender, x.birth_date, x.city, x.category, $8, TRUE, x.newsletters, $9, $10, $8, x.name_key, x.city_key \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], $6::text[], $7::bigint[], $11::bool[], $12::text[], $13::text[]) \
           AS x(phone, last_name, first_name, gender, birth_date, city, category, newsletters, name_key, city_key) \
         ON CONFLICT (phone) DO NOTHING RETURNING id, phone",
    )
    .bind(&phones)
    .bind(&last)
    .bind(&first_names)
    .bind(&genders)
    .bind(&births)
    .bind(&cities)
    .bind(&categories)
    .bind(at)
    .bind(&version)
    .bind(consent_at)
    .bind(&newsletters)
    .bind(&name_keys)
    .bind(&city_keys)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let by_phone: std::collections::HashMap<&str, &ImportedMember> =
        members.iter().map(|m| (m.phone.as_str(), m)).collect();
    let ids: Vec<i64> = inserted.iter().map(|(id, _)| *id).collect();
    let chosen: Vec<&ImportedMember> = inserted
        .iter()
        .filter_map(|(_, phone)| by_phone.get(phone.as_str()).copied())
        .collect();
    let numbers: Vec<&str> = chosen.iter().map(|m| m.card.as_str()).collect();
    let kinds: Vec<&str> = chosen.iter().map(|m| m.card_kind.as_str()).collect();
    let points: Vec<i64> = chosen.iter().map(|m| m.welcome.lot.points.get()).collect();
    let expires: Vec<DateTime<Utc>> = chosen.iter().map(|m| m.welcome.lot.expires_at).collect();
    sqlx::query(
        "INSERT INTO consent_log (member_id, personal_data, newsletters, version, at) \
         SELECT m.id, TRUE, m.consent_newsletters, $2, $3 FROM members m WHERE m.id = ANY($1)",
    )
    .bind(&ids)
    .bind(&version)
    .bind(consent_at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    let carded: Vec<String> = sqlx::query_scalar(
        "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) \
         SELECT x.number, x.kind, 'active', x.member, $4, $4 FROM UNNEST($1::text[], $2::text[], $3::bigint[]) AS x(number, kind, member) \
         ON CONFLICT DO NOTHING RETURNING number",
    )
    .bind(&numbers)
    .bind(&kinds)
    .bind(&ids)
    .bind(at)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let carded: std::collections::HashSet<String> = carded.into_iter().collect();
    // Each account is created holding its welcome credit, as the transfer below posts it:
    // updating fresh rows afterwards would write every one twice.
    let accounts: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO accounts (member_id, created_at, credits_posted) SELECT x.id, $2, x.points \
         FROM UNNEST($1::bigint[], $3::bigint[]) AS x(id, points) RETURNING id, member_id",
    )
    .bind(&ids)
    .bind(at)
    .bind(&points)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let account_of: std::collections::HashMap<i64, i64> =
        accounts.into_iter().map(|(a, m)| (m, a)).collect();
    let member_accounts: Vec<i64> = ids
        .iter()
        .map(|id| account_of.get(id).copied().unwrap_or_default())
        .collect();
    let from = system.of(welcome_from)?;
    let transfers: Vec<(i64, i64)> = sqlx::query_as(
        "INSERT INTO transfers (debit_account_id, credit_account_id, amount, kind, member_id, description, at) \
         SELECT $4, x.account, x.points, 'welcome', x.member, $5, $6 \
         FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS x(member, account, points) RETURNING id, member_id",
    )
    .bind(&ids)
    .bind(&member_accounts)
    .bind(&points)
    .bind(from)
    .bind(&welcome_description)
    .bind(at)
    .fetch_all(&mut *tx)
    .await
    .map_err(db)?;
    let transfer_of: std::collections::HashMap<i64, i64> =
        transfers.into_iter().map(|(t, m)| (m, t)).collect();
    let transfer_ids: Vec<i64> = ids
        .iter()
        .map(|id| transfer_of.get(id).copied().unwrap_or_default())
        .collect();
    sqlx::query(
        "WITH lot AS (INSERT INTO lots (member_id, transfer_id, points, earned_at, expires_at) \
                      SELECT x.member, x.transfer, x.points, $5, x.expires \
                      FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[]) AS x(member, transfer, points, expires) \
                      RETURNING id, member_id, transfer_id, points, expires_at, available_at) \
         INSERT INTO live_lots (member_id, expires_at, lot_id, transfer_id, available_at, remaining) \
         SELECT member_id, expires_at, id, transfer_id, available_at, points FROM lot",
    )
    .bind(&ids)
    .bind(&transfer_ids)
    .bind(&points)
    .bind(&expires)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    sqlx::query("UPDATE accounts SET debits_posted = debits_posted + $2 WHERE id = $1")
        .bind(from)
        .bind(points.iter().sum::<i64>())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(ids
        .iter()
        .zip(&chosen)
        .map(|(id, m)| {
            (
                MemberId::new(*id),
                carded.contains(m.card.as_str()).then(|| m.card.clone()),
            )
        })
        .collect())
}

/// Fills in the search keys of rows written before they were kept (name keys: migration 24,
/// city keys: 27), a batch at a time, made by Rust (`Profile::name_key`, `city_key`) as on
/// SQLite. How many keys it filled.
pub(crate) async fn fill_search_keys(conn: &mut sqlx::PgConnection) -> StoreResult<u64> {
    const BATCH: i64 = 10_000;
    type Row = (i64, Option<String>, Option<String>);
    /// Which rows lack the key, what to read of them, how the key is made, where it goes.
    type KeyFill = (&'static str, &'static str, fn(&Row) -> String, &'static str);
    let keys: [KeyFill; 2] = [
        (
            "name_key IS NULL AND (last_name IS NOT NULL OR first_name IS NOT NULL)",
            "last_name, first_name",
            // A blank name keeps an empty key, so that it is not read again.
            |(_, last, first)| {
                kopilka_domain::member::name_key(last.as_deref(), first.as_deref())
                    .unwrap_or_default()
            },
            "name_key",
        ),
        (
            "city_key IS NULL AND city IS NOT NULL",
            "city, NULL::text",
            |(_, city, _)| kopilka_domain::member::city_key(city.as_deref().unwrap_or_default()),
            "city_key",
        ),
    ];
    let mut filled = 0;
    for (which, read, key_of, column) in keys {
        loop {
            let rows: Vec<Row> = sqlx::query_as(&format!(
                "SELECT id, {read} FROM members WHERE {which} LIMIT $1"
            ))
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await
            .map_err(db)?;
            if rows.is_empty() {
                break;
            }
            let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
            let values: Vec<String> = rows.iter().map(key_of).collect();
            sqlx::query(&format!(
                "UPDATE members m SET {column} = x.key FROM UNNEST($1::bigint[], $2::text[]) AS x(id, key) \
                 WHERE m.id = x.id"
            ))
            .bind(&ids)
            .bind(&values)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
            filled += rows.len() as u64;
        }
    }
    Ok(filled)
}
