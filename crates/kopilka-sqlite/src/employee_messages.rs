use crate::{backend, micros, optional, time, SqliteStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::employee::{Department, EmployeeId, MessageAuthor, RequestId};
use kopilka_domain::staff::StaffId;
use kopilka_store::employee_messages::{EmployeeMessages, NewThread, Thread, ThreadMessage};
use kopilka_store::{StoreError, StoreResult};
use rusqlite::{params, Connection, Row};

const THREAD_COLUMNS: &str = "id, employee_id, department, subject, request_id, \
     unread_by_employee, unread_by_staff, created_at, updated_at";
const MESSAGE_COLUMNS: &str = "id, thread_id, author, staff_id, body, at";

fn unknown(what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        format!("unknown {what} {value:?}").into(),
    )
}

fn thread_row(r: &Row<'_>) -> rusqlite::Result<Thread> {
    let department: String = r.get(2)?;
    Ok(Thread {
        id: r.get(0)?,
        employee_id: EmployeeId::new(r.get(1)?),
        department: Department::parse(&department)
            .ok_or_else(|| unknown("department", &department))?,
        subject: r.get(3)?,
        request_id: r.get::<_, Option<i64>>(4)?.map(RequestId::new),
        unread_by_employee: r.get(5)?,
        unread_by_staff: r.get(6)?,
        created_at: time(r.get(7)?),
        updated_at: time(r.get(8)?),
    })
}

fn message_row(r: &Row<'_>) -> rusqlite::Result<ThreadMessage> {
    let author: String = r.get(2)?;
    Ok(ThreadMessage {
        id: r.get(0)?,
        thread_id: r.get(1)?,
        author: MessageAuthor::parse(&author).ok_or_else(|| unknown("author", &author))?,
        staff_id: r.get::<_, Option<i64>>(3)?.map(StaffId::new),
        body: r.get(4)?,
        at: time(r.get(5)?),
    })
}

fn insert_message(
    tx: &Connection,
    thread: i64,
    author: MessageAuthor,
    staff_id: Option<i64>,
    body: &str,
    at: DateTime<Utc>,
) -> StoreResult<ThreadMessage> {
    // The other side has one more to read.
    let (employee, staff) = match author {
        MessageAuthor::Employee => (0, 1),
        MessageAuthor::Staff => (1, 0),
    };
    let changed = tx
        .prepare_cached(
            "UPDATE employee_threads SET unread_by_employee = unread_by_employee + ?2, \
             unread_by_staff = unread_by_staff + ?3, updated_at = ?4 WHERE id = ?1",
        )
        .and_then(|mut s| s.execute(params![thread, employee, staff, micros(at)]))
        .map_err(backend)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    tx.prepare_cached(&format!(
        "INSERT INTO employee_messages (thread_id, author, staff_id, body, at) VALUES (?1, ?2, ?3, ?4, ?5) \
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .and_then(|mut s| {
        s.query_row(
            params![thread, author.as_str(), staff_id, body, micros(at)],
            message_row,
        )
    })
    .map_err(backend)
}

fn threads(c: &Connection, sql: &str, args: &[&dyn rusqlite::ToSql]) -> StoreResult<Vec<Thread>> {
    let mut stmt = c.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(args, thread_row).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

#[async_trait]
impl EmployeeMessages for SqliteStore {
    async fn create_thread(&self, t: NewThread) -> StoreResult<Thread> {
        self.write(move |tx| {
            let id: i64 = tx
                .prepare_cached(
                    "INSERT INTO employee_threads (employee_id, department, subject, request_id, created_at, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5) RETURNING id",
                )
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            t.employee_id.get(),
                            t.department.as_str(),
                            t.subject,
                            t.request_id.map(RequestId::get),
                            micros(t.at)
                        ],
                        |r| r.get(0),
                    )
                })
                .map_err(backend)?;
            insert_message(tx, id, MessageAuthor::Employee, None, &t.body, t.at)?;
            tx.prepare_cached(&format!("SELECT {THREAD_COLUMNS} FROM employee_threads WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], thread_row))
                .map_err(backend)
        })
        .await
    }

    async fn thread(&self, id: i64) -> StoreResult<Option<Thread>> {
        self.read(move |c| {
            optional(
                c.prepare_cached(&format!(
                    "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE id = ?1"
                ))
                .and_then(|mut s| s.query_row([id], thread_row)),
            )
        })
        .await
    }

    async fn employee_threads(&self, employee: EmployeeId) -> StoreResult<Vec<Thread>> {
        self.read(move |c| {
            threads(
                c,
                &format!(
                    "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE employee_id = ?1 \
                     ORDER BY updated_at DESC, id DESC"
                ),
                &[&employee.get()],
            )
        })
        .await
    }

    async fn department_threads(&self, departments: &[Department]) -> StoreResult<Vec<Thread>> {
        let mut names: Vec<&'static str> = departments.iter().map(|d| d.as_str()).collect();
        // A department named twice is listed once, as PostgreSQL's `= ANY` does.
        names.sort_unstable();
        names.dedup();
        self.read(move |c| {
            // Three departments at most: one placeholder each.
            let mut all = Vec::new();
            for name in names {
                all.extend(threads(
                    c,
                    &format!("SELECT {THREAD_COLUMNS} FROM employee_threads WHERE department = ?1"),
                    &[&name],
                )?);
            }
            all.sort_by_key(|t| std::cmp::Reverse((t.updated_at, t.id)));
            Ok(all)
        })
        .await
    }

    async fn thread_messages(&self, thread: i64) -> StoreResult<Vec<ThreadMessage>> {
        self.read(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM employee_messages WHERE thread_id = ?1 ORDER BY id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([thread], message_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn add_thread_message(
        &self,
        thread: i64,
        author: MessageAuthor,
        staff_id: Option<StaffId>,
        body: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ThreadMessage> {
        let body = body.to_owned();
        self.write(move |tx| {
            insert_message(tx, thread, author, staff_id.map(|id| id.get()), &body, at)
        })
        .await
    }

    async fn mark_thread_read(&self, thread: i64, reader: MessageAuthor) -> StoreResult<()> {
        let sql = match reader {
            MessageAuthor::Employee => {
                "UPDATE employee_threads SET unread_by_employee = 0 WHERE id = ?1 AND unread_by_employee <> 0"
            }
            MessageAuthor::Staff => {
                "UPDATE employee_threads SET unread_by_staff = 0 WHERE id = ?1 AND unread_by_staff <> 0"
            }
        };
        self.write(move |tx| {
            tx.prepare_cached(sql)
                .and_then(|mut s| s.execute([thread]))
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
