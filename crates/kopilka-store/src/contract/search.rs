//! Staff find members by the start of their name (in name order, a page at a time) and by
//! e-mail; a name changed is found by its new name.

use super::members::register;
use crate::*;
use kopilka_domain::member::Profile;

pub async fn member_search(store: &dyn Store) {
    let named = |phone: &'static str,
                 card: &'static str,
                 last: &'static str,
                 email: &'static str| async move {
        let (member, _) = register(store, phone, card).await;
        let profile = Profile {
            last_name: Some(last.into()),
            first_name: Some("Анна".into()),
            email: Some(email.into()),
            ..member.profile.clone()
        };
        store
            .update_profile(member.id, &profile, &member.consents)
            .await
            .unwrap()
    };
    let b = named("+79990008802", "260000009082", "Щукина", "b@example.ru").await;
    let a = named("+79990008801", "260000009081", "Щёголева", "a@example.ru").await;
    let name = |prefix: &str| MemberSearch::NamePrefix(prefix.into());
    let found = |members: Vec<kopilka_domain::member::Member>| {
        members.into_iter().map(|m| m.id).collect::<Vec<_>>()
    };
    assert_eq!(
        found(store.find_members(&name("щ"), None, 10).await.unwrap()),
        [a.id, b.id]
    );
    let first = store.find_members(&name("щ"), None, 1).await.unwrap();
    assert_eq!(found(first.clone()), [a.id]);
    let cursor = MemberCursor::after(&first[0]);
    assert_eq!(
        found(
            store
                .find_members(&name("щ"), Some(&cursor), 10)
                .await
                .unwrap()
        ),
        [b.id]
    );
    assert_eq!(
        found(
            store
                .find_members(&name("щеголева анна"), None, 10)
                .await
                .unwrap()
        ),
        [a.id]
    );
    assert!(store
        .find_members(&name("щеголевы"), None, 10)
        .await
        .unwrap()
        .is_empty());
    let email = MemberSearch::Email("b@example.ru".into());
    assert_eq!(
        found(store.find_members(&email, None, 10).await.unwrap()),
        [b.id]
    );
    // Renamed: found by the new name only.
    let renamed = Profile {
        last_name: Some("Юрьева".into()),
        ..b.profile.clone()
    };
    store
        .update_profile(b.id, &renamed, &b.consents)
        .await
        .unwrap();
    assert_eq!(
        found(store.find_members(&name("щ"), None, 10).await.unwrap()),
        [a.id]
    );
    assert_eq!(
        found(store.find_members(&name("юрьев"), None, 10).await.unwrap()),
        [b.id]
    );
}
