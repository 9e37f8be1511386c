//! Adjustments above their author's limit wait as requests: an approval applies one in the
//! same transaction as the ledger's transfer, once; a rejection keeps its reason; a decided
//! request takes no other decision.

use super::at;
use super::employees::audit_of;
use super::ledger::adjustment;
use super::members::register;
use crate::approvals::{Approval, NewAdjustmentRequest};
use crate::*;
use kopilka_domain::staff::{ApprovalStatus, Role};
use kopilka_domain::{DomainError, Points};

/// Creates staff and a member of its own; lists are compared whole, as no other part writes
/// adjustment requests.
pub async fn approvals(store: &dyn Store) {
    let (member, _) = register(store, "+79990007799", "260000009040").await;
    let staff = |login: &'static str| async move {
        store
            .create_staff(
                login,
                "hash",
                &[Role::Admin],
                at(1),
                audit_of("staff.create", "staff:", 1),
            )
            .await
            .unwrap()
            .id
    };
    let (maker, checker) = (staff("maker").await, staff("checker").await);
    let request = |points: i64| NewAdjustmentRequest {
        member_id: member.id,
        points: Points::new(points),
        reason: "Компенсация".into(),
        requested_by: maker,
        at: at(3),
    };
    let first = store
        .request_adjustment(
            request(7000),
            audit_of("points.adjust.request", "adjustment:", 3),
        )
        .await
        .unwrap();
    assert_eq!(first.status, ApprovalStatus::Pending);
    assert_eq!(
        (first.points, first.requested_by),
        (Points::new(7000), maker)
    );
    assert_eq!(first.decided_by, None);
    let log = store
        .audit_log(&crate::AuditFilter::default(), 1)
        .await
        .unwrap();
    assert_eq!(log[0].subject, format!("adjustment:{}", first.id));
    let second = store
        .request_adjustment(
            request(-1),
            audit_of("points.adjust.request", "adjustment:", 3),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .adjustment_requests(Some(ApprovalStatus::Pending), 10)
            .await
            .unwrap(),
        [first.clone(), second.clone()],
        "oldest first"
    );
    assert_eq!(
        store.adjustment_request(first.id).await.unwrap(),
        Some(first.clone())
    );

    // Approving applies it and marks it in one transaction; a second approval changes nothing.
    let before = store
        .ledger_balance(member.id, at(4), None)
        .await
        .unwrap()
        .available;
    let approve = |id| Adjustment {
        approves: Some(Approval {
            request: id,
            by: checker,
        }),
        ..adjustment(member.id, 7000, at(23))
    };
    let after = store.adjust(approve(first.id)).await.unwrap();
    assert_eq!(after.get(), before.get() + 7000);
    let approved = store.adjustment_request(first.id).await.unwrap().unwrap();
    assert_eq!(approved.status, ApprovalStatus::Approved);
    assert_eq!(approved.decided_by, Some(checker));
    assert!(matches!(
        store.adjust(approve(first.id)).await,
        Err(StoreError::Rule(DomainError::StateConflict))
    ));
    assert_eq!(
        store
            .ledger_balance(member.id, at(4), None)
            .await
            .unwrap()
            .available,
        after
    );

    // A refused adjustment leaves its request pending.
    let overdraw = Adjustment {
        approves: Some(Approval {
            request: second.id,
            by: checker,
        }),
        ..adjustment(member.id, -(after.get() + 1), at(23))
    };
    assert!(matches!(
        store.adjust(overdraw).await,
        Err(StoreError::Rule(DomainError::InsufficientPoints))
    ));
    assert_eq!(
        store
            .adjustment_request(second.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        ApprovalStatus::Pending
    );

    // A rejection keeps who, when and why; then nothing else decides it.
    let reject = || {
        store.reject_adjustment(
            second.id,
            checker,
            "Нет оснований",
            at(5),
            audit_of("points.adjust.reject", "adjustment", 5),
        )
    };
    assert!(reject().await.unwrap());
    let rejected = store.adjustment_request(second.id).await.unwrap().unwrap();
    assert_eq!(rejected.status, ApprovalStatus::Rejected);
    assert_eq!(rejected.decision_reason.as_deref(), Some("Нет оснований"));
    assert_eq!(rejected.decided_at, Some(at(5)));
    assert!(!reject().await.unwrap());
    assert!(!store
        .reject_adjustment(
            first.id,
            checker,
            "поздно",
            at(5),
            audit_of("points.adjust.reject", "adjustment", 5)
        )
        .await
        .unwrap());
    assert!(store
        .adjustment_requests(Some(ApprovalStatus::Pending), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(store.adjustment_requests(None, 10).await.unwrap().len(), 2);
    assert_eq!(
        store.adjustment_requests(None, 1).await.unwrap(),
        [approved]
    );
}
