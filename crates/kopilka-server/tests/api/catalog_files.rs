//! Store managers and marketing export and import the catalogue as CSV: a file with any
//! wrong row changes nothing and names every wrong row by line; a good one is written whole,
//! audited, and found by the customers' search.

use crate::helpers::{Answer, Backend, TestApp};
use crate::on_both_stores;
use kopilka_domain::staff::Role;

on_both_stores!(the_catalogue_goes_out_and_comes_back_as_csv);

async fn upload(app: &TestApp, token: &str, file: &str, csv: &str) -> Answer {
    let res = app
        .client
        .post(format!("{}/api/v1/admin/catalog/{file}", app.base))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    }
}

async fn download(app: &TestApp, token: &str, file: &str) -> String {
    let answer = app
        .request(
            "GET",
            &format!("/api/v1/admin/catalog/{file}"),
            Some(token),
            None,
        )
        .await
        .expect(200);
    answer.as_str().unwrap().to_owned()
}

async fn the_catalogue_goes_out_and_comes_back_as_csv(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let manager = app.staff_token("manager", &[Role::StoreManager]).await;
    let support = app.staff_token("support", &[Role::Support]).await;

    // The demo catalogue goes out with its header and every product once.
    let products = download(&app, &manager, "products.csv").await;
    let mut lines = products.lines();
    assert_eq!(lines.next(), Some("sku,name,category_id,price_kop,unit"));
    let count = lines.count();
    assert!(count > 0);
    let categories = download(&app, &manager, "categories.csv").await;
    assert!(categories.starts_with("id,name,parent_id\n"));
    let stores = download(&app, &manager, "stores.csv").await;
    assert!(stores.starts_with("id,name,city,address,lat,lon,hours\n"));
    app.request(
        "GET",
        "/api/v1/admin/catalog/products.csv",
        Some(&support),
        None,
    )
    .await
    .expect_problem(403, "forbidden");

    // Wrong rows: every one by line, and nothing written, not even the good rows.
    let wrong = "sku,name,category_id,price_kop,unit\n\
                 9990000000011,Сыр «Контрольный» 200 г,10,25900,шт\n\
                 ,Без артикула,10,100,шт\n\
                 9990000000028,Товар неизвестной категории,424242,100,шт\n\
                 9990000000011,Повтор артикула,10,100,шт\n\
                 9990000000035,Отрицательная цена,10,-5,шт\n";
    let refused = upload(&app, &manager, "products", wrong).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let lines: Vec<u64> = refused.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4, 5, 6]);
    assert!(!download(&app, &manager, "products.csv")
        .await
        .contains("9990000000011"));
    upload(&app, &manager, "products", "sku,name\n1,Без цены\n")
        .await
        .expect_invalid();

    // A good file, with a semicolon as a spreadsheet writes it: written whole and found.
    let good = "sku;name;category_id;price_kop;unit\n\
                9990000000011;Сыр «Контрольный» 200 г;10;25900;шт\n\
                9990000000042;\"Хлеб; нарезной\";10;4500;\n";
    let imported = upload(&app, &manager, "products", good).await.expect(201);
    assert_eq!(imported["rows"], 2);
    let exported = download(&app, &manager, "products.csv").await;
    assert!(exported.contains("9990000000011,Сыр «Контрольный» 200 г,10,25900,шт"));
    assert!(
        exported.contains("9990000000042,Хлеб; нарезной,10,4500,шт"),
        "{exported}"
    );
    assert_eq!(exported.lines().count(), count + 3);
    let found = app
        .request("GET", "/api/v1/products?q=контрольный", None, None)
        .await
        .expect(200);
    assert!(found.to_string().contains("9990000000011"), "{found}");
    // Imported again with a new price: replaced, not added.
    let repriced =
        "sku,name,category_id,price_kop,unit\n9990000000011,Сыр «Контрольный» 200 г,10,27900,шт\n";
    upload(&app, &manager, "products", repriced)
        .await
        .expect(201);
    let exported = download(&app, &manager, "products.csv").await;
    assert!(exported.contains("9990000000011,Сыр «Контрольный» 200 г,10,27900,шт"));
    assert_eq!(exported.lines().count(), count + 3);

    // Categories: a parent the file or the catalogue has, no cycles; stores by id.
    let cycle = "id,name,parent_id\n901,Первая,902\n902,Вторая,901\n";
    let refused = upload(&app, &manager, "categories", cycle).await;
    assert_eq!(refused.status, 422);
    let tree = "id,name,parent_id\n902,Сыры твёрдые,901\n901,Сыры,10\n";
    upload(&app, &manager, "categories", tree).await.expect(201);
    assert!(download(&app, &manager, "categories.csv")
        .await
        .contains("902,Сыры твёрдые,901"));
    let store = "id,name,city,address,lat,lon,hours\n77,Гипермаркет «Тверской»,Тверь,\"Тверь, ул. Новая, 1\",56.85,35.9,08:00–23:00\n";
    upload(&app, &manager, "stores", store).await.expect(201);
    assert!(download(&app, &manager, "stores.csv")
        .await
        .contains("77,Гипермаркет «Тверской»,Тверь"));
    let nowhere = "id,name,city,address,lat,lon\n78,Нигде,Тверь,Адрес,95,0\n";
    assert_eq!(upload(&app, &manager, "stores", nowhere).await.status, 422);

    // Marketing may too; every import is in the audit log.
    let marketing = app.staff_token("marketing", &[Role::Marketing]).await;
    upload(&app, &marketing, "products", repriced)
        .await
        .expect(201);
    let admin = app.staff_token("admin", &[Role::Admin]).await;
    let audit = app
        .get("/admin/audit?entity=catalog", &admin)
        .await
        .expect(200);
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "catalog.import")
            .count(),
        5
    );
    upload(&app, &manager, "vegetables", good)
        .await
        .expect_problem(404, "not_found");
}
