//! One JSON line per scenario on stdout, and a readable table on stderr.

use serde_json::{Map, Value, json};

/// The result of one scenario: ordered keys and values.
#[derive(Debug, Default)]
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

    /// Adds a note (what was skipped and why).
    pub fn note(&mut self, note: impl Into<String>) -> &mut Self {
        self.notes.push(note.into());
        self
    }

    /// Prints the JSON line on stdout and a table row on stderr.
    pub fn emit(mut self) {
        if !self.notes.is_empty() {
            self.fields.insert("notes".into(), json!(self.notes));
        }
        println!("{}", Value::Object(self.fields.clone()));
        let scenario = self.fields.remove("scenario").unwrap_or_default();
        let cells: Vec<String> = self
            .fields
            .iter()
            .filter(|(k, _)| *k != "notes")
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        eprintln!("{:<12} {}", scenario.as_str().unwrap_or_default(), cells.join("  "));
        for note in &self.notes {
            eprintln!("{:<12}   note: {note}", "");
        }
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
}
