//! One JSON line per scenario on stdout, and a readable table on stderr.

use serde_json::{Map, Value, json};

/// The result of one scenario: ordered keys and values, and notes on what was skipped.
#[derive(Debug, Default, Clone)]
pub struct Report {
    fields: Map<String, Value>,
    notes: Vec<String>,
}

impl Report {
    /// A report for `scenario`.
    pub fn new(scenario: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("scenario".into(), json!(scenario));
        Report {
            fields,
            notes: Vec::new(),
        }
    }

    /// Sets a key.
    pub fn set(&mut self, key: &str, value: impl Into<Value>) -> &mut Self {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// Sets a float key rounded to 4 decimals.
    pub fn set_f(&mut self, key: &str, value: f64) -> &mut Self {
        self.set(key, (value * 10_000.0).round() / 10_000.0)
    }

    /// Adds a note (what was skipped or estimated, and why).
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// A numeric field.
    pub fn num(&self, key: &str) -> Option<f64> {
        self.fields.get(key).and_then(Value::as_f64)
    }

    /// The JSON line: the fields, plus `notes` when there are any.
    pub fn to_json(&self) -> Value {
        let mut fields = self.fields.clone();
        if !self.notes.is_empty() {
            fields.insert("notes".into(), json!(self.notes));
        }
        Value::Object(fields)
    }

    /// Prints the JSON line on stdout and a table row on stderr.
    pub fn emit(&self) {
        println!("{}", self.to_json());
        let scenario = self.fields.get("scenario").and_then(Value::as_str).unwrap_or_default();
        let cells: Vec<String> = self
            .fields
            .iter()
            .filter(|(k, v)| *k != "scenario" && !v.is_array())
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        eprintln!("{scenario:<8} {}", cells.join("  "));
        for note in &self.notes {
            eprintln!("{:<8}   note: {note}", "");
        }
    }
}

/// The official Python SDK's figures against `mock_server.py` on a 2-core machine
/// (from `shared/bench/README.md`; not measured by this tool).
mod official {
    /// List 10,000 projects, page size 100.
    pub const LIST_ITEMS_PER_S: f64 = 12_400.0;
    /// 500 sequential `get_project`, median.
    pub const GET_P50_MS: f64 = 0.64;
    /// 500 sequential `get_project`, 99th percentile.
    pub const GET_P99_MS: f64 = 5.05;
    /// Create + wait on a 3 s operation: returned this long after it finished.
    pub const WAIT_LATE_S: f64 = 0.72;
    /// Create + wait on a 3 s operation: polls.
    pub const WAIT_POLLS: f64 = 3.0;
    /// List 10,000 under 20% injected 503: wall time.
    pub const FAULTS_WALL_S: f64 = 35.6;
    /// List 10,000 under 20% injected 503: retries.
    pub const FAULTS_RETRIES: f64 = 23.0;
    /// List 10,000 under 20% injected 503: time added per retry.
    pub const FAULTS_S_PER_RETRY: f64 = 1.5;
    /// Process start to first answered call.
    pub const COLD_S: f64 = 1.53;
    /// Peak RSS of that process.
    pub const COLD_RSS_KIB: f64 = 82.0 * 1024.0;
    /// Peak RSS of a process holding 10,000 projects.
    pub const HOLDING_10K_RSS_KIB: f64 = 141.0 * 1024.0;
}

/// Prints, on stderr, the headline figures of `reports` beside the official SDK's and the
/// goal of each. `against_mock` says whether the figures are comparable (same server).
pub fn summary(reports: &[Report], against_mock: bool) {
    let find = |scenario: &str| {
        reports
            .iter()
            .filter(|r| r.fields.get("scenario").and_then(Value::as_str) == Some(scenario))
            .collect::<Vec<_>>()
    };
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut row = |what: &str, ours: Option<String>, theirs: String, ratio: Option<f64>, goal: &str| {
        rows.push([
            what.to_string(),
            ours.unwrap_or_else(|| "skipped".into()),
            theirs,
            ratio.map(|r| format!("{r:.3}×")).unwrap_or_default(),
            goal.to_string(),
        ]);
    };
    if let Some(list) = find("list").first() {
        let ips = list.num("items_per_s");
        row(
            "list items/s",
            ips.map(|v| format!("{:.1}k ({} req)", v / 1000.0, list.num("requests").unwrap_or(f64::NAN))),
            format!("{:.1}k (100 req)", official::LIST_ITEMS_PER_S / 1000.0),
            ips.map(|v| v / official::LIST_ITEMS_PER_S),
            "≥ 10×",
        );
        let ms = |key: &str| list.num(key).map(|v| format!("{v:.3}")).unwrap_or_else(|| "?".into());
        row(
            "list vs bytes-only floor",
            list.num("raw_wall_s").map(|raw| {
                format!(
                    "{:.3} s vs {raw:.3} s; per page {} ms = {} transfer + {} decoding + {} rest",
                    list.num("wall_s").unwrap_or(f64::NAN),
                    ms("page_ms"),
                    ms("page_transfer_ms"),
                    ms("page_decode_ms"),
                    ms("page_rest_ms"),
                )
            }),
            "(same run, interleaved)".into(),
            list.num("floor_ratio"),
            "≤ 2.0×",
        );
    }
    if let Some(get) = find("get").first() {
        let p50 = get.num("p50_ms");
        row(
            "get p50 / p99",
            p50.map(|v| format!("{v:.3} / {:.3} ms", get.num("p99_ms").unwrap_or(f64::NAN))),
            format!("{} / {} ms", official::GET_P50_MS, official::GET_P99_MS),
            p50.map(|v| v / official::GET_P50_MS),
            "p50 ≤ 0.2×",
        );
    }
    if let Some(wait) = find("wait").first() {
        let late = wait.num("late_s");
        row(
            "wait late / polls",
            late.map(|v| format!("{v:.3} s / {}", wait.num("polls").unwrap_or(f64::NAN))),
            format!("{} s / {}", official::WAIT_LATE_S, official::WAIT_POLLS),
            None,
            "≤ 0.15 s, ≤ 3 polls",
        );
    }
    if let Some(faults) = find("faults").first() {
        let wall = faults.num("wall_s").filter(|_| faults.num("retries").is_some());
        row(
            "faults wall / retries / s per retry",
            wall.map(|v| {
                format!(
                    "{v:.2} s / {} / {:.2} s (asked {:.2})",
                    faults.num("retries").unwrap_or(f64::NAN),
                    faults.num("s_per_retry").unwrap_or(f64::NAN),
                    faults.num("asked_s_per_retry").unwrap_or(f64::NAN)
                )
            }),
            format!(
                "{} s / {} / {} s",
                official::FAULTS_WALL_S,
                official::FAULTS_RETRIES,
                official::FAULTS_S_PER_RETRY
            ),
            wall.map(|v| v / official::FAULTS_WALL_S),
            "completes; retry ≈ what is asked",
        );
    }
    if let Some(cold) = find("cold").first() {
        let wall = cold.num("wall_s");
        row(
            "cold start / peak RSS",
            wall.map(|v| {
                format!(
                    "{:.1} ms / {:.1} MiB",
                    v * 1000.0,
                    cold.num("peak_rss_kib").unwrap_or(f64::NAN) / 1024.0
                )
            }),
            format!("{} s / {:.0} MiB", official::COLD_S, official::COLD_RSS_KIB / 1024.0),
            wall.map(|v| v / official::COLD_S),
            "≤ 30 ms",
        );
    }
    let memory = find("memory");
    if !memory.is_empty() {
        let cells: Vec<String> = memory
            .iter()
            .map(|m| {
                format!(
                    "{}: {:.1} MiB",
                    m.num("n").unwrap_or(f64::NAN),
                    m.num("peak_rss_kib").unwrap_or(f64::NAN) / 1024.0
                )
            })
            .collect();
        row(
            "streaming peak RSS",
            Some(cells.join(", ")),
            format!("holding 10000: {:.0} MiB", official::HOLDING_10K_RSS_KIB / 1024.0),
            memory
                .first()
                .and_then(|m| m.num("peak_rss_kib"))
                .map(|v| v / official::HOLDING_10K_RSS_KIB),
            "flat as N grows",
        );
    }
    if let Some(regen) = find("regen").first() {
        row(
            "regen (codegen on the spec)",
            regen.num("wall_s").map(|v| format!("{:.1} ms", v * 1000.0)),
            "–".into(),
            None,
            "",
        );
    }
    let header = ["figure", "lakebase-rs", "official Python SDK", "ratio", "goal"];
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        eprintln!("| {} |", padded.join(" | "));
    };
    eprintln!();
    line(header);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    eprintln!("|-{}-|", rule.join("-|-"));
    for r in &rows {
        line([&r[0], &r[1], &r[2], &r[3], &r[4]]);
    }
    if !against_mock {
        eprintln!("note: the official figures were taken against mock_server.py; these were not, so ratios only hint");
    }
}

/// The `q`-quantile (0..=1) of sorted samples, by nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&samples, 0.5), 50.0);
        assert_eq!(quantile(&samples, 0.99), 99.0);
        assert_eq!(quantile(&samples, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn json_line_carries_fields_and_notes() {
        let mut report = Report::new("list");
        report.set("items", 3).set_f("wall_s", 0.123_456_7).note("skipped x");
        let line = report.to_json();
        assert_eq!(line["scenario"], "list");
        assert_eq!(line["items"], 3);
        assert_eq!(line["wall_s"], 0.1235);
        assert_eq!(line["notes"][0], "skipped x");
        assert_eq!(report.num("items"), Some(3.0));
    }
}
