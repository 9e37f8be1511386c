//! Starts the real application on a random port over a fresh SQLite file or a fresh
//! PostgreSQL database, and talks to it over HTTP like a client.

use chrono::{DateTime, Utc};
use kopilka_domain::ManualClock;
use kopilka_server::settings::Settings;
use kopilka_server::{Application, Dependencies};
use kopilka_service::sms::RecordingSms;
use kopilka_service::Kopilka;
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// The references PostgreSQL's ledger tables no longer declare (migration 9): (table, column,
/// the table its id is in).
const LEDGER_REFERENCES: [(&str, &str, &str); 14] = [
    ("purchases", "till_id", "tills"),
    ("purchases", "member_id", "members"),
    ("purchase_lines", "purchase_id", "purchases"),
    ("transfers", "debit_account_id", "accounts"),
    ("transfers", "credit_account_id", "accounts"),
    ("transfers", "member_id", "members"),
    ("transfers", "lot_id", "lots"),
    ("lots", "member_id", "members"),
    ("lots", "transfer_id", "transfers"),
    ("live_lots", "lot_id", "lots"),
    ("live_lots", "member_id", "members"),
    ("lot_usages", "lot_id", "lots"),
    ("lot_usages", "transfer_id", "transfers"),
    ("lot_usages", "purchase_id", "purchases"),
];

pub use kopilka_store::test_database::Backend;
use kopilka_store::test_database::TestDatabase;

/// Runs each named story once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_stores {
    ($($story:ident),* $(,)?) => {
        $(
            mod $story {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$story($crate::helpers::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$story($crate::helpers::Backend::Postgres).await
                }
            }
        )*
    };
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub sms: Arc<RecordingSms>,
    pub kopilka: Kopilka,
    /// The port `/metrics` has to itself, with `metrics_listen` set.
    pub metrics_port: Option<u16>,
    settings: Settings,
    /// Dropped with the test; `None` for another node's, which that node drops.
    _database: Option<TestDatabase>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        self.body
    }
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected answer: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected answer: {}", self.body);
        assert_eq!(self.headers["content-type"], "application/problem+json");
        for key in ["type", "title", "status", "detail"] {
            assert!(
                self.body.get(key).is_some(),
                "problem without {key}: {}",
                self.body
            );
        }
    }
    /// A `validation_failed` problem: 400 for what could not be read, 422 for what was read
    /// and is wrong.
    #[track_caller]
    pub fn expect_invalid(&self) {
        let status = self.status.as_u16();
        assert!(
            status == 400 || status == 422,
            "unexpected answer: {}",
            self.body
        );
        self.expect_problem(status, "validation_failed");
    }
    /// The fields a validation problem names.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub const PASSWORD: &str = "Ветер-в-поле-2026";
pub const STAFF_PASSWORD: &str = "служебный-пароль";

pub fn start_time() -> DateTime<Utc> {
    // Mid-month in Moscow, so one-a-month rules have room on both sides.
    DateTime::parse_from_rfc3339("2026-11-15T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> Self {
        crate::logs::capture();
        let database = TestDatabase::fresh(backend).await;
        let database_url = database.url.clone();
        let mut settings = Settings {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url,
            pg_max_connections: 4,
            sqlite_synchronous: "normal".into(),
            sqlite_readers: 2,
            // Stories that move the clock on by months keep their customer signed in; the
            // idle timeout has a story of its own at its default.
            customer_session_idle_days: 400,
            ..Settings::default()
        };
        configure(&mut settings);
        let app = Self::start(
            settings,
            Arc::new(ManualClock::new(start_time())),
            Some(database),
        )
        .await;
        kopilka_server::seed::demo(&app.kopilka)
            .await
            .expect("seed");
        app
    }

    /// A second node of the same service: its own process state, the same database and clock.
    pub async fn another_node(&self) -> Self {
        Self::start(self.settings.clone(), self.clock.clone(), None).await
    }

    async fn start(
        settings: Settings,
        clock: Arc<ManualClock>,
        database: Option<TestDatabase>,
    ) -> Self {
        let sms = Arc::new(RecordingSms::default());
        let app = Application::build(
            &settings,
            Dependencies {
                clock: clock.clone(),
                sms: Some(sms.clone()),
            },
        )
        .await
        .expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        let kopilka = app.kopilka().clone();
        let metrics_port = app.metrics_port();
        tokio::spawn(app.run_until_stopped());
        Self {
            base,
            client: reqwest::Client::new(),
            clock,
            sms,
            kopilka,
            metrics_port,
            settings,
            _database: database,
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.request_with(method, path, token, body, &[]).await
    }

    /// A request with headers of its own (`X-Forwarded-For`, `User-Agent`, …).
    pub async fn request_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method.parse().unwrap(), url);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request("POST", &format!("/api/v1{path}"), None, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.request("GET", &format!("/api/v1{path}"), Some(token), None)
            .await
    }

    /// The six digits of the newest SMS sent to `phone`.
    pub async fn last_code(&self, phone: &str) -> String {
        self.kopilka.sms_flushed().await;
        let phone = kopilka_domain::Phone::parse(phone).expect("a valid phone");
        let sent = self.sms.sent();
        let (_, text) = sent
            .iter()
            .rev()
            .find(|(p, _)| *p == phone)
            .expect("an SMS to that phone");
        text.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .expect("a code in the SMS")
            .to_owned()
    }

    pub async fn sms_count(&self, phone: &str) -> usize {
        self.kopilka.sms_flushed().await;
        let phone = kopilka_domain::Phone::parse(phone).expect("a valid phone");
        self.sms.sent().iter().filter(|(p, _)| *p == phone).count()
    }

    /// Phone → code → registration token.
    pub async fn registration_token(&self, phone: &str) -> String {
        self.post("/auth/otp", json!({ "phone": phone }))
            .await
            .expect(202);
        let code = self.last_code(phone).await;
        let body = self
            .post("/auth/otp/verify", json!({ "phone": phone, "code": code }))
            .await
            .expect(200);
        assert_eq!(body["status"], "registration_required");
        body["registration_token"].as_str().unwrap().to_owned()
    }

    pub fn registration_form(token: &str) -> Value {
        json!({
            "registration_token": token,
            "last_name": "Иванова",
            "first_name": "Мария",
            "gender": "female",
            "birth_date": "1990-05-17",
            "city": "Москва",
            "email": "maria@example.ru",
            "favourite_store_id": 1,
            "favourite_category_id": 10,
            "consents": { "personal_data": true, "newsletters": false },
            "password": PASSWORD,
        })
    }

    /// A registered customer: (token, card number, member id).
    pub async fn register(&self, phone: &str) -> (String, String, i64) {
        let token = self.registration_token(phone).await;
        let body = self
            .post("/auth/register", Self::registration_form(&token))
            .await
            .expect(201);
        (
            body["token"].as_str().unwrap().to_owned(),
            body["card"]["number"].as_str().unwrap().to_owned(),
            body["member"]["id"].as_i64().unwrap(),
        )
    }

    /// A member keyed in from a paper form: a phone and a physical card, no profile, the
    /// welcome points; the card's number.
    pub async fn import_incomplete_member(&self, phone: &str) -> kopilka_domain::CardNumber {
        use kopilka_domain::card::CardRange;
        use kopilka_domain::ledger::{welcome_lot, Credit, MovementKind, SystemAccount};
        use kopilka_domain::member::{Consents, Profile};
        use kopilka_domain::{CardKind, CardNumber, Phone, Points};
        let now = self.clock_now();
        let card = CardNumber::generate(CardRange::Physical, &mut rand::thread_rng());
        self.kopilka
            .store_for_tests()
            .import_members(vec![kopilka_store::ImportedMember {
                phone: Phone::parse(phone).unwrap(),
                profile: Profile::default(),
                consents: Consents {
                    personal_data: true,
                    newsletters: false,
                    version: "2026-11".into(),
                    recorded_at: now,
                },
                card: card.clone(),
                card_kind: CardKind::Physical,
                welcome: Credit {
                    from: SystemAccount::Welcome,
                    kind: MovementKind::Welcome,
                    lot: welcome_lot(Points::new(300), 90, now),
                    description: "Приветственные баллы".into(),
                },
                at: now,
            }])
            .await
            .unwrap();
        card
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use kopilka_domain::Clock;
        self.clock.now()
    }

    /// A staff member with `roles`, signed in: their token.
    pub async fn staff_token(&self, login: &str, roles: &[kopilka_domain::staff::Role]) -> String {
        let password =
            kopilka_domain::password::NewPassword::parse(STAFF_PASSWORD, 6, &[]).unwrap();
        self.kopilka
            .create_staff(login, &password, roles)
            .await
            .unwrap();
        let signed = self
            .post(
                "/admin/auth/login",
                json!({ "login": login, "password": STAFF_PASSWORD }),
            )
            .await
            .expect(200);
        signed["token"].as_str().unwrap().to_owned()
    }

    /// The count of one security event in `/metrics` (on `port`, or the API's own).
    pub async fn security_events(&self, event: &str) -> u64 {
        let base = match self.metrics_port {
            Some(port) => format!("http://127.0.0.1:{port}"),
            None => self.base.clone(),
        };
        let text = self
            .client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let prefix = format!("kopilka_security_events_total{{event=\"{event}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map(|n| n.trim().parse().unwrap())
            .unwrap_or_else(|| panic!("no {event} in /metrics:\n{text}"))
    }

    /// Runs the `kopilka` binary against this app's database; its standard output.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kopilka"))
            .args(args)
            .env("KOPILKA_DATABASE_URL", &self.settings.database_url)
            .env("KOPILKA_LOG_FORMAT", "text")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the kopilka binary");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kopilka {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn database_url(&self) -> &str {
        &self.settings.database_url
    }

    /// On PostgreSQL: no purchase or return was written and then rolled back. A sale priced
    /// against a state that changed meanwhile writes nothing at all (migration 15), so races
    /// leave no dead rows behind (`pgstattuple` counts them exactly, unlike the statistics).
    pub async fn assert_nothing_rolled_back(&self) {
        if !self.settings.database_url.starts_with("postgres") {
            return;
        }
        let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&self.settings.database_url)
            .await
            .unwrap();
        sqlx::query("CREATE EXTENSION IF NOT EXISTS pgstattuple")
            .execute(&mut db)
            .await
            .unwrap();
        let dead = |table: &'static str| {
            sqlx::query_scalar::<_, i64>("SELECT dead_tuple_count FROM pgstattuple($1)").bind(table)
        };
        // Sales are never updated: any dead row is one rolled back.
        let sales = dead("purchases").fetch_one(&mut db).await.unwrap();
        assert_eq!(sales, 0, "sales written and rolled back");
        // Each return rewrites its own row once, to record the balance after it.
        let returns = dead("refunds").fetch_one(&mut db).await.unwrap();
        let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refunds")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert!(
            returns <= recorded,
            "{} returns written and rolled back",
            returns - recorded
        );
    }

    /// Every account's debits equal every account's credits, and both equal the transfers.
    pub async fn assert_ledger_balanced(&self) {
        let t = self.kopilka.store_for_tests().totals().await.unwrap();
        assert_eq!(t.debits, t.credits, "{t:?}");
        assert_eq!(t.debits, t.transfers, "{t:?}");
        // SQLite's expiry and seeding skip the checks of ids they take from their parents
        // (`write_with_references_read`), and PostgreSQL's ledger tables carry no foreign keys
        // (migration 9): their writers establish the references, so look for broken ones.
        if self.settings.database_url.starts_with("postgres") {
            let mut db =
                <sqlx::PgConnection as sqlx::Connection>::connect(&self.settings.database_url)
                    .await
                    .unwrap();
            for (table, column, parent) in LEDGER_REFERENCES {
                let broken: i64 = sqlx::query_scalar(&format!(
                    "SELECT COUNT(*) FROM {table} c WHERE c.{column} IS NOT NULL \
                     AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.id = c.{column})"
                ))
                .fetch_one(&mut db)
                .await
                .unwrap();
                assert_eq!(broken, 0, "{table}.{column} points at missing {parent}");
            }
            // What a live lot holds is within what its lot was, and the copies of the lot's
            // columns it is keyed and drawn by agree with the lot (migration 17).
            let disagreeing: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM live_lots v JOIN lots l ON l.id = v.lot_id \
                 WHERE v.remaining > l.points OR v.member_id <> l.member_id \
                    OR v.expires_at <> l.expires_at OR v.transfer_id <> l.transfer_id \
                    OR v.available_at <> l.available_at",
            )
            .fetch_one(&mut db)
            .await
            .unwrap();
            assert_eq!(disagreeing, 0, "live lots that disagree with their lots");
        } else if let Some(path) = kopilka_sqlite::path_from_url(&self.settings.database_url) {
            let db = rusqlite::Connection::open(path).unwrap();
            let broken: Vec<String> = db
                .prepare("PRAGMA foreign_key_check")
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                broken.is_empty(),
                "rows with broken references in {broken:?}"
            );
        }
    }
}

/// Polls `check` for up to five seconds: a change reaches other nodes on commit, not instantly.
pub async fn eventually<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the other node did not hear of the change within 5 s");
}
