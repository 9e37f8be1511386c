//! Employees write to HR, accounting or administration, about a request or anything else, and
//! the staff of that department answer (SPEC §6.3). Each side sees what it has not read.

use crate::employees::EmployeeSession;
use crate::staff::authorize_roles;
use crate::{Kopilka, ServiceResult};
use kopilka_domain::employee::{Department, MessageAuthor, RequestId};
use kopilka_domain::support::{parse_body, parse_subject};
use kopilka_domain::{DomainError, Validation};
use kopilka_store::employee_messages::{NewThread, Thread, ThreadMessage};
use kopilka_store::StaffMember;

/// A message to a department, as the employee typed it.
#[derive(Debug, Clone, Default)]
pub struct MessageInput<'a> {
    pub department: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub request_id: Option<i64>,
}

/// The departments whose messages a staff member answers.
pub fn departments_of(staff: &StaffMember) -> Vec<Department> {
    Department::ALL
        .into_iter()
        .filter(|d| authorize_roles(staff, d.answered_by()).is_ok())
        .collect()
}

impl Kopilka {
    /// Starts a thread with a department; about one of the employee's own requests, if given.
    pub async fn write_to_department(
        &self,
        session: &EmployeeSession,
        input: &MessageInput<'_>,
    ) -> ServiceResult<Thread> {
        let mut v = Validation::default();
        let department = v.check(
            "department",
            Department::parse(input.department).ok_or("department_invalid"),
        );
        let subject = v.check("subject", parse_subject(input.subject));
        let body = v.check("body", parse_body(input.body));
        let request_id = match input.request_id {
            Some(id) => {
                let own = self
                    .store()
                    .document_request(RequestId::new(id))
                    .await?
                    .filter(|r| r.employee_id == session.employee.id);
                if own.is_none() {
                    v.add("request_id", "request_unknown");
                }
                Some(RequestId::new(id))
            }
            None => None,
        };
        let (Some(department), Some(subject), Some(body), true) =
            (department, subject, body, v.is_ok())
        else {
            return Err(v.into_error().into());
        };
        let thread = self
            .store()
            .create_thread(NewThread {
                employee_id: session.employee.id,
                department,
                subject,
                request_id,
                body,
                at: self.now(),
            })
            .await?;
        tracing::info!(
            thread_id = thread.id,
            department = department.as_str(),
            "employee wrote"
        );
        Ok(thread)
    }

    pub async fn employee_threads(&self, session: &EmployeeSession) -> ServiceResult<Vec<Thread>> {
        Ok(self.store().employee_threads(session.employee.id).await?)
    }

    async fn own_thread(&self, session: &EmployeeSession, id: i64) -> ServiceResult<Thread> {
        self.store()
            .thread(id)
            .await?
            .filter(|t| t.employee_id == session.employee.id)
            .ok_or_else(|| DomainError::NotFound("thread").into())
    }

    /// One of the employee's threads with its messages; opening it reads the answers.
    pub async fn employee_thread(
        &self,
        session: &EmployeeSession,
        id: i64,
    ) -> ServiceResult<(Thread, Vec<ThreadMessage>)> {
        let mut thread = self.own_thread(session, id).await?;
        let messages = self.store().thread_messages(id).await?;
        if thread.unread_by_employee > 0 {
            self.store()
                .mark_thread_read(id, MessageAuthor::Employee)
                .await?;
            thread.unread_by_employee = 0;
        }
        Ok((thread, messages))
    }

    pub async fn employee_reply(
        &self,
        session: &EmployeeSession,
        id: i64,
        body: &str,
    ) -> ServiceResult<ThreadMessage> {
        let body = parse_body(body).map_err(|m| DomainError::field("body", m))?;
        self.own_thread(session, id).await?;
        Ok(self
            .store()
            .add_thread_message(id, MessageAuthor::Employee, None, &body, self.now())
            .await?)
    }

    /// The threads of the departments the staff member answers, latest activity first.
    pub async fn department_threads(&self, staff: &StaffMember) -> ServiceResult<Vec<Thread>> {
        let departments = departments_of(staff);
        if departments.is_empty() {
            return Err(DomainError::Forbidden.into());
        }
        Ok(self.store().department_threads(&departments).await?)
    }

    async fn department_thread_of(&self, staff: &StaffMember, id: i64) -> ServiceResult<Thread> {
        let thread = self
            .store()
            .thread(id)
            .await?
            .ok_or(DomainError::NotFound("thread"))?;
        authorize_roles(staff, thread.department.answered_by())?;
        Ok(thread)
    }

    /// A thread for its department's staff; opening it reads the employee's messages.
    pub async fn department_thread(
        &self,
        staff: &StaffMember,
        id: i64,
    ) -> ServiceResult<(Thread, Vec<ThreadMessage>)> {
        let mut thread = self.department_thread_of(staff, id).await?;
        let messages = self.store().thread_messages(id).await?;
        if thread.unread_by_staff > 0 {
            self.store()
                .mark_thread_read(id, MessageAuthor::Staff)
                .await?;
            thread.unread_by_staff = 0;
        }
        Ok((thread, messages))
    }

    /// The employee a department's thread is from: for the staff who answer it.
    pub async fn employee_for_staff(
        &self,
        staff: &StaffMember,
        id: kopilka_domain::employee::EmployeeId,
    ) -> ServiceResult<kopilka_store::employees::Employee> {
        if departments_of(staff).is_empty() {
            return Err(DomainError::Forbidden.into());
        }
        Ok(self
            .store()
            .employee(id)
            .await?
            .ok_or(DomainError::NotFound("employee"))?)
    }

    pub async fn department_reply(
        &self,
        staff: &StaffMember,
        id: i64,
        body: &str,
    ) -> ServiceResult<ThreadMessage> {
        let body = parse_body(body).map_err(|m| DomainError::field("body", m))?;
        self.department_thread_of(staff, id).await?;
        Ok(self
            .store()
            .add_thread_message(id, MessageAuthor::Staff, Some(staff.id), &body, self.now())
            .await?)
    }
}
