use crate::posting::{add_lot, post, system_account, Movement};
use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::ledger::Credit;
use kopilka_domain::member::StoreId;
use kopilka_domain::member::{CategoryId, Consents, Gender, Member, MemberId, Profile};
use kopilka_domain::{CardNumber, CardStatus, DomainError, Phone};
use kopilka_store::{
    convert, Card, Enrolment, Erased, Erasure, ImportedMember, MemberCursor, MemberRecords,
    MemberSearch, Members, Registration, StoreError, StoreResult,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub(crate) const MEMBER_COLUMNS: &str =
    "m.id, m.phone, m.last_name, m.first_name, m.gender, m.birth_date, m.city, \
     m.email, m.favourite_store_id, m.favourite_category_id, m.favourite_category_set_at, \
     m.consent_personal_data, m.consent_newsletters, m.consent_version, m.consent_at, m.created_at";

pub(crate) fn member_from_row(row: &Row) -> rusqlite::Result<StoreResult<Member>> {
    let phone: String = row.get(1)?;
    let gender: Option<String> = row.get(4)?;
    let birth_date: Option<String> = row.get(5)?;
    let build = || -> StoreResult<Member> {
        Ok(Member {
            id: MemberId::new(row.get(0).map_err(backend)?),
            phone: kopilka_store::member_phone(&phone)?,
            profile: Profile {
                last_name: row.get(2).map_err(backend)?,
                first_name: row.get(3).map_err(backend)?,
                gender: gender.as_deref().and_then(|g| Gender::parse(g).ok()),
                birth_date: birth_date.as_deref().map(convert::date).transpose()?,
                city: row.get(6).map_err(backend)?,
                email: row.get(7).map_err(backend)?,
                favourite_store_id: row
                    .get::<_, Option<i64>>(8)
                    .map_err(backend)?
                    .map(StoreId::new),
                favourite_category_id: row.get(9).map_err(backend)?,
            },
            favourite_category_set_at: row.get::<_, Option<i64>>(10).map_err(backend)?.map(time),
            consents: Consents {
                personal_data: row.get(11).map_err(backend)?,
                newsletters: row.get(12).map_err(backend)?,
                version: row.get(13).map_err(backend)?,
                recorded_at: time(row.get(14).map_err(backend)?),
            },
            created_at: time(row.get(15).map_err(backend)?),
        })
    };
    Ok(build())
}

/// A card from `number, kind, status, member_id, bound_at` starting at `offset`.
pub(crate) fn card_from_row(row: &Row, offset: usize) -> rusqlite::Result<StoreResult<Card>> {
    let number: String = row.get(offset)?;
    let kind: String = row.get(offset + 1)?;
    let status: String = row.get(offset + 2)?;
    let member_id: Option<i64> = row.get(offset + 3)?;
    let bound_at: Option<i64> = row.get(offset + 4)?;
    Ok((|| {
        Ok(Card {
            number: convert::card_number(&number)?,
            kind: convert::card_kind(&kind)?,
            status: convert::card_status(&status)?,
            member_id: member_id.map(MemberId::new),
            bound_at: bound_at.map(time),
        })
    })())
}

pub(crate) fn member_where(
    conn: &Connection,
    clause: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Option<Member>> {
    let sql = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE {clause}");
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    optional(stmt.query_row(params, member_from_row))?.transpose()
}

/// Posts a credit from a system account to a member's account, with its lot.
pub(crate) fn post_credit(
    conn: &Connection,
    member: MemberId,
    account: i64,
    credit: &Credit,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let amount = credit.lot.points.get();
    let transfer = post(
        conn,
        &Movement {
            debit: system_account(conn, credit.from)?,
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
    )?;
    add_lot(
        conn,
        member,
        transfer,
        amount,
        credit.lot.earned_at,
        credit.lot.expires_at,
        credit.lot.earned_at,
    )?;
    Ok(transfer)
}

#[async_trait]
impl Members for SqliteStore {
    async fn register(&self, r: Registration) -> StoreResult<(Member, Card)> {
        self.write(move |tx| {
            let at = micros(r.at);
            let password_hash = match &r.enrolment {
                Enrolment::Online {
                    registration_token_hash,
                    password_hash,
                } => {
                    let consumed = tx
                        .prepare_cached(
                            "UPDATE sessions SET revoked_at = ?2 WHERE token_hash = ?1 AND kind = 'registration' \
                             AND revoked_at IS NULL AND expires_at > ?2 AND phone = ?3",
                        )
                        .and_then(|mut s| s.execute(params![registration_token_hash, at, r.phone.as_str()]))
                        .map_err(backend)?;
                    if consumed != 1 {
                        return Err(StoreError::NotFound);
                    }
                    Some(password_hash.clone())
                }
                Enrolment::PaperForm { .. } => None,
            };
            let p = &r.profile;
            tx.prepare_cached(
                "INSERT INTO members (phone, password_hash, last_name, first_name, gender, birth_date, city, email, \
                 favourite_store_id, favourite_category_id, favourite_category_set_at, consent_personal_data, \
                 consent_newsletters, consent_version, consent_at, created_at, name_key, city_key) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?11, ?16, ?17)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    r.phone.as_str(),
                    password_hash,
                    p.last_name,
                    p.first_name,
                    p.gender.map(Gender::as_str),
                    p.birth_date.map(|d| d.to_string()),
                    p.city,
                    p.email,
                    p.favourite_store_id.map(|id| id.get()),
                    p.favourite_category_id,
                    at,
                    r.consents.personal_data,
                    r.consents.newsletters,
                    r.consents.version,
                    micros(r.consents.recorded_at),
                    p.name_key(),
                    p.city_key(),
                ])
            })
            .map_err(backend)?;
            let member = tx.last_insert_rowid();
            log_consents(tx, MemberId::new(member), &r.consents)?;
            match &r.enrolment {
                Enrolment::Online { .. } => {
                    tx.prepare_cached(
                        "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES (?1, ?2, 'active', ?3, ?4, ?4)",
                    )
                    .and_then(|mut s| s.execute(params![r.card.as_str(), r.card_kind.as_str(), member, at]))
                    .map_err(backend)?;
                }
                Enrolment::PaperForm { audit } => {
                    crate::cards::bind_unbound(tx, MemberId::new(member), r.card.as_str(), r.at)?;
                    let mut audit = audit.clone();
                    audit.subject.push_str(&member.to_string());
                    crate::catalog::insert_audit(tx, &audit)?;
                }
            }
            tx.prepare_cached("INSERT INTO accounts (member_id, created_at) VALUES (?1, ?2)")
                .and_then(|mut s| s.execute(params![member, at]))
                .map_err(backend)?;
            let account = tx.last_insert_rowid();
            post_credit(tx, MemberId::new(member), account, &r.welcome, r.at)?;
            let member = member_where(tx, "m.id = ?1", [&member])?.ok_or(StoreError::NotFound)?;
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
        self.read(move |c| member_where(c, "m.id = ?1 AND m.deleted_at IS NULL", [id.get()]))
            .await
    }

    async fn member_by_phone(&self, phone: &Phone) -> StoreResult<Option<Member>> {
        let phone = phone.as_str().to_owned();
        self.read(move |c| member_where(c, "m.phone = ?1", [&phone]))
            .await
    }

    async fn member_by_card(&self, number: &CardNumber) -> StoreResult<Option<(Member, Card)>> {
        let number = number.as_str().to_owned();
        self.read(move |c| card_holder(c, &number)).await
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
        // made for both ("?1 IS NULL OR …") reads the whole table. A name's page starts at
        // the cursor, or at the prefix: one lower bound, so the index is entered there.
        let (first, second, sql) = match (range, exact) {
            (Some((low, high)), _) => {
                let (key, id) = if key < low { (low, 0) } else { (key, id) };
                (
                    (key, id),
                    Some(high),
                    format!(
                        "SELECT {MEMBER_COLUMNS} FROM members m \
                         WHERE (m.name_key, m.id) > (?1, ?2) AND m.name_key < ?3 \
                         AND m.deleted_at IS NULL ORDER BY m.name_key, m.id LIMIT ?4"
                    ),
                )
            }
            (None, exact) => (
                (key, id),
                exact,
                format!(
                    "SELECT {MEMBER_COLUMNS} FROM members m \
                     WHERE (coalesce(m.name_key, ''), m.id) > (?1, ?2) AND m.email = ?3 \
                     AND m.deleted_at IS NULL ORDER BY coalesce(m.name_key, ''), m.id LIMIT ?4"
                ),
            ),
        };
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(params![first.0, first.1, second, limit], member_from_row)
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)?).collect()
        })
        .await
    }

    async fn password_hash(&self, id: MemberId) -> StoreResult<Option<String>> {
        self.read(move |c| {
            Ok(optional(
                c.prepare_cached("SELECT password_hash FROM members WHERE id = ?1")
                    .and_then(|mut s| s.query_row([id.get()], |r| r.get::<_, Option<String>>(0))),
            )?
            .flatten())
        })
        .await
    }

    async fn set_password(&self, id: MemberId, password_hash: &str) -> StoreResult<()> {
        let hash = password_hash.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE members SET password_hash = ?2 WHERE id = ?1 AND deleted_at IS NULL",
                    params![id.get(), hash],
                )
                .map_err(backend)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::NotFound)
            }
        })
        .await
    }

    async fn update_profile(
        &self,
        id: MemberId,
        p: &Profile,
        consents: &Consents,
    ) -> StoreResult<Member> {
        let p = p.clone();
        let consents = consents.clone();
        self.write(move |tx| {
            // A deleted account takes no personal data again (a request that began before
            // the deletion): its session is gone, so the caller hears 401.
            let before = member_where(tx, "m.id = ?1 AND m.deleted_at IS NULL", [id.get()])?
                .ok_or(StoreError::Rule(DomainError::Unauthorized))?;
            tx.execute(
                "UPDATE members SET last_name = ?2, first_name = ?3, gender = ?4, birth_date = ?5, city = ?6, email = ?7, \
                 favourite_store_id = ?8, consent_personal_data = ?9, consent_newsletters = ?10, consent_version = ?11, \
                 consent_at = ?12, name_key = ?13, city_key = ?14 WHERE id = ?1",
                params![
                    id.get(),
                    p.last_name,
                    p.first_name,
                    p.gender.map(Gender::as_str),
                    p.birth_date.map(|d| d.to_string()),
                    p.city,
                    p.email,
                    p.favourite_store_id.map(|id| id.get()),
                    consents.personal_data,
                    consents.newsletters,
                    consents.version,
                    micros(consents.recorded_at),
                    p.name_key(),
                    p.city_key(),
                ],
            )
            .map_err(backend)?;
            if before.consents != consents {
                log_consents(tx, id, &consents)?;
            }
            member_where(tx, "m.id = ?1", [id.get()])?.ok_or(StoreError::NotFound)
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
        self.write(move |tx| {
            let n = tx
                .execute(
                    "UPDATE members SET favourite_category_id = ?2, favourite_category_set_at = ?3 \
                     WHERE id = ?1 AND (favourite_category_set_at IS NULL OR favourite_category_set_at < ?4)",
                    params![id.get(), category, micros(at), micros(locked_since)],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn cards(&self, member: MemberId) -> StoreResult<Vec<Card>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT number, kind, status, member_id, bound_at FROM cards WHERE member_id = ?1 \
                     ORDER BY status = 'active' DESC, bound_at DESC",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([member.get()], |r| card_from_row(r, 0))
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend)?).collect()
        })
        .await
    }

    async fn import_members(
        &self,
        members: Vec<ImportedMember>,
    ) -> StoreResult<Vec<(MemberId, Option<CardNumber>)>> {
        // Every id written below is one this job just inserted, or a system account's.
        self.write_with_references_read(move |tx| {
            let mut added = Vec::with_capacity(members.len());
            for m in &members {
                let p = &m.profile;
                let at = micros(m.at);
                let id: Option<i64> = tx
                    .prepare_cached(
                        "INSERT INTO members (phone, last_name, first_name, gender, birth_date, city, favourite_category_id, \
                         favourite_category_set_at, consent_personal_data, consent_newsletters, consent_version, consent_at, created_at, name_key, city_key) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?8, ?13, ?14) ON CONFLICT (phone) DO NOTHING RETURNING id",
                    )
                    .and_then(|mut s| {
                        s.query_row(
                            params![
                                m.phone.as_str(),
                                p.last_name,
                                p.first_name,
                                p.gender.map(Gender::as_str),
                                p.birth_date.map(|d| d.to_string()),
                                p.city,
                                p.favourite_category_id,
                                at,
                                m.consents.personal_data,
                                m.consents.newsletters,
                                m.consents.version,
                                micros(m.consents.recorded_at),
                                p.name_key(),
                                p.city_key(),
                            ],
                            |r| r.get(0),
                        )
                        .optional()
                    })
                    .map_err(backend)?;
                let Some(id) = id else { continue };
                log_consents(tx, MemberId::new(id), &m.consents)?;
                let carded = tx
                    .prepare_cached(
                        "INSERT INTO cards (number, kind, status, member_id, created_at, bound_at) VALUES (?1, ?2, 'active', ?3, ?4, ?4) \
                         ON CONFLICT DO NOTHING",
                    )
                    .and_then(|mut s| s.execute(params![m.card.as_str(), m.card_kind.as_str(), id, at]))
                    .map_err(backend)?;
                tx.prepare_cached("INSERT INTO accounts (member_id, created_at) VALUES (?1, ?2)")
                    .and_then(|mut s| s.execute(params![id, at]))
                    .map_err(backend)?;
                let account = tx.last_insert_rowid();
                post_credit(tx, MemberId::new(id), account, &m.welcome, m.at)?;
                added.push((MemberId::new(id), (carded == 1).then(|| m.card.clone())));
            }
            Ok(added)
        })
        .await
    }

    async fn member_count(&self) -> StoreResult<i64> {
        self.read(|c| {
            c.query_row("SELECT COUNT(*) FROM members", [], |r| r.get(0))
                .map_err(backend)
        })
        .await
    }

    async fn refresh_statistics(&self) -> StoreResult<()> {
        // Nothing to refresh: without `sqlite_stat1` SQLite plans by its own heuristics, which
        // already prefer the indexes every query here is written for, at any table size.
        Ok(())
    }

    async fn member_records(&self, member: MemberId) -> StoreResult<MemberRecords> {
        crate::privacy::member_records(self, member).await
    }

    async fn erase_member(&self, erasure: Erasure) -> StoreResult<Erased> {
        crate::privacy::erase_member(self, erasure).await
    }
}

pub(crate) fn log_consents(tx: &Connection, member: MemberId, c: &Consents) -> StoreResult<()> {
    tx.prepare_cached(
        "INSERT INTO consent_log (member_id, personal_data, newsletters, version, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![member.get(), c.personal_data, c.newsletters, c.version, micros(c.recorded_at)]))
    .map_err(backend)?;
    Ok(())
}

/// The member a bound card belongs to, with the card.
pub(crate) fn card_holder(c: &Connection, number: &str) -> StoreResult<Option<(Member, Card)>> {
    let card = c
        .prepare_cached(
            "SELECT number, kind, status, member_id, bound_at FROM cards WHERE number = ?1",
        )
        .and_then(|mut s| s.query_row([number], |r| card_from_row(r, 0)).optional())
        .map_err(backend)?
        .transpose()?;
    let Some(card) = card else { return Ok(None) };
    let Some(member_id) = card.member_id else {
        return Ok(None);
    };
    Ok(member_where(c, "m.id = ?1", [member_id.get()])?.map(|m| (m, card)))
}

/// Fills in the search keys of rows written before they were kept (name keys: migration 12,
/// city keys: 15), a batch at a time: the keys are Rust's (`Profile::name_key`, `city_key`),
/// which SQLite's ASCII-only `lower` could not compute. How many keys it filled.
pub(crate) fn fill_search_keys(conn: &Connection) -> StoreResult<u64> {
    const BATCH: usize = 10_000;
    type Row = (i64, Option<String>, Option<String>);
    /// Which rows lack the key, what to read of them, how the key is made, where it goes.
    type KeyFill = (&'static str, &'static str, fn(&Row) -> String, &'static str);
    let mut filled = 0;
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
            "city, NULL",
            |(_, city, _)| kopilka_domain::member::city_key(city.as_deref().unwrap_or_default()),
            "city_key",
        ),
    ];
    for (which, read, key_of, column) in keys {
        loop {
            let rows: Vec<Row> = conn
                .prepare(&format!(
                    "SELECT id, {read} FROM members WHERE {which} LIMIT ?1"
                ))
                .and_then(|mut s| {
                    s.query_map([BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect()
                })
                .map_err(backend)?;
            if rows.is_empty() {
                break;
            }
            let tx = conn.unchecked_transaction().map_err(backend)?;
            for row in &rows {
                tx.prepare_cached(&format!("UPDATE members SET {column} = ?2 WHERE id = ?1"))
                    .and_then(|mut s| s.execute(params![row.0, key_of(row)]))
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            filled += rows.len() as u64;
        }
    }
    Ok(filled)
}
