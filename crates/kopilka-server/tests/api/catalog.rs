use crate::helpers::{Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::member::StoreId;
use serde_json::Value;

on_both_stores!(
    the_catalogue_finds_russian_word_forms_and_pages_by_cursor,
    stores_come_nearest_first_within_a_radius_and_by_city,
    promotions_and_events_by_city_and_period,
    contacts_and_the_demo_seed_is_idempotent,
    nearest_stores_among_thousands_match_a_brute_force_search,
);

async fn public(app: &TestApp, path: &str) -> crate::helpers::Answer {
    app.request("GET", &format!("/api/v1{path}"), None, None)
        .await
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_catalogue_finds_russian_word_forms_and_pages_by_cursor(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // «молока» (genitive) finds «Молоко …»; products named by the word come first.
    let milk = public(
        &app,
        "/products?q=%D0%BC%D0%BE%D0%BB%D0%BE%D0%BA%D0%B0&limit=100",
    )
    .await
    .expect(200);
    let found = names(&milk);
    assert!(found.len() >= 8, "{found:?}");
    assert!(
        found.iter().take(8).all(|n| n.starts_with("Молоко")),
        "{found:?}"
    );
    let lead = found.iter().take_while(|n| n.starts_with("Молоко")).count();
    assert!(
        found[..lead].windows(2).all(|w| w[0] <= w[1]),
        "sorted by name: {found:?}"
    );
    let item = &milk["items"][0];
    for field in ["sku", "name", "category_id", "price_kop", "unit"] {
        assert!(!item[field].is_null(), "{item}");
    }
    assert!(item["price_kop"].as_i64().unwrap() > 0);

    // «яблоко» finds «Яблоки …»; two words must both match.
    let apples = names(
        &public(&app, "/products?q=яблоко&limit=100")
            .await
            .expect(200),
    );
    assert!(
        apples.iter().filter(|n| n.starts_with("Яблоки")).count() >= 6,
        "{apples:?}"
    );
    let both = names(
        &public(&app, "/products?q=сыр%20российский")
            .await
            .expect(200),
    );
    assert!(!both.is_empty());
    assert!(both.iter().all(|n| n.contains("Российский")), "{both:?}");
    assert!(names(&public(&app, "/products?q=кукумбер").await.expect(200)).is_empty());

    // Paging by cursor gives the same products as one big page, each once.
    let all = names(&public(&app, "/products?q=сыр&limit=100").await.expect(200));
    assert!(all.len() > 10);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/products?q=сыр&limit=7&cursor={c}"),
            None => "/products?q=сыр&limit=7".to_owned(),
        };
        let page = public(&app, &path).await.expect(200);
        paged.extend(names(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, all);

    // A category takes its subcategories along: «Продукты питания» (1) holds dairy (10).
    let food = public(&app, "/products?category_id=1&limit=100")
        .await
        .expect(200);
    let food = food["items"].as_array().unwrap();
    assert_eq!(food.len(), 100);
    let dairy = public(&app, "/products?category_id=10&q=молоко&limit=100")
        .await
        .expect(200);
    assert!(dairy["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["category_id"] == 10));

    // Bad input: a clear problem, never a 500.
    public(&app, "/products?limit=0").await.expect_invalid();
    public(&app, "/products?limit=101").await.expect_invalid();
    public(&app, "/products?limit=abc").await.expect_invalid();
    let bad = public(&app, "/products?cursor=garbage").await;
    assert_eq!(bad.code(), "validation_failed", "{}", bad.body);
    assert_eq!(bad.fields(), ["cursor"]);
    let unknown = public(&app, "/products?category_id=999").await;
    assert_eq!(unknown.code(), "validation_failed");
}

async fn stores_come_nearest_first_within_a_radius_and_by_city(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Red Square.
    let near = public(&app, "/stores?lat=55.7539&lon=37.6208&limit=100")
        .await
        .expect(200);
    let near = near.as_array().unwrap();
    assert_eq!(near.len(), 10, "every store, nearest first");
    let distances: Vec<i64> = near
        .iter()
        .map(|s| s["distance_m"].as_i64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert_eq!(near[0]["city"], "Москва");
    assert!(
        distances[0] > 1_000 && distances[0] < 30_000,
        "{distances:?}"
    );
    let petersburg = near
        .iter()
        .find(|s| s["city"] == "Санкт-Петербург")
        .unwrap();
    let d = petersburg["distance_m"].as_i64().unwrap();
    assert!((600_000..700_000).contains(&d), "{d}");
    for field in ["id", "name", "city", "address", "lat", "lon", "hours"] {
        assert!(!near[0][field].is_null(), "{}", near[0]);
    }

    let within = public(&app, "/stores?lat=55.7539&lon=37.6208&radius_m=30000")
        .await
        .expect(200);
    let within = within.as_array().unwrap();
    assert_eq!(within.len(), 4, "the four Moscow stores");
    assert!(within
        .iter()
        .all(|s| s["distance_m"].as_i64().unwrap() <= 30_000));

    let two = public(&app, "/stores?lat=55.7539&lon=37.6208&limit=2")
        .await
        .expect(200);
    assert_eq!(two.as_array().unwrap().len(), 2);
    assert_eq!(two[0]["id"], near[0]["id"]);

    // City names compare without regard to case; no point, no distance.
    let kazan = public(&app, "/stores?city=%D0%BA%D0%B0%D0%B7%D0%B0%D0%BD%D1%8C")
        .await
        .expect(200);
    let kazan = kazan.as_array().unwrap();
    assert_eq!(kazan.len(), 2);
    assert!(kazan
        .iter()
        .all(|s| s["city"] == "Казань" && s.get("distance_m").is_none()));
    let kazan_near = public(&app, "/stores?city=Казань&lat=55.7539&lon=37.6208")
        .await
        .expect(200);
    assert_eq!(kazan_near.as_array().unwrap().len(), 2);

    for bad in [
        "/stores?lat=55.7",
        "/stores?lat=95&lon=37",
        "/stores?lat=55&lon=37&radius_m=-5",
        "/stores?radius_m=1000",
        "/stores?limit=1000",
        "/stores?lat=north&lon=37",
    ] {
        public(&app, bad).await.expect_invalid();
    }
}

async fn promotions_and_events_by_city_and_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The test clock is 2026-11-15: the demo's promotions are dated from 2026-11-01.
    let all = public(&app, "/promotions").await.expect(200);
    let all = all.as_array().unwrap();
    assert!(all.len() >= 5);
    let moscow = public(&app, "/promotions?city=москва").await.expect(200);
    let moscow = moscow.as_array().unwrap();
    assert!(
        moscow
            .iter()
            .all(|p| p["city"].is_null() || p["city"] == "Москва"),
        "{moscow:?}"
    );
    assert!(moscow.iter().any(|p| p["city"] == "Москва"));
    assert!(moscow.len() < all.len());
    assert!(all.iter().any(|p| p["status"] == "current"));
    assert!(all.iter().any(|p| p["status"] == "planned"));
    // Finished ones are gone: «Молочная неделя» ran 1–15 November.
    assert!(all.iter().all(|p| p["title"] != "Молочная неделя"));
    let early = public(&app, "/promotions?from=2026-11-01&to=2026-11-10")
        .await
        .expect(200);
    let early = early.as_array().unwrap();
    assert!(early.iter().any(|p| p["title"] == "Молочная неделя"));
    assert!(early
        .iter()
        .all(|p| p["status"] == "current" || p["status"] == "planned"));
    assert!(early.iter().all(|p| p["title"] != "Новогодняя ярмарка"));

    let events = public(&app, "/events?city=Санкт-Петербург")
        .await
        .expect(200);
    let events = events.as_array().unwrap();
    assert!(!events.is_empty());
    assert!(events
        .iter()
        .all(|e| e["city"].is_null() || e["city"] == "Санкт-Петербург"));
    let starts: Vec<&str> = events
        .iter()
        .map(|e| e["starts_at"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");

    public(&app, "/promotions?from=yesterday")
        .await
        .expect_invalid();
    let reversed = public(&app, "/events?from=2026-12-01&to=2026-11-01").await;
    assert_eq!(reversed.code(), "validation_failed");
}

async fn contacts_and_the_demo_seed_is_idempotent(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.hotline_phone = "8 800 555-00-11".into();
    })
    .await;
    let contacts = public(&app, "/contacts").await.expect(200);
    assert_eq!(contacts["hotline"], "8 800 555-00-11");
    assert!(contacts["messenger"].is_string() && contacts["claims_email"].is_string());

    let snapshot = || async {
        let mut all = Vec::new();
        for path in [
            "/categories",
            "/stores?limit=100",
            "/promotions",
            "/events",
            "/products?limit=100",
        ] {
            all.push(public(&app, path).await.expect(200));
        }
        let mut cursor =
            public(&app, "/products?limit=100").await.expect(200)["next_cursor"].clone();
        let mut count = 100;
        while let Some(c) = cursor.as_str() {
            let page = public(&app, &format!("/products?limit=100&cursor={c}"))
                .await
                .expect(200);
            count += page["items"].as_array().unwrap().len();
            cursor = page["next_cursor"].clone();
        }
        (all, count)
    };
    let (before, count) = snapshot().await;
    assert!(count >= 500, "{count} products");
    kopilka_server::seed::demo(&app.kopilka).await.unwrap();
    let (after, count_after) = snapshot().await;
    assert_eq!(before, after);
    assert_eq!(count, count_after);
}

async fn nearest_stores_among_thousands_match_a_brute_force_search(backend: Backend) {
    use kopilka_domain::geo::Point;
    let app = TestApp::spawn(backend).await;
    // 2 000 stores scattered over European Russia, on a deterministic pseudo-random walk.
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let stores: Vec<kopilka_store::StoreLocation> = (0..2000)
        .map(|i| kopilka_store::StoreLocation {
            id: StoreId::new(1000 + i),
            name: format!("Магазин {i}"),
            city: ["Тверь", "Тула", "Рязань"][(i % 3) as usize].to_owned(),
            address: format!("ул. Тестовая, {i}"),
            lat: 50.0 + next() * 10.0,
            lon: 30.0 + next() * 20.0,
            hours: "08:00–23:00".to_owned(),
        })
        .collect();
    app.kopilka
        .store_for_tests()
        .upsert_stores(&stores)
        .await
        .unwrap();
    let all = app.kopilka.store_for_tests().stores().await.unwrap();
    for (lat, lon, radius) in [
        (55.0, 40.0, None),
        (59.9, 30.3, Some(50_000.0)),
        (51.0, 49.5, None),
    ] {
        let here = Point::new(lat, lon).unwrap();
        let mut expected: Vec<(f64, i64)> = all
            .iter()
            .map(|s| {
                (
                    here.distance_m(Point::new(s.lat, s.lon).unwrap()),
                    s.id.get(),
                )
            })
            .filter(|(d, _)| radius.is_none_or(|r| *d <= r))
            .collect();
        expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        expected.truncate(25);
        let path = match radius {
            Some(r) => format!("/stores?lat={lat}&lon={lon}&radius_m={r}&limit=25"),
            None => format!("/stores?lat={lat}&lon={lon}&limit=25"),
        };
        let got = public(&app, &path).await.expect(200);
        let got: Vec<i64> = got
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_i64().unwrap())
            .collect();
        let want: Vec<i64> = expected.iter().map(|(_, id)| *id).collect();
        assert_eq!(got, want, "near {lat},{lon}");
    }
}
