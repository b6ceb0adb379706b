//! The integration tests, one module per suite, in one test binary: each suite used to be a
//! binary of its own, and every one of them linked the whole runtime again.
//! `cargo test --test integration SUITE::` runs one suite.

mod common;

mod actor_system;
mod analyze_causality;
mod analyze_faults;
mod analyze_handmade;
mod analyze_html;
mod analyze_inputs;
mod analyze_merge;
mod analyze_model;
mod analyze_rules;
mod analyze_runs;
mod analyze_shiviz;
mod check;
mod cluster;
mod cluster_faults;
mod command_line;
mod deploy_files;
mod experiment;
mod fault_schedule;
mod fault_settings;
mod faults;
mod handshake_properties;
#[cfg(target_os = "linux")]
mod honest_failure;
mod kept_evidence;
mod layers;
mod model_run;
mod netns;
mod pressure;
mod settings_errors;
mod settings_sources;
mod tick_phases;
mod twins;
mod unix_manners;
mod virtual_time;
