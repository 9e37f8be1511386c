//! Accounting's reports page: a period's points liability, points earned and spent per day
//! and store, active customers and the redemption rate, with charts drawn by the server and
//! CSV downloads.

use crate::admin::failed;
use crate::charts::{chart, Kind, Series};
use crate::format::day;
use crate::guard::Signed;
use crate::pages::{error_for, form_status, respond, FieldMessage};
use crate::{Chrome, WebState};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use kopilka_domain::DomainError;
use kopilka_service::reports::{daily_csv, stores_csv, PointsReport};
use kopilka_service::ServiceError;
use kopilka_store::StaffMember;
use kopilka_text::Texts;
use serde::Deserialize;

/// Days a report covers unless asked otherwise: the last thirty, today included.
const DEFAULT_DAYS: i64 = 30;
const EARNED_COLOUR: &str = "#1f7a4d";
const SPENT_COLOUR: &str = "#9b1c31";
const LIABILITY_COLOUR: &str = "#2b4c9b";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PeriodQuery {
    from: String,
    to: String,
    by: String,
}

struct DayLine {
    day: String,
    earned: i64,
    welcome: i64,
    spent: i64,
    expired: i64,
    adjusted: i64,
    returned: i64,
    liability: i64,
    active: u64,
}

struct StoreLine {
    name: String,
    earned: i64,
    spent: i64,
    returned: i64,
}

#[derive(Template)]
#[template(path = "admin_reports.html")]
struct ReportsPage {
    page: Chrome,
    from: String,
    to: String,
    errors: Vec<FieldMessage>,
    /// Empty when the period is wrong.
    days: Vec<DayLine>,
    stores: Vec<StoreLine>,
    liability: i64,
    earned: i64,
    spent: i64,
    redemption: String,
    active: u64,
    charts: Vec<String>,
    csv_query: String,
}

impl ReportsPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        error_for(&self.errors, field)
    }
}

fn period(
    query: &PeriodQuery,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), Vec<&'static str>> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d");
    let to = if query.to.trim().is_empty() {
        Ok(today)
    } else {
        parse(&query.to)
    };
    let mut wrong = Vec::new();
    let to = to.map_err(|_| wrong.push("to")).ok();
    let from = match (query.from.trim().is_empty(), to) {
        (true, Some(to)) => Some(to - Duration::days(DEFAULT_DAYS - 1)),
        (true, None) => None,
        (false, _) => parse(&query.from).map_err(|_| wrong.push("from")).ok(),
    };
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(wrong),
    }
}

fn charts(t: &Texts, report: &PointsReport) -> Vec<String> {
    let labels: Vec<String> = report
        .days
        .iter()
        .map(|(d, _)| d.format("%d.%m").to_string())
        .collect();
    let of = |f: fn(&kopilka_domain::reports::DayFigures) -> i64| {
        report.days.iter().map(|(_, d)| f(d)).collect::<Vec<i64>>()
    };
    vec![
        chart(
            "chart-liability",
            t.get("reports_chart_liability"),
            &labels,
            &[Series {
                name: t.get("reports_liability"),
                color: LIABILITY_COLOUR,
                values: of(|d| d.liability),
            }],
            Kind::Line,
        ),
        chart(
            "chart-points",
            t.get("reports_chart_points"),
            &labels,
            &[
                Series {
                    name: t.get("reports_earned"),
                    color: EARNED_COLOUR,
                    values: of(|d| d.earned + d.welcome),
                },
                Series {
                    name: t.get("reports_spent"),
                    color: SPENT_COLOUR,
                    values: of(|d| d.spent),
                },
            ],
            Kind::Bars,
        ),
        chart(
            "chart-active",
            t.get("reports_chart_active"),
            &labels,
            &[Series {
                name: t.get("reports_active"),
                color: LIABILITY_COLOUR,
                values: of(|d| i64::try_from(d.active).unwrap_or(i64::MAX)),
            }],
            Kind::Bars,
        ),
    ]
}

pub async fn reports(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let t = visitor.texts;
    let mut page = ReportsPage {
        page: Chrome::for_staff(&state, &visitor, &staff),
        from: query.from.clone(),
        to: query.to.clone(),
        errors: Vec::new(),
        days: Vec::new(),
        stores: Vec::new(),
        liability: 0,
        earned: 0,
        spent: 0,
        redemption: String::from("—"),
        active: 0,
        charts: Vec::new(),
        csv_query: String::new(),
    };
    let field = |field: &'static str, message: String| FieldMessage {
        field,
        message,
        label: Some(t.get(&format!("reports_{field}")).to_owned()),
    };
    let (from, to) = match period(&query, state.kopilka.today()) {
        Ok(p) => p,
        Err(wrong) => {
            page.errors = wrong
                .into_iter()
                .map(|f| field(f, t.get("date_format").to_owned()))
                .collect();
            let status = form_status(&page.errors);
            return respond(visitor, &page, status);
        }
    };
    page.from = from.to_string();
    page.to = to.to_string();
    let report = match state.kopilka.points_report(&staff, from, to).await {
        Ok(report) => report,
        Err(ServiceError::Domain(DomainError::Validation(fields))) => {
            page.errors = fields
                .iter()
                .map(|f| {
                    field(
                        if f.field == "to" { "to" } else { "from" },
                        t.render(&f.message),
                    )
                })
                .collect();
            let status = form_status(&page.errors);
            return respond(visitor, &page, status);
        }
        Err(e) => return failed(&state, visitor, &e),
    };
    let stores = match state.kopilka.store_locations().await {
        Ok(stores) => stores,
        Err(e) => return failed(&state, visitor, &e),
    };
    page.csv_query = format!("from={}&to={}", report.from, report.to);
    page.charts = charts(&t, &report);
    page.days = report
        .days
        .iter()
        .rev()
        .map(|(d, f)| DayLine {
            day: day(*d),
            earned: f.earned,
            welcome: f.welcome,
            spent: f.spent,
            expired: f.expired,
            adjusted: f.adjusted,
            returned: f.returned,
            liability: f.liability,
            active: f.active,
        })
        .collect();
    page.stores = report
        .stores
        .iter()
        .map(|s| StoreLine {
            name: match s.store_id {
                Some(id) => stores
                    .iter()
                    .find(|l| l.id == id)
                    .map_or_else(|| id.to_string(), |l| format!("{}, {}", l.name, l.city)),
                None => t.get("reports_no_till").to_owned(),
            },
            earned: s.figures.earned,
            spent: s.figures.spent,
            returned: s.figures.returned,
        })
        .collect();
    page.liability = report.totals.liability;
    page.earned = report.totals.earned + report.totals.welcome;
    page.spent = report.totals.spent;
    page.active = report.totals.active;
    page.redemption = report.redemption_per_mille.map_or_else(
        || "—".to_owned(),
        |m| {
            let decimal = if visitor.lang == crate::i18n::Lang::Ru {
                ','
            } else {
                '.'
            };
            format!("{}{decimal}{}\u{a0}%", m / 10, m % 10)
        },
    );
    respond(visitor, &page, axum::http::StatusCode::OK)
}

/// `GET /admin/reports/points.csv`: the page's report as CSV, a line a day or a day and store.
pub async fn csv(
    State(state): State<WebState>,
    Signed {
        visitor,
        who: staff,
    }: Signed<StaffMember>,
    Query(query): Query<PeriodQuery>,
) -> Response {
    let Ok((from, to)) = period(&query, state.kopilka.today()) else {
        return crate::pages::not_found(&state, visitor, "not_found_title", None, true);
    };
    match state.kopilka.points_report(&staff, from, to).await {
        Ok(report) => {
            let (body, name) = if query.by == "store" {
                (stores_csv(&report), "points-by-store")
            } else {
                (daily_csv(&report), "points-by-day")
            };
            crate::csv_attachment(&format!("{name}-{from}-{to}.csv"), body)
        }
        Err(e) => failed(&state, visitor, &e),
    }
}
