//! The `logical-clocks` command line: parse flags, pick the subcommand,
//! print results and errors. Everything else lives in the library.

use clap::{Args, Parser, Subcommand};
use logical_clocks::analysis::{self, AnalyzeOptions};
use logical_clocks::run::{self, RunError, RunOptions};
use logical_clocks::settings::{self, flag_help, Layers, Origin, RunSpec, Settings, SettingsError};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for a mistake in the settings or flags.
const USAGE_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "logical-clocks",
    version,
    about = "Model VMs with Lamport clocks ticking at different rates over real TCP",
    args_conflicts_with_subcommands = true,
    after_help = settings::settings_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the model (the default when no subcommand is given).
    #[command(after_help = settings::settings_help())]
    Run(RunArgs),
    /// Analyse runs: statistics, the clock-condition check, summary.json, events.csv, plots.
    Analyze(AnalyzeArgs),
    /// Run a study: each variation of a plan for several trials, analysed and compared.
    Experiment(ExperimentArgs),
}

#[derive(Args)]
struct ExperimentArgs {
    /// Plan file (default: the built-in experiments/assignment.toml).
    #[arg(value_name = "PLAN")]
    plan: Option<PathBuf>,
    /// Trials run at once, each with its own actor system and free ports.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Run every trial on virtual time.
    #[arg(long)]
    virtual_time: bool,
    /// Directory that receives the study directory (default: `log_dir` from the settings file or
    /// LOGICAL_CLOCKS_LOG_DIR, else logs).
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Settings file to take `log_dir` from (the plan decides everything else).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Run directories to analyse (default: the newest run in the log directory).
    #[arg(value_name = "RUN_DIR")]
    runs: Vec<PathBuf>,
    /// Skip the PNG plots (faster).
    #[arg(long)]
    no_plots: bool,
    /// Where to look for the newest run (default: `log_dir` from the settings file or
    /// LOGICAL_CLOCKS_LOG_DIR, else logs).
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Settings file to take `log_dir` from.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// The run's flags. Values are kept as text and read by the settings' own
/// parser, like environment variables, so a flag is checked exactly like the
/// file and the environment (`--vm-count 3.5` is refused the same way as
/// `vm_count = 3.5`), and a negative number reaches the range check.
#[derive(Args, Clone, Default)]
struct RunArgs {
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true,
          help = flag_help("runtime"))]
    runtime: Option<OsString>,
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          help = flag_help("vm_count"))]
    vm_count: Option<OsString>,
    #[arg(long, value_name = "PORT", allow_negative_numbers = true,
          help = flag_help("base_port"))]
    base_port: Option<OsString>,
    /// Settings file (default: Settings.toml in the working directory, if present).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[arg(long, value_name = "N|random", allow_negative_numbers = true,
          help = flag_help("seed"))]
    seed: Option<OsString>,
    #[arg(long, value_name = "DIR", help = flag_help("log_dir"))]
    log_dir: Option<OsString>,
    #[arg(long, help = flag_help("virtual_time"))]
    virtual_time: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Run(args)) => run_model(&args),
        Some(Command::Analyze(args)) => analyze(&args),
        Some(Command::Experiment(args)) => study(&args),
        None => run_model(&cli.run),
    }
}

/// Exit code of `analyze` when a run breaks a clock rule or loses messages.
const UNHEALTHY_RUN: u8 = 1;

fn analyze(args: &AnalyzeArgs) -> ExitCode {
    let runs = if args.runs.is_empty() {
        let log_dir = match &args.log_dir {
            Some(dir) => dir.clone(),
            None => match Settings::load(args.config.as_deref()) {
                Ok(settings) => settings.log_dir,
                Err(e) => return fail(USAGE_ERROR, &e),
            },
        };
        match analysis::newest_run(&log_dir) {
            Ok(run) => vec![run],
            Err(e) => return fail(USAGE_ERROR, &e),
        }
    } else {
        args.runs.clone()
    };
    let options = AnalyzeOptions {
        plots: !args.no_plots,
    };
    let mut analyses = Vec::new();
    for run in &runs {
        match analysis::analyze_run(run, &options) {
            Ok(analysis) => {
                println!("{}", analysis.report());
                analyses.push(analysis);
            }
            Err(e) => return fail(USAGE_ERROR, &e),
        }
    }
    if analyses.len() > 1 {
        println!("{}", analysis::comparison_table(&analyses));
    }
    if analyses.iter().all(|a| a.is_healthy()) {
        ExitCode::SUCCESS
    } else {
        eprintln!("error: a run broke a clock rule or lost messages (see above)");
        ExitCode::from(UNHEALTHY_RUN)
    }
}

/// `experiment`: a bad plan is a usage error (2) before anything runs; a study with a failed
/// or unhealthy trial is still written, and exits 1.
fn study(args: &ExperimentArgs) -> ExitCode {
    use logical_clocks::experiment::{self, ExperimentError, StudyOptions};
    let loaded = match experiment::load_plan(args.plan.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    let log_dir = match &args.log_dir {
        Some(dir) => dir.clone(),
        None => match Settings::load(args.config.as_deref()) {
            Ok(settings) => settings.log_dir,
            Err(e) => return fail(USAGE_ERROR, &e),
        },
    };
    let options = StudyOptions {
        jobs: args.jobs.into(),
        virtual_time: args.virtual_time,
        log_dir,
    };
    match experiment::run_study(&loaded, &options) {
        Ok(study) => {
            println!("{}", study.table());
            println!("study directory: {}", study.dir.display());
            if study.all_ok() {
                ExitCode::SUCCESS
            } else {
                eprintln!("error: some trials failed or were unhealthy (see report.md)");
                ExitCode::from(1)
            }
        }
        Err(e @ ExperimentError::StudyDir { .. }) => fail(USAGE_ERROR, &e),
        Err(e) => fail(1, &e),
    }
}

fn run_model(args: &RunArgs) -> ExitCode {
    let spec = match load_spec(args) {
        Ok(spec) => spec,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    let options = RunOptions {
        show_progress: std::io::stderr().is_terminal(),
        announce: true,
        ..RunOptions::default()
    };
    let outcome = match run::run(spec, options) {
        Ok(outcome) => outcome,
        Err(e @ (RunError::Bind { .. } | RunError::RunDir { .. } | RunError::FileLimit { .. })) => {
            return fail(USAGE_ERROR, &e)
        }
        Err(e) => return fail(1, &e),
    };
    print!("{}", outcome.summary_table());
    println!("{}", outcome.timing_line());
    println!("run directory: {}", outcome.run_dir.display());
    if let Some(signal) = outcome.interrupted {
        eprintln!(
            "interrupted by {signal} after {:.1}s; stopped in order",
            outcome.elapsed.as_secs_f64()
        );
    }
    if !outcome.missing.is_empty() {
        eprintln!("error: VM(s) {:?} never stopped cleanly", outcome.missing);
    }
    if !outcome.accounting().balanced() {
        eprintln!(
            "error: message accounting does not balance: {:?}",
            outcome.accounting()
        );
    }
    ExitCode::from(outcome.exit_code())
}

/// Settings file and environment, checked on their own (a bad value is an
/// error even when a flag overrides it), then the flags on top.
fn load_spec(args: &RunArgs) -> Result<RunSpec, SettingsError> {
    let mut layers = Layers::load(args.config.as_deref())?;
    layers.resolve(|| 0)?;
    let flags = [
        ("runtime", "--runtime", &args.runtime),
        ("vm_count", "--vm-count", &args.vm_count),
        ("base_port", "--base-port", &args.base_port),
        ("seed", "--seed", &args.seed),
        ("log_dir", "--log-dir", &args.log_dir),
    ];
    for (key, flag, text) in flags {
        if let Some(text) = text {
            layers.set_text(key, text, Origin::Flag(flag))?;
        }
    }
    if args.virtual_time {
        layers.set("virtual_time", true.into(), Origin::Flag("--virtual-time"))?;
    }
    layers.resolve(|| u64::from(rand::random::<u32>()))
}

fn fail(code: u8, error: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(code)
}
