//! The evidence as one self-contained HTML page: no external asset, styles inline,
//! laid out to print to PDF (A4, header rows repeated, rows never split). Every
//! value is escaped by the template engine (minijinja, auto-escaping HTML).

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment};

use super::Evidence;
use crate::error::CliError;

const TEMPLATE: &str = include_str!("page.html");

/// `2026-11-30T23:15:02.123Z` as `2026-11-30 23:15:02 UTC`.
fn when(value: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&value).map_or(value, |t| {
        t.with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string()
    })
}

/// Milliseconds for people: `850 ms`, `12.4 s`, `3 min 05 s`.
fn ms(value: i64) -> String {
    match value {
        v if v < 1_000 => format!("{v} ms"),
        v if v < 60_000 => format!("{:.1} s", v as f64 / 1000.0),
        v => format!("{} min {:02} s", v / 60_000, (v % 60_000) / 1000),
    }
}

pub(super) fn render(evidence: &Evidence) -> Result<String, CliError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_filter("when", when);
    env.add_filter("ms", ms);
    let failed =
        |e: minijinja::Error| CliError::partial(format!("cannot write the evidence page: {e}"));
    env.add_template("evidence.html", TEMPLATE)
        .map_err(failed)?;
    env.get_template("evidence.html")
        .and_then(|t| t.render(Value::from(Serde(evidence))))
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations_read_well() {
        assert_eq!(
            when("2026-11-30T23:15:02.123Z".into()),
            "2026-11-30 23:15:02 UTC"
        );
        assert_eq!(when("not a time".into()), "not a time");
        assert_eq!(ms(850), "850 ms");
        assert_eq!(ms(12_400), "12.4 s");
        assert_eq!(ms(185_000), "3 min 05 s");
    }
}
