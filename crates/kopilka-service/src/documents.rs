//! Documents employees order (SPEC §6.2, §6.4): the request and its deadline, HR's queue, the
//! PDF made from the employee's and payroll data, and the public check of a printed code.

use crate::employees::EmployeeSession;
use crate::staff::{authorize, Actor};
use crate::{Kopilka, ServiceError, ServiceResult};
use chrono::{Datelike, NaiveDate};
use kopilka_documents as pdf;
use kopilka_domain::employee::{
    bounded_text, document_number, masked_name, DocumentOrder, DocumentType, OrderDetails,
    OrderInput, RequestId, RequestStatus, VerifyCode, WorkCalendar, REASON_MAX_CHARS,
};
use kopilka_domain::payroll::{MonthPay, YearMonth};
use kopilka_domain::staff::Permission;
use kopilka_domain::DomainError;
use kopilka_store::employees::{
    DocumentRequest, Employee, IssuedDocument, NewDocumentRequest, RequestEvent, RequestMove,
};
use kopilka_store::StaffMember;
use kopilka_text::Message;
use rand::rngs::OsRng;
use rand::RngCore;

/// Where documents come from and how fast they must be ready.
#[derive(Debug, Clone)]
pub struct DocumentRules {
    /// Art. 62 of the Labour Code: three working days.
    pub deadline_working_days: u32,
    pub calendar: WorkCalendar,
    /// Types made at once from the data when asked for, without waiting for HR.
    pub made_at_once: Vec<DocumentType>,
    /// The employer's requisites printed on every document.
    pub company: pdf::Company,
    /// The base of the verification link printed as a QR code.
    pub public_url: String,
}

impl Default for DocumentRules {
    fn default() -> Self {
        Self {
            deadline_working_days: 3,
            calendar: WorkCalendar::default(),
            made_at_once: vec![DocumentType::Payslip],
            company: pdf::Company {
                name: "ООО «Копилка»".to_owned(),
                inn: "7700000000".to_owned(),
                kpp: "770001001".to_owned(),
                ogrn: "1027700000000".to_owned(),
                address: "Москва".to_owned(),
                signatories: vec![],
            },
            public_url: "http://127.0.0.1:8080".to_owned(),
        }
    }
}

/// A document as the public page shows it to whoever holds its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub kind: DocumentType,
    pub number: String,
    pub issued_on: NaiveDate,
    /// Masked: enough to match the paper, too little to learn a name from a code.
    pub employee: String,
    pub valid: bool,
}

fn month(m: YearMonth) -> pdf::Month {
    pdf::Month {
        year: m.year(),
        month: m.month(),
    }
}

fn lines(
    lines: &[kopilka_domain::payroll::PayLine],
    names: &kopilka_text::Texts,
) -> Vec<pdf::PayLine> {
    lines
        .iter()
        .map(|l| {
            let key = format!("pay_code_{}", l.code);
            let name = names.get(&key);
            pdf::PayLine {
                code: l.code.clone(),
                name: if name == key {
                    l.code.clone()
                } else {
                    name.to_owned()
                },
                amount_kop: l.amount.get(),
            }
        })
        .collect()
}

fn missing(months: &[YearMonth]) -> ServiceError {
    let list = months
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    DomainError::field(
        "payroll",
        Message::new("payroll_missing").with("months", list),
    )
    .into()
}

impl Kopilka {
    fn document_rules(&self) -> &DocumentRules {
        &self.rules().documents
    }

    /// An employee orders a document. Types the settings make at once come back `ready`
    /// when the data is there; the rest wait for HR, by the legal deadline.
    pub async fn order_document(
        &self,
        session: &EmployeeSession,
        input: &OrderInput<'_>,
    ) -> ServiceResult<DocumentRequest> {
        let employee = &session.employee;
        let today = self.today();
        let order = DocumentOrder::parse(input, today, employee.hired_on)?;
        let rules = self.document_rules();
        let due_on = rules.calendar.deadline(today, rules.deadline_working_days);
        let request = self
            .store()
            .create_document_request(NewDocumentRequest {
                employee_id: employee.id,
                order,
                due_on,
                at: self.now(),
            })
            .await?;
        tracing::info!(
            request_id = request.id.get(),
            kind = request.order.kind.as_str(),
            "document ordered"
        );
        if !rules.made_at_once.contains(&request.order.kind) {
            return Ok(request);
        }
        match self.make_pdf(employee, &request).await {
            Ok(made) => {
                self.move_request(
                    &request,
                    RequestStatus::Ready,
                    Actor::System,
                    None,
                    Some(made),
                    None,
                )
                .await?;
                self.employee_request(session, request.id).await
            }
            // The data is not there yet: HR will see to it.
            Err(ServiceError::Domain(DomainError::Validation(_))) => Ok(request),
            Err(e) => Err(e),
        }
    }

    /// The employee's requests, newest first.
    pub async fn employee_requests(
        &self,
        session: &EmployeeSession,
    ) -> ServiceResult<Vec<DocumentRequest>> {
        Ok(self.store().employee_requests(session.employee.id).await?)
    }

    /// One of the employee's own requests; another's is not found.
    pub async fn employee_request(
        &self,
        session: &EmployeeSession,
        id: RequestId,
    ) -> ServiceResult<DocumentRequest> {
        self.store()
            .document_request(id)
            .await?
            .filter(|r| r.employee_id == session.employee.id)
            .ok_or_else(|| DomainError::NotFound("document_request").into())
    }

    /// The PDF of the employee's own ready document; the first download hands it over
    /// (`issued`).
    pub async fn employee_document(
        &self,
        session: &EmployeeSession,
        id: RequestId,
    ) -> ServiceResult<Vec<u8>> {
        let request = self.employee_request(session, id).await?;
        if !request.status.has_document() {
            return Err(DomainError::StateConflict.into());
        }
        let bytes = self
            .store()
            .document_pdf(id)
            .await?
            .ok_or(DomainError::NotFound("document"))?;
        if request.status == RequestStatus::Ready {
            let actor = Actor::Employee(session.employee.id);
            // Two downloads at once: one of them hands it over, both get the file.
            self.move_request(&request, RequestStatus::Issued, actor, None, None, None)
                .await
                .or_else(|e| match e {
                    ServiceError::Domain(DomainError::StateConflict) => Ok(()),
                    other => Err(other),
                })?;
        }
        Ok(bytes)
    }

    /// HR's queue: open requests, the earliest deadline (and so the overdue) first.
    pub async fn document_queue(
        &self,
        staff: &StaffMember,
    ) -> ServiceResult<Vec<(DocumentRequest, Employee)>> {
        authorize(staff, Permission::WorkDocuments)?;
        let mut queue = Vec::new();
        for request in self.store().open_requests().await? {
            let employee = self.request_employee(&request).await?;
            queue.push((request, employee));
        }
        Ok(queue)
    }

    /// One request for HR, with its employee and history.
    pub async fn document_request_for_staff(
        &self,
        staff: &StaffMember,
        id: RequestId,
    ) -> ServiceResult<(DocumentRequest, Employee, Vec<RequestEvent>)> {
        authorize(staff, Permission::WorkDocuments)?;
        let request = self.request_or_not_found(id).await?;
        let employee = self.request_employee(&request).await?;
        let events = self.store().request_events(id).await?;
        Ok((request, employee, events))
    }

    /// The PDF as made, for HR to check or print.
    pub async fn staff_document(
        &self,
        staff: &StaffMember,
        id: RequestId,
    ) -> ServiceResult<Vec<u8>> {
        authorize(staff, Permission::WorkDocuments)?;
        Ok(self
            .store()
            .document_pdf(id)
            .await?
            .ok_or(DomainError::NotFound("document"))?)
    }

    /// HR takes a request into work.
    pub async fn start_document_request(
        &self,
        staff: &StaffMember,
        id: RequestId,
    ) -> ServiceResult<DocumentRequest> {
        authorize(staff, Permission::WorkDocuments)?;
        let request = self.request_or_not_found(id).await?;
        self.move_request(
            &request,
            RequestStatus::InProgress,
            Actor::Staff(staff.id.get()),
            None,
            None,
            None,
        )
        .await?;
        self.request_or_not_found(id).await
    }

    /// HR makes the document: from the data for the standard types, or the PDF HR made
    /// elsewhere for `other`.
    pub async fn make_document_ready(
        &self,
        staff: &StaffMember,
        id: RequestId,
        attachment: Option<Vec<u8>>,
    ) -> ServiceResult<DocumentRequest> {
        authorize(staff, Permission::WorkDocuments)?;
        let request = self.request_or_not_found(id).await?;
        if !request.status.may_become(RequestStatus::Ready) {
            return Err(DomainError::StateConflict.into());
        }
        let employee = self.request_employee(&request).await?;
        let made = match (request.order.kind.made_from_data(), attachment) {
            (true, _) => self.make_pdf(&employee, &request).await?,
            (false, Some(bytes)) if bytes.starts_with(b"%PDF-") => {
                (self.new_document(&request), bytes)
            }
            (false, Some(_)) => return Err(DomainError::field("file", "attachment_not_pdf").into()),
            (false, None) => return Err(DomainError::field("file", "attachment_required").into()),
        };
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "document.ready",
            &format!("document_request:{id}"),
            serde_json::json!({ "number": &made.0.number }).to_string(),
        );
        self.move_request(
            &request,
            RequestStatus::Ready,
            Actor::Staff(staff.id.get()),
            None,
            Some(made),
            Some(audit),
        )
        .await?;
        self.request_or_not_found(id).await
    }

    /// HR refuses a request, saying why.
    pub async fn reject_document_request(
        &self,
        staff: &StaffMember,
        id: RequestId,
        reason: &str,
    ) -> ServiceResult<DocumentRequest> {
        authorize(staff, Permission::WorkDocuments)?;
        let reason = bounded_text(reason, REASON_MAX_CHARS).map_err(|m| {
            let m = if m.key == "field_required" {
                "reason_required".into()
            } else {
                m
            };
            DomainError::field("reason", m)
        })?;
        let request = self.request_or_not_found(id).await?;
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "document.reject",
            &format!("document_request:{id}"),
            serde_json::json!({ "reason": &reason }).to_string(),
        );
        self.move_request(
            &request,
            RequestStatus::Rejected,
            Actor::Staff(staff.id.get()),
            Some(reason),
            None,
            Some(audit),
        )
        .await?;
        self.request_or_not_found(id).await
    }

    /// HR withdraws a document: its code shows it revoked from then on.
    pub async fn revoke_document(&self, staff: &StaffMember, id: RequestId) -> ServiceResult<()> {
        authorize(staff, Permission::WorkDocuments)?;
        self.request_or_not_found(id).await?;
        let audit = self.audit_entry(
            Actor::Staff(staff.id.get()),
            "document.revoke",
            &format!("document_request:{id}"),
            "{}".to_owned(),
        );
        if !self.store().revoke_document(id, self.now(), audit).await? {
            return Err(DomainError::StateConflict.into());
        }
        Ok(())
    }

    /// What the public page says of a code; every check is logged, found or not.
    pub async fn verify_document(&self, code: &str) -> ServiceResult<Verification> {
        let Some(code) = VerifyCode::parse(code) else {
            return Err(DomainError::NotFound("document").into());
        };
        let found = self.store().document_by_code(code.as_str()).await?;
        self.store()
            .record_document_check(code.as_str(), found.is_some(), self.now())
            .await?;
        let found = found.ok_or(DomainError::NotFound("document"))?;
        tracing::info!(request_id = found.request_id.get(), "document checked");
        Ok(Verification {
            kind: found.kind,
            number: found.number,
            issued_on: found.issued_on,
            employee: masked_name(&found.employee_name),
            valid: found.revoked_at.is_none(),
        })
    }

    async fn request_or_not_found(&self, id: RequestId) -> ServiceResult<DocumentRequest> {
        Ok(self
            .store()
            .document_request(id)
            .await?
            .ok_or(DomainError::NotFound("document_request"))?)
    }

    async fn request_employee(&self, request: &DocumentRequest) -> ServiceResult<Employee> {
        self.store()
            .employee(request.employee_id)
            .await?
            .ok_or_else(|| {
                ServiceError::Internal(format!("request {} without its employee", request.id))
            })
    }

    /// Moves the request on if it may go there; another hand moving it first is a conflict.
    async fn move_request(
        &self,
        request: &DocumentRequest,
        to: RequestStatus,
        actor: Actor,
        reason: Option<String>,
        document: Option<(IssuedDocument, Vec<u8>)>,
        audit: Option<kopilka_store::NewAuditEntry>,
    ) -> ServiceResult<()> {
        if !request.status.may_become(to) {
            return Err(DomainError::StateConflict.into());
        }
        let moved = self
            .store()
            .move_document_request(RequestMove {
                id: request.id,
                from: request.status,
                to,
                actor: actor.label(),
                reason,
                document,
                at: self.now(),
                audit,
            })
            .await?;
        if !moved {
            return Err(DomainError::StateConflict.into());
        }
        Ok(())
    }

    /// A fresh number and unguessable code for a request's document.
    fn new_document(&self, request: &DocumentRequest) -> IssuedDocument {
        let mut bytes = [0u8; 10];
        OsRng.fill_bytes(&mut bytes);
        let today = self.today();
        IssuedDocument {
            number: document_number(today, request.id),
            verify_code: VerifyCode::from_random(bytes).as_str().to_owned(),
            issued_on: today,
            revoked_at: None,
        }
    }

    /// The latest month's gross pay up to last month: the salary a letter states.
    async fn salary(&self, employee: &Employee) -> ServiceResult<Option<i64>> {
        let to = YearMonth::of(self.today());
        let from = YearMonth::of(employee.hired_on);
        let months = self.store().payroll(employee.id, from, to).await?;
        Ok(months.last().map(|m| m.gross.get()))
    }

    async fn months(
        &self,
        employee: &Employee,
        from: YearMonth,
        to: YearMonth,
    ) -> ServiceResult<Vec<MonthPay>> {
        let months = self.store().payroll(employee.id, from, to).await?;
        let mut absent = Vec::new();
        let mut m = from;
        while m <= to {
            if !months.iter().any(|p| p.month == m) {
                absent.push(m);
            }
            m = m.next();
        }
        if !absent.is_empty() {
            return Err(missing(&absent));
        }
        Ok(months)
    }

    /// The document for a request, from the data: refused with the field to fix when the
    /// payroll it needs is not imported.
    async fn make_pdf(
        &self,
        employee: &Employee,
        request: &DocumentRequest,
    ) -> ServiceResult<(IssuedDocument, Vec<u8>)> {
        let names = kopilka_text::Lang::Ru.texts();
        let document = match &request.order.details {
            OrderDetails::EmploymentConfirmation {
                include_salary,
                addressee,
            } => pdf::Document::EmploymentConfirmation {
                salary_kop: match include_salary {
                    true => Some(
                        self.salary(employee)
                            .await?
                            .ok_or_else(|| DomainError::field("payroll", "payroll_no_salary"))?,
                    ),
                    false => None,
                },
                addressee: addressee.clone(),
            },
            OrderDetails::IncomeCertificate {
                from,
                to,
                addressee,
            } => {
                let months = self.months(employee, *from, *to).await?;
                pdf::Document::IncomeCertificate {
                    from: month(*from),
                    to: month(*to),
                    months: months
                        .iter()
                        .map(|m| pdf::MonthIncome {
                            month: month(m.month),
                            gross_kop: m.gross.get(),
                            tax_kop: m.tax.get(),
                            net_kop: m.net.get(),
                        })
                        .collect(),
                    addressee: addressee.clone(),
                }
            }
            OrderDetails::Payslip { month: m } => {
                let pay = self
                    .months(employee, *m, *m)
                    .await?
                    .pop()
                    .ok_or_else(|| missing(&[*m]))?;
                pdf::Document::Payslip {
                    month: month(*m),
                    accruals: lines(&pay.accruals, &names),
                    deductions: lines(&pay.deductions, &names),
                    gross_kop: pay.gross.get(),
                    tax_kop: pay.tax.get(),
                    net_kop: pay.net.get(),
                }
            }
            OrderDetails::VisaLetter {
                leave_from,
                leave_to,
                addressee,
            } => pdf::Document::VisaLetter {
                salary_kop: self
                    .salary(employee)
                    .await?
                    .ok_or_else(|| DomainError::field("payroll", "payroll_no_salary"))?,
                leave_from: *leave_from,
                leave_to: *leave_to,
                addressee: addressee.clone(),
                name_latin: None,
                position_en: None,
            },
            OrderDetails::Other => {
                return Err(DomainError::field("file", "attachment_required").into())
            }
        };
        let issued = self.new_document(request);
        let rules = self.document_rules();
        let stamp = pdf::Stamp {
            number: issued.number.clone(),
            issued_on: issued.issued_on,
            verify_code: VerifyCode::parse(&issued.verify_code)
                .map(|c| c.grouped())
                .unwrap_or_else(|| issued.verify_code.clone()),
            verify_url: format!(
                "{}/verify/{}",
                rules.public_url.trim_end_matches('/'),
                issued.verify_code
            ),
        };
        let person = pdf::Employee {
            full_name: employee.full_name.clone(),
            position: employee.position.clone(),
            hired_on: employee.hired_on,
            still_employed: employee.deactivated_at.is_none(),
        };
        let company = rules.company.clone();
        // Typesetting is CPU work: off the async workers.
        let bytes =
            tokio::task::spawn_blocking(move || pdf::render(&company, &person, &stamp, &document))
                .await
                .map_err(|e| ServiceError::Internal(format!("PDF task: {e}")))?
                .map_err(|e| ServiceError::Internal(format!("PDF: {e}")))?;
        tracing::info!(
            request_id = request.id.get(),
            bytes = bytes.len(),
            year = issued.issued_on.year(),
            "document made"
        );
        Ok((issued, bytes))
    }
}
