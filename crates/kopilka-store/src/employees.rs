//! Employees' accounts, their payroll and the documents they order (SPEC §6).

use crate::{NewAuditEntry, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::employee::{DocumentOrder, DocumentType, EmployeeId, RequestId, RequestStatus};
use kopilka_domain::member::StoreId;
use kopilka_domain::payroll::{MonthPay, YearMonth};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub id: EmployeeId,
    pub login: String,
    pub full_name: String,
    pub position: String,
    pub store_id: StoreId,
    pub hired_on: NaiveDate,
    /// A temporary password, issued by HR: nothing but changing it is allowed.
    pub must_change_password: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewEmployee {
    pub login: String,
    pub full_name: String,
    pub position: String,
    pub store_id: StoreId,
    pub hired_on: NaiveDate,
    pub password_hash: String,
    pub at: DateTime<Utc>,
}

/// A document made for a request: printed number, the code a bank checks it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedDocument {
    pub number: String,
    pub verify_code: String,
    pub issued_on: NaiveDate,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRequest {
    pub id: RequestId,
    pub employee_id: EmployeeId,
    pub order: DocumentOrder,
    pub status: RequestStatus,
    /// The last day the law allows for it.
    pub due_on: NaiveDate,
    pub reject_reason: Option<String>,
    pub document: Option<IssuedDocument>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewDocumentRequest {
    pub employee_id: EmployeeId,
    pub order: DocumentOrder,
    pub due_on: NaiveDate,
    pub at: DateTime<Utc>,
}

/// One step of a request's life, kept for who did what and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    pub status: RequestStatus,
    /// `employee:<id>`, `staff:<id>` or `system`.
    pub actor: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// A request moved on, if it is still in `from`: two HR officers acting at once cannot both
/// succeed. The document, when one is made, is stored in the same transaction.
#[derive(Debug, Clone)]
pub struct RequestMove {
    pub id: RequestId,
    pub from: RequestStatus,
    pub to: RequestStatus,
    pub actor: String,
    pub reason: Option<String>,
    pub document: Option<(IssuedDocument, Vec<u8>)>,
    pub at: DateTime<Utc>,
    pub audit: Option<NewAuditEntry>,
}

/// What the public verification page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDocument {
    pub request_id: RequestId,
    pub kind: DocumentType,
    pub number: String,
    pub issued_on: NaiveDate,
    pub employee_name: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait Employees: Send + Sync {
    /// `Conflict("login")` if the login is taken; the audit row in the same transaction, its
    /// subject completed with the new id.
    async fn create_employee(
        &self,
        employee: NewEmployee,
        audit: NewAuditEntry,
    ) -> StoreResult<Employee>;
    /// The employee and their password hash.
    async fn employee_by_login(&self, login: &str) -> StoreResult<Option<(Employee, String)>>;
    async fn employee(&self, id: EmployeeId) -> StoreResult<Option<Employee>>;
    /// Everyone, by name.
    async fn employees(&self) -> StoreResult<Vec<Employee>>;
    /// A new password hash, temporary or the employee's own; every session of theirs ends
    /// except the one whose token hash is `keep_session`. False if no such employee.
    async fn set_employee_password(
        &self,
        id: EmployeeId,
        password_hash: &str,
        must_change: bool,
        keep_session: Option<&str>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool>;
    /// No more sign-ins; every session ends. False if no such employee or already so.
    async fn deactivate_employee(
        &self,
        id: EmployeeId,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool>;

    /// Replaces every month the rows name with the rows, in one transaction.
    async fn import_payroll(
        &self,
        rows: Vec<(EmployeeId, MonthPay)>,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<u64>;
    /// The employee's months from `from` to `to`, oldest first; months without pay are absent.
    async fn payroll(
        &self,
        employee: EmployeeId,
        from: YearMonth,
        to: YearMonth,
    ) -> StoreResult<Vec<MonthPay>>;

    /// The request with its first event (`submitted`, by the employee).
    async fn create_document_request(
        &self,
        request: NewDocumentRequest,
    ) -> StoreResult<DocumentRequest>;
    async fn document_request(&self, id: RequestId) -> StoreResult<Option<DocumentRequest>>;
    /// One employee's requests, newest first.
    async fn employee_requests(&self, employee: EmployeeId) -> StoreResult<Vec<DocumentRequest>>;
    /// HR's queue: requests still open, the earliest deadline first.
    async fn open_requests(&self) -> StoreResult<Vec<DocumentRequest>>;
    /// Oldest first.
    async fn request_events(&self, id: RequestId) -> StoreResult<Vec<RequestEvent>>;
    /// False if the request is no longer in `from` (or does not exist).
    async fn move_document_request(&self, change: RequestMove) -> StoreResult<bool>;
    async fn document_pdf(&self, id: RequestId) -> StoreResult<Option<Vec<u8>>>;
    async fn document_by_code(&self, code: &str) -> StoreResult<Option<VerifiedDocument>>;
    /// False if there is no document or it was revoked already.
    async fn revoke_document(
        &self,
        id: RequestId,
        at: DateTime<Utc>,
        audit: NewAuditEntry,
    ) -> StoreResult<bool>;
    /// A check of a code on the public page, found or not: the log banks' checks leave.
    async fn record_document_check(
        &self,
        code: &str,
        found: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
}
