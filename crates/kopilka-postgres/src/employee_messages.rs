use crate::{db, detached, PostgresStore};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::employee::{Department, EmployeeId, MessageAuthor, RequestId};
use kopilka_domain::staff::StaffId;
use kopilka_store::employee_messages::{EmployeeMessages, NewThread, Thread, ThreadMessage};
use kopilka_store::{StoreError, StoreResult};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

const THREAD_COLUMNS: &str = "id, employee_id, department, subject, request_id, \
     unread_by_employee, unread_by_staff, created_at, updated_at";
const MESSAGE_COLUMNS: &str = "id, thread_id, author, staff_id, body, at";

fn unknown(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("unknown {what} {value:?}"))
}

fn thread_row(r: &PgRow) -> StoreResult<Thread> {
    let department: String = r.try_get(2).map_err(db)?;
    let count = |i: usize| -> StoreResult<u32> {
        Ok(u32::try_from(r.try_get::<i32, _>(i).map_err(db)?).unwrap_or(0))
    };
    Ok(Thread {
        id: r.try_get(0).map_err(db)?,
        employee_id: EmployeeId::new(r.try_get(1).map_err(db)?),
        department: Department::parse(&department)
            .ok_or_else(|| unknown("department", &department))?,
        subject: r.try_get(3).map_err(db)?,
        request_id: r
            .try_get::<Option<i64>, _>(4)
            .map_err(db)?
            .map(RequestId::new),
        unread_by_employee: count(5)?,
        unread_by_staff: count(6)?,
        created_at: r.try_get(7).map_err(db)?,
        updated_at: r.try_get(8).map_err(db)?,
    })
}

fn message_row(r: &PgRow) -> StoreResult<ThreadMessage> {
    let author: String = r.try_get(2).map_err(db)?;
    Ok(ThreadMessage {
        id: r.try_get(0).map_err(db)?,
        thread_id: r.try_get(1).map_err(db)?,
        author: MessageAuthor::parse(&author).ok_or_else(|| unknown("author", &author))?,
        staff_id: r
            .try_get::<Option<i64>, _>(3)
            .map_err(db)?
            .map(StaffId::new),
        body: r.try_get(4).map_err(db)?,
        at: r.try_get(5).map_err(db)?,
    })
}

async fn insert_message(
    tx: &mut PgConnection,
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
    let changed = sqlx::query(
        "UPDATE employee_threads SET unread_by_employee = unread_by_employee + $2, \
         unread_by_staff = unread_by_staff + $3, updated_at = $4 WHERE id = $1",
    )
    .bind(thread)
    .bind(employee)
    .bind(staff)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db)?
    .rows_affected();
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    let row = sqlx::query(&format!(
        "INSERT INTO employee_messages (thread_id, author, staff_id, body, at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {MESSAGE_COLUMNS}"
    ))
    .bind(thread)
    .bind(author.as_str())
    .bind(staff_id)
    .bind(body)
    .bind(at)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    message_row(&row)
}

#[async_trait]
impl EmployeeMessages for PostgresStore {
    async fn create_thread(&self, t: NewThread) -> StoreResult<Thread> {
        let pool = self.pool.clone();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO employee_threads (employee_id, department, subject, request_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
            )
            .bind(t.employee_id.get())
            .bind(t.department.as_str())
            .bind(&t.subject)
            .bind(t.request_id.map(RequestId::get))
            .bind(t.at)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            insert_message(&mut tx, id, MessageAuthor::Employee, None, &t.body, t.at).await?;
            let row = sqlx::query(&format!(
                "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE id = $1"
            ))
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)?;
            thread_row(&row)
        })
        .await
    }

    async fn thread(&self, id: i64) -> StoreResult<Option<Thread>> {
        let row = sqlx::query(&format!(
            "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(thread_row).transpose()
    }

    async fn employee_threads(&self, employee: EmployeeId) -> StoreResult<Vec<Thread>> {
        sqlx::query(&format!(
            "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE employee_id = $1 \
             ORDER BY updated_at DESC, id DESC"
        ))
        .bind(employee.get())
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(thread_row)
        .collect()
    }

    async fn department_threads(&self, departments: &[Department]) -> StoreResult<Vec<Thread>> {
        let names: Vec<&str> = departments.iter().map(|d| d.as_str()).collect();
        sqlx::query(&format!(
            "SELECT {THREAD_COLUMNS} FROM employee_threads WHERE department = ANY($1) \
             ORDER BY updated_at DESC, id DESC"
        ))
        .bind(&names)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(thread_row)
        .collect()
    }

    async fn thread_messages(&self, thread: i64) -> StoreResult<Vec<ThreadMessage>> {
        sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM employee_messages WHERE thread_id = $1 ORDER BY id"
        ))
        .bind(thread)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(message_row)
        .collect()
    }

    async fn add_thread_message(
        &self,
        thread: i64,
        author: MessageAuthor,
        staff_id: Option<StaffId>,
        body: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ThreadMessage> {
        let pool = self.pool.clone();
        let body = body.to_owned();
        detached(async move {
            let mut tx = pool.begin().await.map_err(db)?;
            let message = insert_message(
                &mut tx,
                thread,
                author,
                staff_id.map(|id| id.get()),
                &body,
                at,
            )
            .await?;
            tx.commit().await.map_err(db)?;
            Ok(message)
        })
        .await
    }

    async fn mark_thread_read(&self, thread: i64, reader: MessageAuthor) -> StoreResult<()> {
        let sql = match reader {
            MessageAuthor::Employee => {
                "UPDATE employee_threads SET unread_by_employee = 0 WHERE id = $1 AND unread_by_employee <> 0"
            }
            MessageAuthor::Staff => {
                "UPDATE employee_threads SET unread_by_staff = 0 WHERE id = $1 AND unread_by_staff <> 0"
            }
        };
        sqlx::query(sql)
            .bind(thread)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }
}
