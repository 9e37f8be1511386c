//! An employee's account from its creation to its closing: one login each, a password that
//! ends the other sessions, payroll imported a month at a time, and the documents they order,
//! from the request through HR's queue to the code a bank checks and its revocation.

use super::{at, audit};
use crate::employees::{
    DocumentRequest, Employee, IssuedDocument, NewDocumentRequest, NewEmployee, RequestEvent,
    RequestMove, VerifiedDocument,
};
use crate::*;
use chrono::{DateTime, NaiveDate, Utc};
use kopilka_domain::employee::{
    document_number, DocumentOrder, DocumentType, EmployeeId, OrderDetails, RequestId,
    RequestStatus,
};
use kopilka_domain::payroll::{MonthPay, PayLine, YearMonth};
use kopilka_domain::Kopecks;

pub(super) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn month(s: &str) -> YearMonth {
    YearMonth::parse(s).unwrap()
}

pub(super) fn audit_of(action: &str, subject: &str, hour: u32) -> NewAuditEntry {
    NewAuditEntry {
        subject: subject.into(),
        ..audit(action, hour)
    }
}

/// The newest audit row: its action, subject and time.
async fn newest_audit(store: &dyn Store) -> (String, String, DateTime<Utc>) {
    let log = store
        .audit_log(&crate::AuditFilter::default(), 1)
        .await
        .unwrap();
    let entry = log.first().expect("an audit row");
    (entry.action.clone(), entry.subject.clone(), entry.at)
}

fn audited(action: &str, subject: &str, hour: u32) -> (String, String, DateTime<Utc>) {
    (action.to_owned(), subject.to_owned(), at(hour))
}

/// Needs nothing from the other parts (store 901 is only a number here); no part run before
/// it creates employees, document requests or payroll, so the lists are compared whole.
pub async fn employees(store: &dyn Store) {
    let (anna, boris) = accounts(store).await;
    payroll(store, anna.id, boris.id).await;
    requests(store, &anna, &boris).await;
}

/// A cashier of store 901 as HR enters them, with a temporary password.
pub(super) fn new_employee(login: &str, full_name: &str, hour: u32) -> NewEmployee {
    NewEmployee {
        login: login.into(),
        full_name: full_name.into(),
        position: "Кассир".into(),
        store_id: StoreId::new(901),
        hired_on: day("2024-03-01"),
        password_hash: format!("hash-{login}"),
        at: at(hour),
    }
}

/// A request submitted by its employee, which comes back as submitted.
pub(super) async fn submit(
    store: &dyn Store,
    employee: EmployeeId,
    order: DocumentOrder,
    due_on: &str,
    hour: u32,
) -> DocumentRequest {
    let due_on = day(due_on);
    let request = store
        .create_document_request(NewDocumentRequest {
            employee_id: employee,
            order: order.clone(),
            due_on,
            at: at(hour),
        })
        .await
        .unwrap();
    assert_eq!(
        request,
        DocumentRequest {
            id: request.id,
            employee_id: employee,
            order,
            status: RequestStatus::Submitted,
            due_on,
            reject_reason: None,
            document: None,
            created_at: at(hour),
            updated_at: at(hour),
        }
    );
    request
}

/// Created with a temporary password, once per login; found by login (with the hash), by id
/// and all by name; a new password ends the employee's other sessions, closing the account
/// ends all of them.
async fn accounts(store: &dyn Store) -> (Employee, Employee) {
    // Boris first: the list by name puts Anna first all the same.
    let boris = store
        .create_employee(
            new_employee("boris", "Соколов Борис Ильич", 1),
            audit_of("employee.create", "employee:", 1),
        )
        .await
        .unwrap();
    assert_eq!(
        boris,
        Employee {
            id: boris.id,
            login: "boris".into(),
            full_name: "Соколов Борис Ильич".into(),
            position: "Кассир".into(),
            store_id: StoreId::new(901),
            hired_on: day("2024-03-01"),
            must_change_password: true,
            deactivated_at: None,
            created_at: at(1),
        }
    );
    assert_eq!(
        newest_audit(store).await,
        audited("employee.create", &format!("employee:{}", boris.id), 1),
        "the subject completed with the new id"
    );
    let anna = store
        .create_employee(
            new_employee("anna", "Андреева Анна Сергеевна", 1),
            audit_of("employee.create", "employee:", 1),
        )
        .await
        .unwrap();
    assert_ne!(anna.id, boris.id);
    assert!(anna.must_change_password);
    let anna_created = audited("employee.create", &format!("employee:{}", anna.id), 1);
    assert_eq!(newest_audit(store).await, anna_created);

    assert!(matches!(
        store
            .create_employee(
                new_employee("boris", "Другой Борис", 2),
                audit_of("employee.create", "employee:", 2),
            )
            .await,
        Err(StoreError::Conflict("login"))
    ));
    assert_eq!(
        newest_audit(store).await,
        anna_created,
        "no row for a refusal"
    );

    let (found, hash) = store.employee_by_login("anna").await.unwrap().unwrap();
    assert_eq!((found, hash.as_str()), (anna.clone(), "hash-anna"));
    assert!(store.employee_by_login("nobody").await.unwrap().is_none());
    assert_eq!(store.employee(boris.id).await.unwrap(), Some(boris.clone()));
    assert!(store
        .employee(EmployeeId::new(987_654))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.employees().await.unwrap(),
        [anna.clone(), boris.clone()],
        "by name, the refused one absent"
    );

    // Anna's sessions, one of another kind under her id, and Boris's.
    let session = |kind, subject: EmployeeId, hash: &str| NewSession {
        kind,
        subject: subject.get(),
        phone: None,
        token_hash: hash.into(),
        created_at: at(2),
        expires_at: at(22),
        ip: "127.0.0.1".into(),
        user_agent: "contract".into(),
    };
    for (kind, subject, hash) in [
        (TokenKind::Employee, anna.id, "employee-a1"),
        (TokenKind::Employee, anna.id, "employee-a2"),
        (TokenKind::Employee, anna.id, "employee-a3"),
        (TokenKind::Staff, anna.id, "employee-staff"),
        (TokenKind::Employee, boris.id, "employee-b1"),
    ] {
        store
            .create_session(session(kind, subject, hash))
            .await
            .unwrap();
    }
    let live = |kind, hash: &'static str| async move {
        store.session(kind, hash, at(4)).await.unwrap().is_some()
    };

    // Her own password, keeping the session she changed it in.
    let anna_subject = format!("employee:{}", anna.id);
    assert!(store
        .set_employee_password(
            anna.id,
            "hash-anna-own",
            false,
            Some("employee-a2"),
            audit_of("employee.password", &anna_subject, 3),
        )
        .await
        .unwrap());
    let (changed, hash) = store.employee_by_login("anna").await.unwrap().unwrap();
    assert_eq!(
        (changed.must_change_password, hash.as_str()),
        (false, "hash-anna-own")
    );
    assert_eq!(
        newest_audit(store).await,
        audited("employee.password", &anna_subject, 3)
    );
    assert!(!live(TokenKind::Employee, "employee-a1").await, "ended");
    assert!(!live(TokenKind::Employee, "employee-a3").await, "ended");
    assert!(live(TokenKind::Employee, "employee-a2").await, "kept");
    assert!(
        live(TokenKind::Staff, "employee-staff").await,
        "another kind's session under the same id"
    );
    assert!(live(TokenKind::Employee, "employee-b1").await, "another's");

    // A temporary one from HR ends every session, the kept one too.
    assert!(store
        .set_employee_password(
            anna.id,
            "hash-anna-temporary",
            true,
            None,
            audit_of("employee.password", &anna_subject, 4),
        )
        .await
        .unwrap());
    let (changed, hash) = store.employee_by_login("anna").await.unwrap().unwrap();
    assert_eq!(
        (changed.must_change_password, hash.as_str()),
        (true, "hash-anna-temporary")
    );
    assert!(!live(TokenKind::Employee, "employee-a2").await);
    assert!(live(TokenKind::Staff, "employee-staff").await);
    assert!(live(TokenKind::Employee, "employee-b1").await);
    let password_changed = audited("employee.password", &anna_subject, 4);
    assert_eq!(newest_audit(store).await, password_changed);
    assert!(!store
        .set_employee_password(
            EmployeeId::new(987_654),
            "hash",
            true,
            None,
            audit_of("employee.password", "employee:987654", 4),
        )
        .await
        .unwrap());
    assert_eq!(
        newest_audit(store).await,
        password_changed,
        "no row for nobody"
    );

    // Boris leaves: his sessions end, once.
    let boris_subject = format!("employee:{}", boris.id);
    assert!(store
        .deactivate_employee(
            boris.id,
            at(5),
            audit_of("employee.deactivate", &boris_subject, 5)
        )
        .await
        .unwrap());
    let deactivated = audited("employee.deactivate", &boris_subject, 5);
    assert_eq!(newest_audit(store).await, deactivated);
    assert!(
        store
            .session(TokenKind::Employee, "employee-b1", at(5))
            .await
            .unwrap()
            .is_none(),
        "ended"
    );
    assert!(!store
        .deactivate_employee(
            boris.id,
            at(6),
            audit_of("employee.deactivate", &boris_subject, 6)
        )
        .await
        .unwrap());
    assert!(!store
        .deactivate_employee(
            EmployeeId::new(987_654),
            at(6),
            audit_of("employee.deactivate", "employee:987654", 6)
        )
        .await
        .unwrap());
    assert_eq!(newest_audit(store).await, deactivated, "no rows for those");
    let boris = store.employee(boris.id).await.unwrap().unwrap();
    assert_eq!(boris.deactivated_at, Some(at(5)), "the first time's");
    let anna = store.employee(anna.id).await.unwrap().unwrap();
    assert_eq!(anna.deactivated_at, None);
    (anna, boris)
}

fn lines(lines: &[(&str, i64)]) -> Vec<PayLine> {
    lines
        .iter()
        .map(|(code, amount)| PayLine {
            code: (*code).into(),
            amount: Kopecks::new(*amount),
        })
        .collect()
}

/// A month's pay that adds up.
fn pay(which: &str, accruals: &[(&str, i64)], deductions: &[(&str, i64)]) -> MonthPay {
    let gross: i64 = accruals.iter().map(|(_, a)| a).sum();
    let tax = gross * 13 / 100;
    let deducted: i64 = deductions.iter().map(|(_, a)| a).sum();
    MonthPay {
        month: month(which),
        gross: Kopecks::new(gross),
        tax: Kopecks::new(tax),
        net: Kopecks::new(gross - tax - deducted),
        accruals: lines(accruals),
        deductions: lines(deductions),
    }
    .check()
    .unwrap()
}

/// An import replaces every month it names, for everyone, and leaves the others; an
/// employee's months come back oldest first within the range, lines and all.
async fn payroll(store: &dyn Store, anna: EmployeeId, boris: EmployeeId) {
    let anna_jan = pay(
        "2026-01",
        &[("salary", 8_000_000), ("bonus", 500_050)],
        &[("union", 10_000)],
    );
    let anna_feb = pay("2026-02", &[("salary", 8_000_000)], &[]);
    let boris_jan = pay(
        "2026-01",
        &[("salary", 6_000_000)],
        &[("alimony", 1_500_000)],
    );
    let boris_feb = pay("2026-02", &[("salary", 6_000_000)], &[]);
    let imported = store
        .import_payroll(
            vec![
                (anna, anna_feb.clone()),
                (boris, boris_feb.clone()),
                (anna, anna_jan.clone()),
                (boris, boris_jan.clone()),
            ],
            at(7),
            audit_of("payroll.import", "payroll", 7),
        )
        .await
        .unwrap();
    assert_eq!(imported, 4);
    assert_eq!(
        newest_audit(store).await,
        audited("payroll.import", "payroll", 7)
    );
    let months = |employee, from: &str, to: &str| {
        let (from, to) = (month(from), month(to));
        async move { store.payroll(employee, from, to).await.unwrap() }
    };
    assert_eq!(
        months(anna, "2025-01", "2026-12").await,
        [anna_jan.clone(), anna_feb.clone()],
        "oldest first, lines and all"
    );
    assert_eq!(
        months(anna, "2026-02", "2026-02").await,
        std::slice::from_ref(&anna_feb)
    );
    assert_eq!(
        months(anna, "2026-01", "2026-01").await,
        std::slice::from_ref(&anna_jan)
    );
    assert!(months(anna, "2025-01", "2025-12").await.is_empty());
    assert!(months(EmployeeId::new(987_654), "2025-01", "2026-12")
        .await
        .is_empty());

    // February again, Anna's only, and March: Boris's February goes with the month.
    let anna_feb_fixed = pay(
        "2026-02",
        &[("salary", 8_000_000), ("overtime", 123_456)],
        &[("union", 10_000)],
    );
    let anna_mar = pay("2026-03", &[("salary", 8_100_000)], &[]);
    assert_eq!(
        store
            .import_payroll(
                vec![(anna, anna_mar.clone()), (anna, anna_feb_fixed.clone())],
                at(8),
                audit_of("payroll.import", "payroll", 8),
            )
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        newest_audit(store).await,
        audited("payroll.import", "payroll", 8)
    );
    assert_eq!(
        months(anna, "2026-01", "2026-12").await,
        [anna_jan, anna_feb_fixed, anna_mar],
        "January untouched, February replaced"
    );
    assert_eq!(
        months(boris, "2026-01", "2026-12").await,
        [boris_jan],
        "a month imported again holds only the new rows"
    );
}

/// A request is submitted by its employee, listed for them newest first and in HR's queue by
/// deadline while open, moved on only from the status it is in, made with its document and
/// PDF or rejected with a reason, checked by its code, and revoked once.
async fn requests(store: &dyn Store, anna: &Employee, boris: &Employee) {
    let income = submit(
        store,
        anna.id,
        DocumentOrder {
            kind: DocumentType::IncomeCertificate,
            purpose: "Ипотека".into(),
            details: OrderDetails::IncomeCertificate {
                from: month("2026-01"),
                to: month("2026-02"),
                addressee: Some("ПАО «Банк»".into()),
            },
        },
        "2026-03-13",
        9,
    )
    .await;
    let payslip = submit(
        store,
        anna.id,
        DocumentOrder {
            kind: DocumentType::Payslip,
            purpose: "Для себя".into(),
            details: OrderDetails::Payslip {
                month: month("2026-02"),
            },
        },
        "2026-03-12",
        10,
    )
    .await;
    let visa = submit(
        store,
        anna.id,
        DocumentOrder {
            kind: DocumentType::VisaLetter,
            purpose: "Отпуск".into(),
            details: OrderDetails::VisaLetter {
                leave_from: day("2026-05-01"),
                leave_to: day("2026-05-14"),
                addressee: None,
            },
        },
        "2026-03-16",
        11,
    )
    .await;
    let other = submit(
        store,
        boris.id,
        DocumentOrder {
            kind: DocumentType::Other,
            purpose: "Копия трудовой книжки".into(),
            details: OrderDetails::Other,
        },
        "2026-03-14",
        11,
    )
    .await;

    let read = |id: RequestId| async move { store.document_request(id).await.unwrap().unwrap() };
    assert_eq!(read(income.id).await, income);
    assert!(store
        .document_request(RequestId::new(987_654))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.request_events(income.id).await.unwrap(),
        [RequestEvent {
            status: RequestStatus::Submitted,
            actor: format!("employee:{}", anna.id),
            reason: None,
            at: at(9),
        }]
    );
    assert_eq!(
        store.request_events(other.id).await.unwrap()[0].actor,
        format!("employee:{}", boris.id)
    );
    let ids = |found: Vec<DocumentRequest>| found.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.employee_requests(anna.id).await.unwrap()),
        [visa.id, payslip.id, income.id],
        "newest first"
    );
    assert_eq!(
        store.employee_requests(boris.id).await.unwrap(),
        std::slice::from_ref(&other)
    );
    assert!(store
        .employee_requests(EmployeeId::new(987_654))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        ids(store.open_requests().await.unwrap()),
        [payslip.id, income.id, other.id, visa.id],
        "the earliest deadline first"
    );

    let staff = "staff:7".to_owned();
    let step = |id, from, to, reason: Option<&str>, hour| RequestMove {
        id,
        from,
        to,
        actor: staff.clone(),
        reason: reason.map(str::to_owned),
        document: None,
        at: at(hour),
        audit: None,
    };
    let before = newest_audit(store).await;

    // Taken into work: still open, no reject reason though a reason was given.
    assert!(store
        .move_document_request(step(
            income.id,
            RequestStatus::Submitted,
            RequestStatus::InProgress,
            Some("Беру"),
            12
        ))
        .await
        .unwrap());
    let in_progress = read(income.id).await;
    assert_eq!(
        in_progress,
        DocumentRequest {
            status: RequestStatus::InProgress,
            updated_at: at(12),
            ..income.clone()
        }
    );
    assert_eq!(
        newest_audit(store).await,
        before,
        "no audit asked, none kept"
    );
    assert_eq!(
        ids(store.open_requests().await.unwrap()),
        [payslip.id, income.id, other.id, visa.id],
        "in progress is still open"
    );

    // A second hand acting on what it saw: the request moved already.
    let code = "CNTRCT2345678ABC";
    let document = |number: &str, code: &str| IssuedDocument {
        number: number.into(),
        verify_code: code.into(),
        issued_on: day("2026-03-10"),
        revoked_at: None,
    };
    let number = document_number(day("2026-03-10"), income.id);
    let pdf = b"%PDF-1.7\n\x00\xff\xfe contract\n%%EOF".to_vec();
    let ready = |from, hour| RequestMove {
        document: Some((document(&number, code), pdf.clone())),
        audit: Some(audit_of(
            "document.ready",
            &format!("document_request:{}", income.id),
            hour,
        )),
        ..step(income.id, from, RequestStatus::Ready, None, hour)
    };
    assert!(!store
        .move_document_request(ready(RequestStatus::Submitted, 13))
        .await
        .unwrap());
    assert_eq!(read(income.id).await, in_progress, "unchanged");
    assert_eq!(store.request_events(income.id).await.unwrap().len(), 2);
    assert!(store.document_pdf(income.id).await.unwrap().is_none());
    assert!(store.document_by_code(code).await.unwrap().is_none());
    assert_eq!(newest_audit(store).await, before);
    assert!(!store
        .move_document_request(step(
            RequestId::new(987_654),
            RequestStatus::Submitted,
            RequestStatus::InProgress,
            None,
            13
        ))
        .await
        .unwrap());

    // Made ready: the document and its PDF stored with the move.
    assert!(store
        .move_document_request(ready(RequestStatus::InProgress, 14))
        .await
        .unwrap());
    let made = read(income.id).await;
    assert_eq!(
        made,
        DocumentRequest {
            status: RequestStatus::Ready,
            document: Some(document(&number, code)),
            updated_at: at(14),
            ..income.clone()
        }
    );
    assert_eq!(store.document_pdf(income.id).await.unwrap(), Some(pdf));
    assert_eq!(
        newest_audit(store).await,
        audited(
            "document.ready",
            &format!("document_request:{}", income.id),
            14
        )
    );

    // Handed over: the document stays.
    assert!(store
        .move_document_request(step(
            income.id,
            RequestStatus::Ready,
            RequestStatus::Issued,
            None,
            15
        ))
        .await
        .unwrap());
    let issued = read(income.id).await;
    assert_eq!(
        issued,
        DocumentRequest {
            status: RequestStatus::Issued,
            updated_at: at(15),
            ..made
        }
    );
    assert_eq!(
        store.request_events(income.id).await.unwrap(),
        [
            RequestEvent {
                status: RequestStatus::Submitted,
                actor: format!("employee:{}", anna.id),
                reason: None,
                at: at(9),
            },
            RequestEvent {
                status: RequestStatus::InProgress,
                actor: staff.clone(),
                reason: Some("Беру".into()),
                at: at(12),
            },
            RequestEvent {
                status: RequestStatus::Ready,
                actor: staff.clone(),
                reason: None,
                at: at(14),
            },
            RequestEvent {
                status: RequestStatus::Issued,
                actor: staff.clone(),
                reason: None,
                at: at(15),
            },
        ],
        "oldest first, the refused move absent"
    );

    // Rejected straight from the queue, with the reason.
    assert!(store
        .move_document_request(RequestMove {
            audit: Some(audit_of(
                "document.reject",
                &format!("document_request:{}", payslip.id),
                16
            )),
            ..step(
                payslip.id,
                RequestStatus::Submitted,
                RequestStatus::Rejected,
                Some("Февраль ещё не закрыт"),
                16
            )
        })
        .await
        .unwrap());
    assert_eq!(
        read(payslip.id).await,
        DocumentRequest {
            status: RequestStatus::Rejected,
            reject_reason: Some("Февраль ещё не закрыт".into()),
            updated_at: at(16),
            ..payslip.clone()
        }
    );
    assert_eq!(
        store.request_events(payslip.id).await.unwrap()[1],
        RequestEvent {
            status: RequestStatus::Rejected,
            actor: staff.clone(),
            reason: Some("Февраль ещё не закрыт".into()),
            at: at(16),
        }
    );
    assert_eq!(
        newest_audit(store).await,
        audited(
            "document.reject",
            &format!("document_request:{}", payslip.id),
            16
        )
    );
    assert!(store.document_pdf(payslip.id).await.unwrap().is_none());
    assert!(store
        .document_pdf(RequestId::new(987_654))
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        ids(store.open_requests().await.unwrap()),
        [other.id, visa.id],
        "ready, issued and rejected ones are not"
    );

    // A code is one document's: a second document with it is refused whole.
    let visa_number = document_number(day("2026-03-10"), visa.id);
    assert!(matches!(
        store
            .move_document_request(RequestMove {
                document: Some((document(&visa_number, code), b"%PDF-1.7".to_vec())),
                ..step(
                    visa.id,
                    RequestStatus::Submitted,
                    RequestStatus::Ready,
                    None,
                    16
                )
            })
            .await,
        Err(StoreError::Conflict("verify_code"))
    ));
    assert_eq!(read(visa.id).await, visa, "unchanged");
    assert_eq!(store.request_events(visa.id).await.unwrap().len(), 1);

    // What a bank sees, and the document revoked, once.
    assert_eq!(
        store.document_by_code(code).await.unwrap(),
        Some(VerifiedDocument {
            request_id: income.id,
            kind: DocumentType::IncomeCertificate,
            number: number.clone(),
            issued_on: day("2026-03-10"),
            employee_name: "Андреева Анна Сергеевна".into(),
            revoked_at: None,
        })
    );
    assert!(store
        .document_by_code("ZZZZZZZZZZZZZZZZ")
        .await
        .unwrap()
        .is_none());
    let revoke = |id: RequestId, hour| {
        let entry = audit_of("document.revoke", &format!("document_request:{id}"), hour);
        async move { store.revoke_document(id, at(hour), entry).await.unwrap() }
    };
    let rejected = newest_audit(store).await;
    assert!(!revoke(payslip.id, 17).await, "no document to revoke");
    assert!(!revoke(RequestId::new(987_654), 17).await);
    assert_eq!(newest_audit(store).await, rejected, "no rows for those");
    assert!(revoke(income.id, 17).await);
    let revoked = audited(
        "document.revoke",
        &format!("document_request:{}", income.id),
        17,
    );
    assert_eq!(newest_audit(store).await, revoked);
    assert!(!revoke(income.id, 18).await, "once");
    assert_eq!(newest_audit(store).await, revoked);
    assert_eq!(
        read(income.id).await,
        DocumentRequest {
            document: Some(IssuedDocument {
                revoked_at: Some(at(17)),
                ..document(&number, code)
            }),
            updated_at: at(17),
            ..issued
        }
    );
    assert_eq!(
        store
            .document_by_code(code)
            .await
            .unwrap()
            .map(|d| (d.request_id, d.revoked_at)),
        Some((income.id, Some(at(17))))
    );

    // Checks are logged whether the code is known or not (no method reads them back).
    store
        .record_document_check(code, true, at(18))
        .await
        .unwrap();
    store
        .record_document_check("ZZZZZZZZZZZZZZZZ", false, at(18))
        .await
        .unwrap();
    store
        .record_document_check(code, true, at(19))
        .await
        .unwrap();
}
