//! Values as a user writes them in a settings file: `3.0`, `1e300`, `{ kind = "none" }`.
//!
//! Every error quotes the value it refuses in the user's own spelling, so the
//! key table, the fault checks and the range checks all show values the same
//! way. It sits below all of them (it knows no setting), which is what keeps
//! the table and the fault checks from needing each other.

use lc_core::latency::Delay;

/// A number as a person would write it: `-5`, `0.25`, `1e300` (not 301 digits).
pub fn compact(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// A TOML value as written in a settings file, numbers compact.
pub fn show(value: &toml::Value) -> String {
    let list = |items: Vec<String>| items.join(", ");
    match value {
        // `3.0` stays `3.0`: shown as `3`, a refused float would look like a whole number.
        toml::Value::Float(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{x:.1}"),
        toml::Value::Float(x) => compact(*x),
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(items) => format!("[{}]", list(items.iter().map(show).collect())),
        toml::Value::Table(table) if table.is_empty() => "{}".into(),
        toml::Value::Table(table) => format!(
            "{{ {} }}",
            list(
                table
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", show(v)))
                    .collect()
            )
        ),
        other => other.to_string(),
    }
}

/// A delay as written in a settings file.
pub(crate) fn show_delay(delay: &Delay) -> String {
    match *delay {
        Delay::None => "{ kind = \"none\" }".into(),
        Delay::Constant { ms } => format!("{{ kind = \"constant\", ms = {} }}", compact(ms)),
        Delay::Uniform { min_ms, max_ms } => format!(
            "{{ kind = \"uniform\", min_ms = {}, max_ms = {} }}",
            compact(min_ms),
            compact(max_ms)
        ),
        Delay::Exponential { mean_ms } => {
            format!(
                "{{ kind = \"exponential\", mean_ms = {} }}",
                compact(mean_ms)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_shown_as_written() {
        let value: toml::Table =
            toml::from_str("v = [1.5, 3.0, \"a\", { kind = \"none\" }, 1e300, true]").unwrap();
        assert_eq!(
            show(&value["v"]),
            "[1.5, 3.0, \"a\", { kind = \"none\" }, 1e300, true]"
        );
    }

    #[test]
    fn numbers_are_written_compactly() {
        assert_eq!(compact(-5.0), "-5");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(1e-9), "1e-9");
        assert_eq!(compact(1e300), "1e300");
    }
}
