//! The `logical-clocks` command line: parse flags, pick the subcommand,
//! print results and errors. Everything else lives in the library.

use clap::{Arg, ArgAction, ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use lc_analysis::{self, AnalyzeOptions};
use lc_settings::{self, flag_help, Key, Layers, Origin, RunSpec, Settings, SettingsError, KEYS};
use logical_clocks::local_cluster::LocalClusterError;
use logical_clocks::run::{self, RunError, RunOptions};
use std::ffi::OsString;
use std::fmt;
use std::io::{self, IsTerminal, Write};
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
    after_help = lc_settings::settings_help()
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
    #[command(after_help = lc_settings::settings_help())]
    Run(RunArgs),
    /// Analyse runs: statistics, the clock-condition check, summary.json, events.csv, plots.
    Analyze(AnalyzeArgs),
    /// Run a study: each variation of a plan for several trials, analysed and compared.
    Experiment(ExperimentArgs),
    /// Run one VM of a cluster whose nodes (processes or hosts) are named in a cluster file.
    Node(NodeArgs),
    /// Start a cluster of N node processes on this machine, wait for them, and analyse their
    /// runs as one.
    Cluster(ClusterArgs),
    /// Check every schedule of a small system (every interleaving of ticks, die outcomes and
    /// deliveries) against the clock rules; exit 1 if a property breaks.
    Check(CheckArgs),
}

#[derive(Args)]
struct CheckArgs {
    /// VMs in the checked system (2 or 3).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 2,
        allow_negative_numbers = true
    )]
    vm_count: i64,
    /// Ticks each VM takes (1 to 4 with 2 VMs, 1 with 3).
    #[arg(
        long,
        value_name = "K",
        default_value_t = 3,
        allow_negative_numbers = true
    )]
    ticks: i64,
    /// Let each VM crash once and restart with its clocks reset.
    #[arg(long)]
    crash_reset: bool,
    /// Serve stateright's Explorer for the same model on ADDR (e.g. 127.0.0.1:3000; port 0
    /// picks a free one) instead of checking, until Ctrl-C.
    #[arg(long, value_name = "ADDR")]
    explore: Option<String>,
    /// Let --explore listen on an address other than loopback (the Explorer has no login).
    #[arg(long, requires = "explore")]
    explore_remote: bool,
    /// Where the run of a broken property is written (default: `log_dir` from the settings
    /// file or LOGICAL_CLOCKS_LOG_DIR, else logs).
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
}

#[derive(Args)]
struct NodeArgs {
    /// The id of this node's VM: one of the cluster file's `[[peers]]` ids.
    #[arg(long, value_name = "K", allow_negative_numbers = true)]
    id: i64,
    /// The cluster file: the settings, `[[peers]]` with `id` and `addr`, and the secret.
    #[arg(long, value_name = "FILE")]
    cluster: PathBuf,
    /// Where this node writes its run directory (default: `log_dir` from the cluster file or
    /// LOGICAL_CLOCKS_LOG_DIR, else logs). Each node's own: it is not compared with its peers.
    #[arg(long, value_name = "DIR")]
    log_dir: Option<OsString>,
    /// Check the cluster file for this node and print its settings digest (which every node
    /// must share); start nothing.
    #[arg(long)]
    check: bool,
}

#[derive(Args)]
struct ClusterArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Skip the PNG plots of the merged analysis.
    #[arg(long)]
    no_plots: bool,
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
    /// After each real-time trial, run its virtual-time twin (same seed and settings) and
    /// compare the two event by event: twins.csv and a section of report.md.
    #[arg(long)]
    twins: bool,
    /// Keep each trial's VM logs gzipped (vm-<id>.log.gz), compressed once the trial is
    /// analysed; `analyze` reads them as they are.
    #[arg(long)]
    compress_logs: bool,
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
    /// Also write the runs' events with their vector clocks to FILE, as a log ShiViz opens
    /// (one execution per run).
    #[arg(long, value_name = "FILE")]
    shiviz: Option<PathBuf>,
    /// Where to look for the newest run (default: `log_dir` from the settings file or
    /// LOGICAL_CLOCKS_LOG_DIR, else logs).
    #[arg(long, value_name = "DIR")]
    log_dir: Option<PathBuf>,
    /// Settings file to take `log_dir` from.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Also write report.html into each run directory: the space-time diagram (hover an event
    /// for its clocks, click it for its causal past and future), the report and the plots, in
    /// one self-contained page.
    #[arg(long)]
    html: bool,
    /// Compare two runs event by event, timestamps ignored (a real run and its virtual-time
    /// twin, say) and write nothing; exit 0 when identical, 1 when they differ.
    #[arg(long, num_args = 2, value_names = ["RUN_A", "RUN_B"])]
    compare: Option<Vec<PathBuf>>,
    /// Analyse the RUN_DIRs as ONE run whose VMs ran as separate nodes (each directory holds
    /// its own VMs' logs and the run's settings.toml): each directory's clock offset from the
    /// first's is estimated from the messages between them and removed, and the output goes
    /// into the first directory.
    #[arg(long)]
    merge: bool,
}

/// The run's flags: `--config`, and one flag for each key of the settings
/// table that has one, made from the table (name, value name, help, place).
/// Values are kept as text and read by the settings' own parser, like
/// environment variables, so a flag is checked exactly like the file and the
/// environment (`--vm-count 3.5` is refused the same way as `vm_count =
/// 3.5`), and a negative number reaches the range check.
#[derive(Clone, Default)]
struct RunArgs {
    /// Settings file (default: Settings.toml in the working directory, if present).
    config: Option<PathBuf>,
    /// The settings flags given, in their `--help` order, as text (a switch as `true`).
    flags: Vec<(&'static Key, OsString)>,
}

/// The id and place in `--help` of `--config`, among the table's flags.
const CONFIG_ARG: &str = "config";
const CONFIG_POSITION: usize = 3;

/// The table's keys that have a flag, in their `--help` order.
fn flag_keys() -> Vec<&'static Key> {
    let mut keys: Vec<&Key> = KEYS.iter().filter(|key| key.flag.is_some()).collect();
    keys.sort_by_key(|key| key.flag.map(|flag| flag.position));
    keys
}

/// The flag of `key`: a switch for a boolean, else a value kept as text.
fn flag_arg(key: &'static Key) -> Option<(usize, Arg)> {
    let flag = key.flag?;
    let arg = Arg::new(key.name).long(flag.name()).help(flag_help(key));
    let arg = if key.is_switch() {
        arg.action(ArgAction::SetTrue)
    } else {
        arg.value_name(flag.value_name)
            .value_parser(clap::value_parser!(OsString))
            .action(ArgAction::Set)
            .allow_negative_numbers(key.takes_numbers())
    };
    Some((flag.position, arg))
}

impl Args for RunArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let config = Arg::new(CONFIG_ARG)
            .long(CONFIG_ARG)
            .value_name("FILE")
            .value_parser(clap::value_parser!(PathBuf))
            .action(ArgAction::Set)
            .help("Settings file (default: Settings.toml in the working directory, if present)");
        let mut args: Vec<(usize, Arg)> = KEYS.iter().filter_map(flag_arg).collect();
        args.push((CONFIG_POSITION, config));
        args.sort_by_key(|(position, _)| *position);
        args.into_iter().fold(cmd, |cmd, (_, arg)| cmd.arg(arg))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl FromArgMatches for RunArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Vec::new();
        for key in flag_keys() {
            if key.is_switch() {
                if matches.get_flag(key.name) {
                    flags.push((key, OsString::from("true")));
                }
            } else if let Some(text) = matches.get_one::<OsString>(key.name) {
                flags.push((key, text.clone()));
            }
        }
        Ok(RunArgs {
            config: matches.get_one::<PathBuf>(CONFIG_ARG).cloned(),
            flags,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(&e),
    };
    match cli.command {
        Some(Command::Run(args)) => run_model(&args),
        Some(Command::Analyze(args)) => analyze(&args),
        Some(Command::Experiment(args)) => study(&args),
        Some(Command::Node(args)) => node(&args),
        Some(Command::Cluster(args)) => cluster(&args),
        Some(Command::Check(args)) => check(&args),
        None => run_model(&cli.run),
    }
}

/// What clap says for `e`: `--help` and `--version` on stdout (exit 0), a usage mistake on
/// stderr (exit 2). Clap itself ignores a failure to write them, so `--help > /dev/full` would
/// exit 0 having shown nothing; here that is an error of its own, as for every command's output.
fn clap_exit(e: &clap::Error) -> ExitCode {
    let printed = e.print().and_then(|()| io::stdout().flush());
    match printed {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            say(format_args!("error: writing the output failed: {error}"));
            ExitCode::from(USAGE_ERROR)
        }
        _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE_ERROR)),
    }
}

/// Exit code of `analyze` when a run breaks a clock rule or loses messages.
const UNHEALTHY_RUN: u8 = 1;

/// A `--config` that was given must be a settings file even where nothing is taken from it:
/// silently ignoring a mistyped path would hide the mistake.
fn check_config(config: Option<&std::path::Path>) -> Result<(), SettingsError> {
    match config {
        Some(path) => Settings::load(Some(path)).map(drop),
        None => Ok(()),
    }
}

fn analyze(args: &AnalyzeArgs) -> ExitCode {
    if let Err(e) = check_config(args.config.as_deref()) {
        return fail(USAGE_ERROR, &e);
    }
    if args.merge {
        return merge(args);
    }
    if let Some(pair) = &args.compare {
        return compare(pair, args);
    }
    let mut out = Output::stdout().failing_with(USAGE_ERROR);
    let runs = if args.runs.is_empty() {
        let log_dir = match &args.log_dir {
            Some(dir) => dir.clone(),
            None => match Settings::load(args.config.as_deref()) {
                Ok(settings) => settings.log_dir,
                Err(e) => return fail(USAGE_ERROR, &e),
            },
        };
        match lc_analysis::newest_run(&log_dir) {
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
        match lc_analysis::analyze_run(run, &options) {
            Ok(analysis) => {
                out.line(analysis.report());
                if args.html {
                    match lc_analysis::write_html_report(run, &analysis) {
                        Ok(page) => out.line(html_line(&page)),
                        Err(e) => return fail(USAGE_ERROR, &e),
                    }
                }
                analyses.push(analysis);
            }
            Err(e) => return fail(USAGE_ERROR, &e),
        }
    }
    if analyses.len() > 1 {
        out.line(lc_analysis::comparison_table(&analyses));
    }
    if let Some(path) = &args.shiviz {
        match lc_analysis::export_shiviz(&runs, path) {
            Ok(export) => out.line(format!(
                "ShiViz log: {} ({} events in {} execution{}); to see it, upload the file on \
                 the input page of https://bestchai.bitbucket.io/shiviz/",
                export.path.display(),
                export.events,
                export.executions.len(),
                if export.executions.len() == 1 {
                    ""
                } else {
                    "s"
                }
            )),
            Err(e) => return fail(USAGE_ERROR, &e),
        }
    }
    if analyses.iter().all(|a| a.is_healthy()) {
        out.exit(0)
    } else {
        say("error: a run is not healthy: a clock rule broken, messages lost or a log cut short (see above)");
        out.exit(UNHEALTHY_RUN)
    }
}

/// `analyze --merge DIR...`: the node directories of one run analysed as that run; exit codes as
/// for one run.
fn merge(args: &AnalyzeArgs) -> ExitCode {
    let other = [
        (args.compare.is_some(), "--compare"),
        (args.html, "--html"),
        (args.shiviz.is_some(), "--shiviz"),
    ];
    if let Some((_, flag)) = other.iter().find(|(given, _)| *given) {
        return fail(
            USAGE_ERROR,
            &format_args!(
                "--merge cannot be combined with {flag}: it takes only the node directories \
                 (RUN_DIR...) and --no-plots"
            ),
        );
    }
    let mut out = Output::stdout().failing_with(USAGE_ERROR);
    let options = AnalyzeOptions {
        plots: !args.no_plots,
    };
    match lc_analysis::analyze_merged(&args.runs, &options) {
        Ok(analysis) => {
            out.line(analysis.report());
            if analysis.is_healthy() {
                out.exit(0)
            } else {
                say("error: the run is not healthy: a clock rule broken, messages lost or a log cut short (see above)");
                out.exit(UNHEALTHY_RUN)
            }
        }
        Err(e) => fail(USAGE_ERROR, &e),
    }
}

/// What `--html` wrote, and how much of the run the page holds.
fn html_line(page: &lc_analysis::HtmlReport) -> String {
    let held = if page.events as u64 == page.total_events {
        format!("{} events", page.events)
    } else {
        format!("the first {} of {} events", page.events, page.total_events)
    };
    format!(
        "HTML report: {} ({held}, {} messages; open it in a browser and click an event)",
        page.path.display(),
        page.messages
    )
}

/// `analyze --compare A B`: like diff(1), 0 when the runs made the same events, 1 when not,
/// 2 when they cannot be read or the verdict cannot be written (never 1, which says "differ").
fn compare(pair: &[PathBuf], args: &AnalyzeArgs) -> ExitCode {
    if !args.runs.is_empty() {
        return fail(
            USAGE_ERROR,
            &"--compare takes exactly two run directories (RUN_A RUN_B); give no other RUN_DIR",
        );
    }
    let mut out = Output::stdout().failing_with(USAGE_ERROR);
    match lc_analysis::compare_runs(&pair[0], &pair[1]) {
        Ok(comparison) => {
            out.print(comparison.render());
            out.exit(if comparison.identical() { 0 } else { 1 })
        }
        Err(e) => fail(USAGE_ERROR, &e),
    }
}

/// `experiment`: a bad plan, or trials that would not fit under the open-file limit together,
/// is a usage error (2) before anything runs; a study with a failed
/// or unhealthy trial is still written, and exits 1; one stopped by a signal is written too,
/// and exits with the signal's code (130, 143, 129), as `run` does.
fn study(args: &ExperimentArgs) -> ExitCode {
    use lc_experiment::{self, ExperimentError, StudyOptions};
    let mut out = Output::stdout();
    let loaded = match lc_experiment::load_plan(args.plan.as_deref()) {
        Ok(loaded) => loaded,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    if let Err(e) = check_config(args.config.as_deref()) {
        return fail(USAGE_ERROR, &e);
    }
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
        twins: args.twins,
        compress_logs: args.compress_logs,
    };
    let runner = logical_clocks::trial_runner::ActorRuns::watching_signals();
    match lc_experiment::run_study(&loaded, &options, &runner) {
        Ok(study) => {
            out.line(study.table());
            out.line(format_args!("study directory: {}", study.dir.display()));
            if let Some(signal) = runner.interrupted() {
                // As `run` does: the signal's code, the trials run so far written.
                say(format_args!(
                    "interrupted by {signal}; the trials not run are marked so in report.md"
                ));
                out.exit(signal.exit_code())
            } else if study.all_ok() {
                out.exit(0)
            } else {
                say("error: some trials failed or were unhealthy (see report.md)");
                out.exit(1)
            }
        }
        Err(
            e @ (ExperimentError::StudyDir { .. }
            | ExperimentError::FileLimit(_)
            | ExperimentError::TwinsOnVirtualTime),
        ) => fail(USAGE_ERROR, &e),
        Err(e) => fail(1, &e),
    }
}

fn run_model(args: &RunArgs) -> ExitCode {
    match load_spec(args) {
        Ok(spec) => run_spec(spec),
        Err(e) => fail(USAGE_ERROR, &e),
    }
}

/// `node`: the cluster file, checked for this node, and its VM's run.
fn node(args: &NodeArgs) -> ExitCode {
    let mut spec = match lc_settings::cluster::load(&args.cluster, args.id) {
        Ok(spec) => spec,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    if let Some(dir) = &args.log_dir {
        spec.log_dir = PathBuf::from(dir);
    }
    if args.check {
        let mut out = Output::stdout();
        out.line(format_args!(
            "{}: {}",
            args.cluster.display(),
            lc_settings::cluster::describe(&spec)
        ));
        return out.exit(0);
    }
    run_spec(spec)
}

/// `cluster`: N nodes on this machine, then their runs analysed as one.
fn cluster(args: &ClusterArgs) -> ExitCode {
    let spec = match load_spec(&args.run) {
        Ok(spec) => spec,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    let mut out = Output::stdout();
    let cluster = match logical_clocks::local_cluster::run(&spec, &mut |line| say(line)) {
        Ok(cluster) => cluster,
        Err(e @ (LocalClusterError::FileLimit(_) | LocalClusterError::NotLocal(_))) => {
            return fail(USAGE_ERROR, &e)
        }
        Err(e) => return fail(1, &e),
    };
    for node in cluster.failed_nodes() {
        say(format_args!(
            "error: node {} exited with {} ({}); its output is in {}",
            node.id,
            node.status,
            node.last_line.as_deref().unwrap_or("it printed nothing"),
            node.output.display()
        ));
    }
    let Some(dirs) = cluster.run_dirs() else {
        say("error: not every node made a run directory (see the nodes' output above)");
        return out.exit(1);
    };
    for dir in &dirs {
        out.line(format_args!("node run directory: {}", dir.display()));
    }
    let options = AnalyzeOptions {
        plots: !args.no_plots,
    };
    let healthy = match lc_analysis::analyze_merged(&dirs, &options) {
        Ok(merged) => {
            out.line(merged.report());
            merged.is_healthy()
        }
        Err(e) => {
            say(format_args!(
                "error: the nodes' runs cannot be analysed as one: {e}"
            ));
            false
        }
    };
    if !(cluster.all_succeeded() && healthy) {
        say("error: a node failed, or the merged run broke a rule or lost messages (see above)");
        return out.exit(1);
    }
    // As `run` does: 130 after Ctrl-C, 143 after SIGTERM, 129 after SIGHUP
    // (every node stopped in order).
    out.exit(cluster.interrupted.map_or(0, |signal| signal.exit_code()))
}

/// `check`: every schedule of a small system, each property held or broken
/// (the broken ones' runs printed and written as logs `analyze` reads), or the Explorer.
fn check(args: &CheckArgs) -> ExitCode {
    let size = if args.crash_reset {
        lc_check::Size::with_crash_reset(args.vm_count, args.ticks)
    } else {
        lc_check::Size::new(args.vm_count, args.ticks)
    };
    let size = match size {
        Ok(size) => size,
        Err(e) => return fail(USAGE_ERROR, &e),
    };
    let model = lc_check::CheckModel::new(size, args.crash_reset);
    let mut out = Output::stdout();
    if let Some(address) = &args.explore {
        let address = match lc_check::explore::settle(address, args.explore_remote) {
            Ok(address) => address,
            Err(e) => return fail(USAGE_ERROR, &e),
        };
        out.line(format_args!("Explorer for {size}: http://{address}/"));
        lc_check::explore::serve(model, address);
        return out.exit(0);
    }
    out.line(format_args!("checking every schedule of {size}"));
    let report = lc_check::check(model, &mut |figures| {
        say(format_args!("checking: {figures}"))
    });
    out.line(report.figures);
    for property in &report.properties {
        out.line(property.headline());
        if let lc_check::Outcome::Broken(path) = &property.outcome {
            for line in lc_check::counterexample::lines(path) {
                out.line(format_args!("  {}", line.text));
            }
            match write_counterexample(args, path) {
                Ok(dir) => out.line(format_args!("  written to {}", dir.display())),
                Err(e) => say(format_args!("error: the run cannot be written: {e}")),
            }
        }
    }
    out.exit(if report.passed() { 0 } else { 1 })
}

/// Writes a broken property's run into a fresh `check-...` directory of the log directory.
fn write_counterexample(
    args: &CheckArgs,
    path: &[(lc_check::state::SystemState, Option<lc_check::Step>)],
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let log_dir = match &args.log_dir {
        Some(dir) => dir.clone(),
        None => Settings::load(None)?.log_dir,
    };
    Ok(lc_check::counterexample::write_run(
        &log_dir, "check-", path,
    )?)
}

fn run_spec(spec: RunSpec) -> ExitCode {
    let mut out = Output::stdout();
    let options = RunOptions {
        show_progress: std::io::stderr().is_terminal(),
        announce: true,
        ..RunOptions::default()
    };
    let outcome = match run::run(spec, options) {
        Ok(outcome) => outcome,
        Err(
            e @ (RunError::Bind { .. }
            | RunError::NotLocal { .. }
            | RunError::NodeBind { .. }
            | RunError::RunDir { .. }
            | RunError::FileLimit(_)),
        ) => return fail(USAGE_ERROR, &e),
        Err(e) => return fail(1, &e),
    };
    out.print(outcome.summary_table());
    out.line(outcome.timing_line());
    out.line(format_args!("run directory: {}", outcome.run_dir.display()));
    if let Some(signal) = outcome.interrupted {
        say(format_args!(
            "interrupted by {signal} after {:.1}s; stopped in order",
            outcome.elapsed.as_secs_f64()
        ));
    }
    if !outcome.missing.is_empty() {
        say(format_args!(
            "error: VM(s) {:?} never stopped cleanly",
            outcome.missing
        ));
    }
    if !outcome.books_balance() {
        say(format_args!(
            "error: message accounting does not balance: {:?}",
            outcome.accounting()
        ));
    }
    if let Some(failure) = &outcome.log_failure {
        say(format_args!(
            "error: the logs in {} are incomplete (lines lost or cut short): {failure}",
            outcome.run_dir.display()
        ));
    }
    out.exit(outcome.exit_code())
}

/// Settings file and environment, checked on their own (a bad value is an
/// error even when a flag overrides it), then the flags on top. A key the flags
/// leave alone is judged with the flags applied: its relation to the others (a
/// fault within the runtime, one rate per VM) holds or not for the run that will be.
fn load_spec(args: &RunArgs) -> Result<RunSpec, SettingsError> {
    let mut layers = Layers::load(args.config.as_deref())?;
    let on_their_own = layers.resolve(|| 0);
    for (key, text) in &args.flags {
        let flag = key.flag.map_or(key.name, |flag| flag.long);
        layers.set_text(key.name, text, Origin::Flag(flag))?;
    }
    let flagged = |name| args.flags.iter().any(|(key, _)| key.name == name);
    match on_their_own {
        Err(error) if error.key().is_some_and(flagged) => Err(error),
        _ => layers.resolve(|| u64::from(rand::random::<u32>())),
    }
}

fn fail(code: u8, error: &dyn fmt::Display) -> ExitCode {
    say(format_args!("error: {error}"));
    ExitCode::from(code)
}

/// One line on stderr. `eprintln!` would panic if stderr is a closed pipe
/// (`2>&1 | head -1`); there is then no one left to tell, so the line is
/// dropped and the command carries on.
fn say(line: impl fmt::Display) {
    let _ = writeln!(io::stderr(), "{line}");
}

/// The command's results on stdout. A reader that goes away early (`| head
/// -1`, `| true`) closes the pipe; Rust ignores SIGPIPE, so the next write
/// returns EPIPE, on which `println!` panics, cutting the command short
/// (a run's summary, `analyze`'s files for the remaining runs). Here a
/// closed pipe only ends the output, quietly: the reader asked for no more.
/// Any other failure (a full disk behind `> out.txt`) means the results
/// were lost, so it is said once on stderr and a successful command exits 1 (or the code
/// [`Output::failing_with`] sets, where 1 already means something else).
struct Output<W: Write> {
    writer: W,
    state: OutputState,
    /// The least exit code once the output failed.
    failure_code: u8,
}

/// What became of the output so far.
#[derive(Debug)]
enum OutputState {
    Open,
    /// The reader closed the pipe: write nothing more, and say nothing.
    Closed,
    /// Writing failed otherwise: the results did not reach their reader.
    Failed(io::Error),
}

impl OutputState {
    /// The state after a write failed with `error`.
    fn after(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            OutputState::Closed
        } else {
            OutputState::Failed(error)
        }
    }
}

impl Output<io::Stdout> {
    fn stdout() -> Self {
        Output::new(io::stdout())
    }
}

impl<W: Write> Output<W> {
    fn new(writer: W) -> Self {
        Output {
            writer,
            state: OutputState::Open,
            failure_code: 1,
        }
    }

    /// This output, exiting at least `code` if it fails: `analyze` uses 1 for an unhealthy run
    /// and `--compare` for runs that differ, so a lost output must not pass for either.
    fn failing_with(mut self, code: u8) -> Self {
        self.failure_code = code;
        self
    }

    /// Writes `text` as it is.
    fn print(&mut self, text: impl fmt::Display) {
        if !matches!(self.state, OutputState::Open) {
            return;
        }
        let written = write!(self.writer, "{text}").and_then(|()| self.writer.flush());
        if let Err(error) = written {
            self.state = OutputState::after(error);
        }
    }

    /// Writes `text` and a newline.
    fn line(&mut self, text: impl fmt::Display) {
        self.print(format_args!("{text}\n"));
    }

    /// The command's exit code, once its output is done: `code`, unless
    /// the results of a successful command could not be written.
    fn exit(self, code: u8) -> ExitCode {
        let (code, complaint) = self.exit_code(code);
        if let Some(line) = complaint {
            say(line);
        }
        ExitCode::from(code)
    }

    /// The exit code, and the line to say on stderr if the output failed (returned rather
    /// than said, so the unit tests below print nothing alarming).
    fn exit_code(self, code: u8) -> (u8, Option<String>) {
        match self.state {
            OutputState::Open | OutputState::Closed => (code, None),
            OutputState::Failed(error) => (
                code.max(self.failure_code),
                Some(format!("error: writing the output failed: {error}")),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails every write with `kind`, counting the attempts.
    struct Failing(io::ErrorKind, usize);

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            self.1 += 1;
            Err(self.0.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn output_reaches_its_reader_as_written() {
        let mut out = Output::new(Vec::new());
        out.print("table\n");
        out.line(format_args!("run directory: {}", "logs/x"));
        assert_eq!(out.writer, b"table\nrun directory: logs/x\n");
        assert_eq!(out.exit_code(143), (143, None));
    }

    #[test]
    fn a_closed_pipe_ends_the_output_quietly_and_keeps_the_exit_code() {
        let mut out = Output::new(Failing(io::ErrorKind::BrokenPipe, 0));
        out.line("first");
        out.line("second");
        assert_eq!(out.writer.1, 1, "nothing more is written once closed");
        assert_eq!(out.exit_code(0), (0, None));
        let mut out = Output::new(Failing(io::ErrorKind::BrokenPipe, 0));
        out.line("first");
        assert_eq!(out.exit_code(129), (129, None));
    }

    #[test]
    fn other_write_failures_make_a_successful_command_fail() {
        let mut out = Output::new(Failing(io::ErrorKind::StorageFull, 0));
        out.line("first");
        out.line("second");
        assert_eq!(out.writer.1, 1);
        let (code, complaint) = out.exit_code(0);
        assert_eq!(code, 1);
        assert_eq!(
            complaint.as_deref(),
            Some("error: writing the output failed: no storage space")
        );
        let mut out = Output::new(Failing(io::ErrorKind::StorageFull, 0));
        out.line("first");
        assert_eq!(out.exit_code(130).0, 130, "a more telling code is kept");
    }

    #[test]
    fn a_lost_output_can_fail_with_a_code_of_its_own() {
        // `--compare` exits 1 for "the runs differ": a lost verdict must not read as that.
        let mut out = Output::new(Failing(io::ErrorKind::StorageFull, 0)).failing_with(2);
        out.line("Identical");
        assert_eq!(out.exit_code(0).0, 2);
        let mut out = Output::new(Failing(io::ErrorKind::StorageFull, 0)).failing_with(2);
        out.line("Different");
        assert_eq!(out.exit_code(1).0, 2);
    }
}
