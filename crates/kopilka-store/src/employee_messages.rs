//! Employees' messages to HR, accounting and administration (SPEC §6.3): threads, answers, and
//! what each side has not read yet.

use crate::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use kopilka_domain::employee::{Department, EmployeeId, MessageAuthor, RequestId};
use kopilka_domain::staff::StaffId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub id: i64,
    pub employee_id: EmployeeId,
    pub department: Department,
    pub subject: String,
    /// The document request it is about, if any.
    pub request_id: Option<RequestId>,
    /// Messages from staff the employee has not opened.
    pub unread_by_employee: u32,
    /// Messages from the employee the department has not opened.
    pub unread_by_staff: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewThread {
    pub employee_id: EmployeeId,
    pub department: Department,
    pub subject: String,
    pub request_id: Option<RequestId>,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadMessage {
    pub id: i64,
    pub thread_id: i64,
    pub author: MessageAuthor,
    pub staff_id: Option<StaffId>,
    pub body: String,
    pub at: DateTime<Utc>,
}

#[async_trait]
pub trait EmployeeMessages: Send + Sync {
    /// The thread with its first message, unread by staff.
    async fn create_thread(&self, thread: NewThread) -> StoreResult<Thread>;
    async fn thread(&self, id: i64) -> StoreResult<Option<Thread>>;
    /// One employee's threads, latest activity first.
    async fn employee_threads(&self, employee: EmployeeId) -> StoreResult<Vec<Thread>>;
    /// The threads of these departments, latest activity first.
    async fn department_threads(&self, departments: &[Department]) -> StoreResult<Vec<Thread>>;
    /// Oldest first.
    async fn thread_messages(&self, thread: i64) -> StoreResult<Vec<ThreadMessage>>;
    /// Adds a message, unread by the other side; `NotFound` without the thread.
    async fn add_thread_message(
        &self,
        thread: i64,
        author: MessageAuthor,
        staff_id: Option<StaffId>,
        body: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ThreadMessage>;
    /// The reader's side has read everything in the thread.
    async fn mark_thread_read(&self, thread: i64, reader: MessageAuthor) -> StoreResult<()>;
}
