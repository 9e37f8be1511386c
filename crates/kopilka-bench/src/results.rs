//! What a run measured: one row a load, as printed and as written to `results.json`.

use crate::load::Outcome;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Row {
    pub store: String,
    pub what: String,
    pub mode: String,
    pub offered: Option<f64>,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub failed: u64,
    /// Members in the database, for the scale runs.
    #[serde(default)]
    pub members: Option<u64>,
    /// HTTP requests one operation makes, where `rate` counts operations of several (an app
    /// home screen is three requests): `rate` times this is the requests a second. Absent
    /// from the till, whose purchases are the unit its goals are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_each: Option<u32>,
}

impl Row {
    /// The rate a second as text, with the requests a second beside it where an operation
    /// is several: "16062/s = 48186 requests/s".
    pub fn rate_text(&self) -> String {
        match self.requests_each {
            Some(n) => format!(
                "{:.0}/s = {:.0} requests/s",
                self.rate,
                self.rate * f64::from(n)
            ),
            None => format!("{:.0}/s", self.rate),
        }
    }

    /// What a run prints of a measured load: its rate, latencies and failures.
    pub fn summary(&self) -> String {
        format!(
            "{:>8} p50 {:>6.2} ms p99 {:>7.2} ms ({} failed)",
            self.rate_text(),
            self.p50_ms,
            self.p99_ms,
            self.failed
        )
    }
}

pub fn row(store: &str, what: &str, mode: &str, offered: Option<f64>, o: &Outcome) -> Row {
    Row {
        store: store.into(),
        what: what.into(),
        mode: mode.into(),
        offered,
        rate: o.rate(),
        p50_ms: o.ms(0.5),
        p99_ms: o.ms(0.99),
        failed: o.failed,
        members: None,
        requests_each: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed_row(rate: f64, requests_each: Option<u32>) -> Row {
        Row {
            store: "sqlite".into(),
            what: "app home".into(),
            mode: "closed, 32 clients".into(),
            offered: None,
            rate,
            p50_ms: 1.0,
            p99_ms: 2.0,
            failed: 0,
            members: None,
            requests_each,
        }
    }

    /// An app home screen is three requests: its rate is given in both units, so that a
    /// screen is never read as a request.
    #[test]
    fn several_request_operations_also_in_requests() {
        assert_eq!(
            closed_row(15_442.4, Some(crate::scenarios::HOME_REQUESTS)).rate_text(),
            "15442/s = 46327 requests/s"
        );
        assert_eq!(closed_row(4_834.0, None).rate_text(), "4834/s");
    }

    /// Results written before the field existed still load (`--replot`).
    #[test]
    fn old_results_load_without_requests_each() {
        let old = r#"{"store":"sqlite","what":"app home","mode":"closed, 32 clients","offered":null,"rate":17315.4,"p50_ms":1.7,"p99_ms":3.4,"failed":0,"members":null}"#;
        let row: Row = serde_json::from_str(old).unwrap();
        assert_eq!(row.requests_each, None);
    }
}
