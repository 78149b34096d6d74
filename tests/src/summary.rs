//! The per-operation pass/fail table printed by `cargo xtask conformance`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Thread-safe tally of results per operation.
#[derive(Debug, Default)]
pub struct Summary {
    rows: Mutex<BTreeMap<String, (usize, usize)>>,
}

impl Summary {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one cassette of `operation`.
    pub fn record(&self, operation: &str, passed: bool) {
        let mut rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let row = rows.entry(operation.to_string()).or_default();
        if passed {
            row.0 += 1;
        } else {
            row.1 += 1;
        }
    }

    /// `(passed, failed)` over all operations.
    pub fn totals(&self) -> (usize, usize) {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        rows.values().fold((0, 0), |(p, f), (rp, rf)| (p + rp, f + rf))
    }

    /// The table: one row per operation, then the totals.
    pub fn table(&self) -> String {
        let rows = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let width = rows
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(0)
            .max("operation".len())
            .max("TOTAL".len());
        let mut out = String::new();
        let _ = writeln!(out, "{:<width$}  {:>6}  {:>6}", "operation", "passed", "failed");
        let _ = writeln!(out, "{}  {}  {}", "-".repeat(width), "-".repeat(6), "-".repeat(6));
        let (mut tp, mut tf) = (0, 0);
        for (op, (p, f)) in rows.iter() {
            let mark = if *f > 0 { "  <-- FAILING" } else { "" };
            let _ = writeln!(out, "{op:<width$}  {p:>6}  {f:>6}{mark}");
            tp += p;
            tf += f;
        }
        let _ = writeln!(out, "{}  {}  {}", "-".repeat(width), "-".repeat(6), "-".repeat(6));
        let _ = writeln!(out, "{:<width$}  {tp:>6}  {tf:>6}", "TOTAL");
        let _ = writeln!(out, "{} operations, {} cassettes", rows.len(), tp + tf);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_counts() {
        let s = Summary::new();
        s.record("get_project", true);
        s.record("get_project", false);
        s.record("create_branch", true);
        assert_eq!(s.totals(), (2, 1));
        let t = s.table();
        assert!(t.contains("get_project"), "{t}");
        assert!(t.contains("TOTAL"), "{t}");
    }
}
