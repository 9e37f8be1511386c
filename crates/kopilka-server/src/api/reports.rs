//! `/admin/reports/points`: the points liability day by day, points earned and spent per day
//! and store, active customers and the redemption rate (administrators, accounting), as JSON
//! and as CSV.

use crate::error::{ApiResult, Problem};
use crate::extract::{ApiQuery, StaffAuth};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::{Duration, NaiveDate};
use kopilka_domain::reports::DayFigures;
use kopilka_domain::Validation;
use kopilka_service::reports::{daily_csv, stores_csv, PointsReport};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Days a report covers when no `from` is given: the last thirty, today included.
const DEFAULT_DAYS: i64 = 30;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(points))
        .routes(routes!(points_csv))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// First day (`YYYY-MM-DD`, the chain's calendar); default: 29 days before `to`.
    from: Option<String>,
    /// Last day, included; default: today.
    to: Option<String>,
    /// The CSV's rows: `day` (default) or `store` (a row per day and store).
    by: Option<String>,
}

impl ReportQuery {
    fn period(&self, state: &AppState) -> ApiResult<(NaiveDate, NaiveDate)> {
        let mut v = Validation::default();
        let date =
            |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| "date_format");
        let to = v.check_opt("to", self.to.as_deref().map(date));
        let from = v.check_opt("from", self.from.as_deref().map(date));
        v.finish()?;
        let to = to.flatten().unwrap_or_else(|| state.kopilka.today());
        let from = from
            .flatten()
            .unwrap_or(to - Duration::days(DEFAULT_DAYS - 1));
        Ok((from, to))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    day: NaiveDate,
    /// Earned at the tills, personal offers included.
    earned: i64,
    welcome: i64,
    /// Spent at the tills, less what returns gave back.
    spent: i64,
    expired: i64,
    /// Staff adjustments, credits less debits.
    adjusted: i64,
    /// Taken back by returns.
    returned: i64,
    /// Owed to customers at the end of the day.
    liability: i64,
    /// Customers who bought something.
    active_customers: u64,
}

fn day_view(day: NaiveDate, d: &DayFigures) -> DayView {
    DayView {
        day,
        earned: d.earned,
        welcome: d.welcome,
        spent: d.spent,
        expired: d.expired,
        adjusted: d.adjusted,
        returned: d.returned,
        liability: d.liability,
        active_customers: d.active,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    /// None: away from any till (welcome points, adjustments, expiry).
    store_id: Option<i64>,
    earned: i64,
    spent: i64,
    returned: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsReportView {
    from: NaiveDate,
    to: NaiveDate,
    days: Vec<DayView>,
    stores: Vec<StoreView>,
    earned: i64,
    spent: i64,
    /// Owed at the end of the period.
    liability: i64,
    /// Points spent per hundred issued (earned and welcome) in the period, one decimal;
    /// null when none were issued.
    redemption_rate_percent: Option<f64>,
}

impl From<&PointsReport> for PointsReportView {
    fn from(r: &PointsReport) -> Self {
        Self {
            from: r.from,
            to: r.to,
            days: r.days.iter().map(|(day, d)| day_view(*day, d)).collect(),
            stores: r
                .stores
                .iter()
                .map(|s| StoreView {
                    store_id: s.store_id.map(|id| id.get()),
                    earned: s.figures.earned,
                    spent: s.figures.spent,
                    returned: s.figures.returned,
                })
                .collect(),
            earned: r.totals.earned,
            spent: r.totals.spent,
            liability: r.totals.liability,
            #[allow(clippy::cast_precision_loss)] // tenths of a per cent, far below 2^52
            redemption_rate_percent: r.redemption_per_mille.map(|m| m as f64 / 10.0),
        }
    }
}

/// The points report of a period (administrators, accounting): read from daily aggregates,
/// brought up to date first.
#[utoipa::path(get, path = "/admin/reports/points", tag = "admin", params(ReportQuery), security(("staff" = [])),
    responses((status = 200, body = PointsReportView), (status = 403, body = Problem),
              (status = 422, body = Problem, description = "a date not `YYYY-MM-DD`, a period backwards, in the future or over 366 days")))]
async fn points(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Json<PointsReportView>> {
    let (from, to) = query.period(&state)?;
    let report = state.kopilka.points_report(&auth.staff, from, to).await?;
    Ok(Json((&report).into()))
}

/// The same report as CSV: a line a day (`by=day`) or a line a day and store (`by=store`).
#[utoipa::path(get, path = "/admin/reports/points.csv", tag = "admin", params(ReportQuery), security(("staff" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn points_csv(
    State(state): State<AppState>,
    auth: StaffAuth,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let (from, to) = query.period(&state)?;
    let by_store = match query.by.as_deref().unwrap_or("day") {
        "day" => false,
        "store" => true,
        _ => return Err(kopilka_domain::DomainError::field("by", "report_by_invalid").into()),
    };
    let report = state.kopilka.points_report(&auth.staff, from, to).await?;
    let (body, name) = if by_store {
        (stores_csv(&report), "points-by-store")
    } else {
        (daily_csv(&report), "points-by-day")
    };
    Ok(kopilka_web::csv_attachment(
        &format!("{name}-{from}-{to}.csv"),
        body,
    ))
}
