//! The study's CSV tables: `study.csv` (one row per trial) and `variations.csv` (one row per
//! variation, each figure's mean and standard deviation across its healthy trials).
//!
//! Built as strings (pure; the driver writes them). Cells are quoted only when they hold a
//! comma, a quote or a line break, as RFC 4180 asks, so the usual cells stay plain.

use super::concurrency::COLUMNS as CAUSALITY;
use super::figures::{Figure, Spread};
use super::record::{TrialRecord, VariationRow};
use std::fmt::Write as _;

/// `study.csv`: one row per trial, in plan order.
pub(crate) fn study_csv(records: &[TrialRecord]) -> String {
    let mut out = String::from("variation,trial,seed,rates,status,slowest_vm,slowest_rate");
    for figure in Figure::ALL {
        let _ = write!(out, ",{}", figure.column());
    }
    for column in CAUSALITY {
        let _ = write!(out, ",{column}");
    }
    out.push_str(",wall_s,run_dir\n");
    for r in records {
        let rates: Vec<String> = r.rates.iter().map(u32::to_string).collect();
        let mut cells = vec![
            cell(&r.variation),
            r.number.to_string(),
            r.seed.to_string(),
            rates.join(" "),
            cell(&r.status.to_string()),
        ];
        match &r.figures {
            Some(f) => {
                cells.push(f.slowest_vm.to_string());
                cells.push(number(f.slowest_rate));
                cells.extend(Figure::ALL.iter().map(|&figure| number(f.get(figure))));
            }
            None => cells.extend(std::iter::repeat_n(String::new(), 2 + Figure::ALL.len())),
        }
        match &r.causality {
            Some(c) => cells.extend(c.values().map(number)),
            None => cells.extend(std::iter::repeat_n(String::new(), CAUSALITY.len())),
        }
        cells.push(format!("{:.1}", r.wall.as_secs_f64()));
        cells.push(cell(
            &r.run_dir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
        ));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// `variations.csv`: one row per variation, `<figure>_mean` and `<figure>_sd` for each figure.
pub(crate) fn variations_csv(rows: &[VariationRow]) -> String {
    let mut out = String::from("variation,trials,ok_trials");
    for figure in Figure::ALL {
        let _ = write!(out, ",{0}_mean,{0}_sd", figure.column());
    }
    for column in CAUSALITY {
        let _ = write!(out, ",{column}_mean,{column}_sd");
    }
    out.push_str(",overrides,description\n");
    for row in rows {
        let mut cells = vec![cell(&row.name), row.trials.to_string(), row.ok.to_string()];
        let spreads = row.spreads.iter().map(|(_, s)| s).chain(&row.causality);
        for spread in spreads {
            cells.push(spread.map(|s| number(s.mean)).unwrap_or_default());
            cells.push(spread.and_then(|s| s.sd).map(number).unwrap_or_default());
        }
        cells.push(cell(&row.overrides.join("; ")));
        cells.push(cell(row.description.as_deref().unwrap_or("")));
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A figure with enough digits to compare, and no trailing noise.
pub(crate) fn number(value: f64) -> String {
    let rounded = (value * 1e4).round() / 1e4;
    format!("{rounded}")
}

/// One CSV cell, quoted when it must be.
pub(crate) fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A mean ± standard deviation as the report's tables show it; – for none.
pub(crate) fn spread_text(spread: Option<Spread>) -> String {
    match spread {
        None => "–".into(),
        Some(Spread { mean, sd: None }) => number(mean),
        Some(Spread { mean, sd: Some(sd) }) => format!("{} ± {}", round2(mean), round2(sd)),
    }
}

fn round2(value: f64) -> String {
    format!("{}", (value * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::concurrency::TrialCausality;
    use crate::plan;
    use crate::record::tests::{record, PLAN};
    use crate::record::{variation_rows, TrialStatus};

    #[test]
    fn one_row_per_trial_with_failures_marked() {
        let records = [
            record("a", 1, TrialStatus::Ok, 2.5),
            record("a", 2, TrialStatus::Failed("port, busy".into()), 0.0),
            record("b", 1, TrialStatus::NotRun, 0.0),
        ];
        let csv = study_csv(&records);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        let columns = lines[0].split(',').count();
        assert!(lines[0].starts_with("variation,trial,seed,rates,status,slowest_vm"));
        assert!(
            lines[1].starts_with("a,1,11,1 3 6,ok,1,1,2.5,2.5,"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains(",\"failed: port, busy\","),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].contains(",not run (study interrupted),"),
            "{}",
            lines[3]
        );
        assert_eq!(lines[3].split(',').count(), columns);
    }

    #[test]
    fn the_causality_columns_follow_the_figures() {
        let plan = plan::parse(PLAN).unwrap();
        let mut concurrent = record("a", 1, TrialStatus::Ok, 2.5);
        concurrent.causality = Some(TrialCausality {
            internal_probability: Some(0.7),
            concurrent_fraction: 0.25,
            lamport_ordered_fraction: 0.125,
            pairs: Vec::new(),
        });
        let records = [concurrent, record("b", 1, TrialStatus::NotRun, 0.0)];
        let csv = study_csv(&records);
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].ends_with(
            ",late_max_ms,concurrent_fraction,lamport_ordered_concurrent_fraction,wall_s,run_dir"
        ));
        assert!(
            lines[1].ends_with(",2.5,0.25,0.125,2.0,study/trials/a-1/run"),
            "{}",
            lines[1]
        );
        assert_eq!(lines[2].split(',').count(), lines[0].split(',').count());

        let csv = variations_csv(&variation_rows(&plan, &records));
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].contains(
            ",concurrent_fraction_mean,concurrent_fraction_sd,\
             lamport_ordered_concurrent_fraction_mean,lamport_ordered_concurrent_fraction_sd,\
             overrides,"
        ));
        assert!(lines[1].ends_with(",0.25,,0.125,,,first"), "{}", lines[1]);
        assert!(lines[2].ends_with(",,,,,rate_min = 2,"), "{}", lines[2]);
    }

    #[test]
    fn one_row_per_variation_with_mean_and_sd() {
        let plan = plan::parse(PLAN).unwrap();
        let records = [
            record("a", 1, TrialStatus::Ok, 2.0),
            record("a", 2, TrialStatus::Ok, 4.0),
            record("b", 1, TrialStatus::Ok, 5.0),
            record("b", 2, TrialStatus::Failed("no".into()), 0.0),
        ];
        let csv = variations_csv(&variation_rows(&plan, &records));
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("variation,trials,ok_trials,max_jump_mean,max_jump_sd,"));
        assert!(lines[1].starts_with("a,2,2,3,1.4142,3,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",,first"), "{}", lines[1]);
        assert!(lines[2].starts_with("b,2,1,5,,5,,"), "{}", lines[2]);
    }
}
