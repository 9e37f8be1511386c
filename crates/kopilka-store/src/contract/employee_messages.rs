//! Employees write to HR, accounting or administration and the department's staff answer: a
//! thread opens with the employee's first message, each message is unread by the other side
//! until it marks the thread read, and the lists put the latest activity first.

use super::at;
use super::employees::{audit_of, new_employee, submit};
use crate::employee_messages::{NewThread, Thread, ThreadMessage};
use crate::*;
use kopilka_domain::employee::{
    Department, DocumentOrder, DocumentType, EmployeeId, MessageAuthor, OrderDetails,
};
use kopilka_domain::payroll::YearMonth;

/// Creates employees and a document request of its own, so it runs after `employees`, whose
/// lists are compared whole; no other part writes threads, so those lists are compared whole.
pub async fn employee_messages(store: &dyn Store) {
    let employee = |login: &'static str, full_name: &'static str| async move {
        store
            .create_employee(
                new_employee(login, full_name, 1),
                audit_of("employee.create", "employee:", 1),
            )
            .await
            .unwrap()
            .id
    };
    let vera = employee("vera", "Васильева Вера Павловна").await;
    let gleb = employee("gleb", "Григорьев Глеб Олегович").await;
    let payslip = submit(
        store,
        vera,
        DocumentOrder {
            kind: DocumentType::Payslip,
            purpose: "Для банка".into(),
            details: OrderDetails::Payslip {
                month: YearMonth::parse("2026-02").unwrap(),
            },
        },
        "2026-03-12",
        1,
    )
    .await;

    // Opened by the employee: one message, unread by the department only.
    let open = |employee: EmployeeId,
                department,
                subject: &'static str,
                request_id,
                body: &'static str,
                hour| async move {
        let thread = store
            .create_thread(NewThread {
                employee_id: employee,
                department,
                subject: subject.into(),
                request_id,
                body: body.into(),
                at: at(hour),
            })
            .await
            .unwrap();
        assert_eq!(
            thread,
            Thread {
                id: thread.id,
                employee_id: employee,
                department,
                subject: subject.into(),
                request_id,
                unread_by_employee: 0,
                unread_by_staff: 1,
                created_at: at(hour),
                updated_at: at(hour),
            }
        );
        let messages = store.thread_messages(thread.id).await.unwrap();
        assert_eq!(
            messages,
            [ThreadMessage {
                id: messages[0].id,
                thread_id: thread.id,
                author: MessageAuthor::Employee,
                staff_id: None,
                body: body.into(),
                at: at(hour),
            }],
            "the first message, the employee's"
        );
        (thread, messages[0].clone())
    };
    let (about_payslip, question) = open(
        vera,
        Department::Hr,
        "Расчётный листок",
        Some(payslip.id),
        "Когда будет готов листок?",
        2,
    )
    .await;
    let (leave_pay, _) = open(
        vera,
        Department::Accounting,
        "Отпускные",
        None,
        "Когда придут отпускные?",
        3,
    )
    .await;
    let (schedule, _) = open(
        gleb,
        Department::Hr,
        "График",
        None,
        "Можно поменять смену?",
        4,
    )
    .await;
    let (pass, _) = open(
        gleb,
        Department::Administration,
        "Пропуск",
        None,
        "Пропуск не открывает склад.",
        5,
    )
    .await;
    let ids: std::collections::HashSet<i64> = [&about_payslip, &leave_pay, &schedule, &pass]
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids.len(), 4, "an id each");

    let thread = |id| async move { store.thread(id).await.unwrap() };
    assert_eq!(thread(about_payslip.id).await, Some(about_payslip.clone()));
    assert_eq!(thread(pass.id).await, Some(pass.clone()));
    assert_eq!(thread(987_654).await, None);

    let of_employee = |employee| async move { store.employee_threads(employee).await.unwrap() };
    let of_departments = |departments: &'static [Department]| async move {
        store.department_threads(departments).await.unwrap()
    };
    assert_eq!(
        of_employee(vera).await,
        [leave_pay.clone(), about_payslip.clone()],
        "hers only, latest activity first"
    );
    assert_eq!(of_employee(gleb).await, [pass.clone(), schedule.clone()]);
    assert!(of_employee(EmployeeId::new(987_654)).await.is_empty());
    assert_eq!(
        of_departments(&[Department::Hr]).await,
        [schedule.clone(), about_payslip.clone()],
        "the department's only, latest activity first"
    );
    assert_eq!(
        of_departments(&[Department::Administration, Department::Accounting]).await,
        [pass.clone(), leave_pay.clone()],
        "several at once"
    );
    assert_eq!(
        of_departments(&Department::ALL).await,
        [
            pass.clone(),
            schedule.clone(),
            leave_pay.clone(),
            about_payslip.clone()
        ]
    );
    assert!(of_departments(&[]).await.is_empty(), "no department, none");

    // HR answers the oldest thread: unread by the employee, and it moves to the front.
    let reply = store
        .add_thread_message(
            about_payslip.id,
            MessageAuthor::Staff,
            Some(StaffId::new(7)),
            "Будет готов к пятнице.",
            at(6),
        )
        .await
        .unwrap();
    assert_eq!(
        reply,
        ThreadMessage {
            id: reply.id,
            thread_id: about_payslip.id,
            author: MessageAuthor::Staff,
            staff_id: Some(StaffId::new(7)),
            body: "Будет готов к пятнице.".into(),
            at: at(6),
        }
    );
    assert_ne!(reply.id, question.id);
    let answered = Thread {
        unread_by_employee: 1,
        updated_at: at(6),
        ..about_payslip.clone()
    };
    assert_eq!(
        thread(about_payslip.id).await,
        Some(answered.clone()),
        "the employee's side has one more to read; the staff's still one"
    );
    assert_eq!(
        of_employee(vera).await,
        [answered.clone(), leave_pay.clone()],
        "a reply moves the thread to the front"
    );
    assert_eq!(
        of_departments(&[Department::Hr]).await,
        [answered.clone(), schedule.clone()]
    );

    // The employee writes again: the staff's side has two to read.
    let thanks = store
        .add_thread_message(
            about_payslip.id,
            MessageAuthor::Employee,
            None,
            "Спасибо!",
            at(7),
        )
        .await
        .unwrap();
    let followed_up = Thread {
        unread_by_staff: 2,
        updated_at: at(7),
        ..answered
    };
    assert_eq!(thread(about_payslip.id).await, Some(followed_up.clone()));
    assert_eq!(
        store.thread_messages(about_payslip.id).await.unwrap(),
        [
            question,
            reply,
            ThreadMessage {
                id: thanks.id,
                thread_id: about_payslip.id,
                author: MessageAuthor::Employee,
                staff_id: None,
                body: "Спасибо!".into(),
                at: at(7),
            },
        ],
        "oldest first"
    );
    assert_eq!(
        store.thread_messages(leave_pay.id).await.unwrap().len(),
        1,
        "another thread's messages are its own"
    );
    let everything = vec![followed_up.clone(), pass, schedule, leave_pay.clone()];
    assert_eq!(of_departments(&Department::ALL).await, everything);

    // No such thread: refused, and nothing written anywhere.
    assert!(matches!(
        store
            .add_thread_message(987_654, MessageAuthor::Employee, None, "Алло?", at(8))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(store.thread_messages(987_654).await.unwrap().is_empty());
    assert_eq!(thread(987_654).await, None);
    assert_eq!(
        of_departments(&Department::ALL).await,
        everything,
        "unchanged"
    );

    // Reading zeroes the reader's side only, and leaves the activity time; again, nothing.
    let read = |id, reader| async move { store.mark_thread_read(id, reader).await.unwrap() };
    let staff_read = Thread {
        unread_by_staff: 0,
        ..followed_up
    };
    read(about_payslip.id, MessageAuthor::Staff).await;
    assert_eq!(thread(about_payslip.id).await, Some(staff_read.clone()));
    read(about_payslip.id, MessageAuthor::Staff).await;
    assert_eq!(
        thread(about_payslip.id).await,
        Some(staff_read.clone()),
        "idempotent"
    );
    let all_read = Thread {
        unread_by_employee: 0,
        ..staff_read
    };
    read(about_payslip.id, MessageAuthor::Employee).await;
    assert_eq!(thread(about_payslip.id).await, Some(all_read.clone()));
    read(about_payslip.id, MessageAuthor::Employee).await;
    assert_eq!(
        thread(about_payslip.id).await,
        Some(all_read.clone()),
        "idempotent"
    );
    read(leave_pay.id, MessageAuthor::Employee).await;
    assert_eq!(
        thread(leave_pay.id).await,
        Some(leave_pay.clone()),
        "the employee had nothing to read; the department's unread message stays so"
    );
    assert_eq!(
        of_employee(vera).await,
        [all_read, leave_pay],
        "reading is no activity"
    );
}
