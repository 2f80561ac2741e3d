//! Command-line definitions (clap). Kept apart from `main.rs` so completions and the man page
//! can be generated from the same definitions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Turns a folder of Sigma detection rules into an analytics wiki.
#[derive(Debug, Parser)]
#[command(name = "sigwiki", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalOptions,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// When to colour output (`NO_COLOR` is honoured by `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    /// Print less (repeat for errors only).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// Print more (warnings; for `build`, the stage timings too).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Worker threads for parsing, converting and rendering (default: one per core;
    /// `RAYON_NUM_THREADS` is honoured too).
    #[arg(short, long, value_name = "N", global = true, value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

/// When to use colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate and lint rules; exits 1 when a rule has errors.
    Check(CheckArgs),
    /// Convert rules to queries of one target, like `sigmac` / `sigma convert`.
    Convert(ConvertArgs),
    /// Build sigwiki's embedded datasets from public sources.
    #[command(subcommand)]
    Data(DataCommand),
    /// Work with MITRE ATT&CK data.
    #[command(subcommand)]
    Attack(AttackCommand),
    /// Build the wiki: rule pages (Markdown and HTML), indexes, coverage, exports.
    Build(BuildArgs),
    /// Run the rules' regression tests on recorded events, or try rules on any events.
    Test(TestArgs),
    /// Print one rule's page to stdout.
    Preview(PreviewArgs),
    /// Serve the site on 127.0.0.1, rebuilding and reloading on change.
    Serve(ServeArgs),
    /// Write a starter `sigwiki.toml` and the default templates for editing.
    Init(InitArgs),
    /// Work with the page templates.
    Templates(TemplatesArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// Output formats of `convert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConvertFormat {
    /// The queries, as the reference converter prints them.
    Text,
    /// One JSON object per rule file: `{rule, target, status, output | error}`.
    Jsonl,
}

/// `sigwiki convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The query target (`sigwiki convert --list-targets` lists them).
    #[arg(short, long, required_unless_present_any = ["list_targets", "list_pipelines"])]
    pub target: Option<String>,
    /// List the targets and exit.
    #[arg(long)]
    pub list_targets: bool,
    /// A processing pipeline applied before conversion: a pySigma pipeline file, or the name of
    /// a built-in one (`--list-pipelines`). Repeatable; chained by priority.
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// List the built-in pipelines and exit.
    #[arg(long)]
    pub list_pipelines: bool,
    /// A field mapping applied before conversion: a YAML file, or the name of a built-in one
    /// (`winlogbeat`, `ecs-windows`).
    #[arg(long, conflicts_with = "pipelines")]
    pub mapping: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConvertFormat::Text)]
    pub format: ConvertFormat,
    /// Rule files and folders (default: `rules/`).
    pub paths: Vec<PathBuf>,
}

/// `sigwiki data …`: the dataset importers.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Build the Data Needed catalog (data/data-needed.json) from the data dictionaries.
    ImportDataNeeded(ImportDataNeededArgs),
    /// Build the Atomic Red Team technique index (data/atomic-red-team.json).
    ImportAtomics(ImportAtomicsArgs),
    /// Show the Data Needed entries each rule matches (to check a --data-needed folder).
    Needed(NeededArgs),
}

/// `sigwiki data needed`.
#[derive(Debug, Args)]
pub struct NeededArgs {
    /// Rule files and folders (default: `rules/`).
    pub paths: Vec<PathBuf>,
    /// A folder of YAML files adding to or overriding the Data Needed catalog.
    #[arg(long, value_name = "DIR")]
    pub data_needed: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NeededFormat::Text)]
    pub format: NeededFormat,
}

/// `sigwiki data import-data-needed`.
#[derive(Debug, Args)]
pub struct ImportDataNeededArgs {
    /// An OTRF/OSSEM-DD checkout.
    #[arg(long, value_name = "DIR")]
    pub ossem: PathBuf,
    /// An atc-project/atc-data checkout (or its data_needed folder).
    #[arg(long, value_name = "DIR")]
    pub atc: PathBuf,
    /// The Sigma taxonomy appendix (sigma-appendix-taxonomy.md).
    #[arg(long, value_name = "FILE")]
    pub taxonomy: PathBuf,
    /// SigmaHQ's logsource.json (field names per log source).
    #[arg(long, value_name = "FILE")]
    pub logsource_fields: PathBuf,
    /// sigwiki's curated additions (data/data-needed-curated.yaml).
    #[arg(long, value_name = "FILE")]
    pub curated: Option<PathBuf>,
    /// Where to write the catalog (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `sigwiki data import-atomics`.
#[derive(Debug, Args)]
pub struct ImportAtomicsArgs {
    /// An atomic-red-team checkout (atomics/Txxxx/Txxxx.yaml), or a folder with
    /// Indexes-CSV/index.csv.
    pub dir: PathBuf,
    /// Where to write the index (default: standard output).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `sigwiki attack …`.
#[derive(Debug, Subcommand)]
pub enum AttackCommand {
    /// Build the compact ATT&CK dataset from a STIX 2.0/2.1 bundle (`.json` or `.json.gz`).
    Import(AttackImportArgs),
}

/// `sigwiki attack import`.
#[derive(Debug, Args)]
pub struct AttackImportArgs {
    /// The STIX bundle, such as `enterprise-attack-v19.1.json.gz`.
    pub file: PathBuf,
    /// Where to write the dataset (`-` for standard output).
    #[arg(short, long, value_name = "FILE", default_value = "data/attack.json")]
    pub output: PathBuf,
    /// The ATT&CK release (like `19.1`), when the bundle has no collection object and its
    /// file name carries no version.
    #[arg(long, value_name = "VERSION")]
    pub attack_version: Option<String>,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    /// `path:line:col: error[code]: message` lines and a summary.
    Text,
    /// One JSON array of `{file, line, column, severity, code, message}`.
    Json,
}

/// Output formats of `data needed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NeededFormat {
    /// `file: title` lines, each followed by the matched Data Needed entries.
    Text,
    /// One JSON array of `{file, document, title, data_needed}`.
    Json,
}

/// Output formats of `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// Verdicts for people.
    Text,
    /// One JSON object per regression test (with `--events`: per events file, and per rule and
    /// file with matches).
    Jsonl,
}

/// `sigwiki test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// Rule files and folders (default: `rules/`).
    pub paths: Vec<PathBuf>,
    /// The root of the rule repository that `regression_tests_path` is relative to (default:
    /// found by walking up from each rule).
    #[arg(long, value_name = "DIR")]
    pub regression_root: Option<PathBuf>,
    /// Evaluate the rules on these events files or folders (EVTX, JSON, JSON Lines) instead of
    /// running regression tests.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub events: Vec<PathBuf>,
    /// A log-source table replacing the embedded one (sigwiki's format or SigmaHQ's `thor.yml`).
    #[arg(long, value_name = "FILE")]
    pub logsources: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
    /// Fail (exit 1) when test data is missing too.
    #[arg(long)]
    pub strict: bool,
}

/// `sigwiki check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rule files and folders (default: `rules/`). A YAML file given by name that holds a
    /// processing pipeline (`transformations:`) is checked as one.
    pub paths: Vec<PathBuf>,
    /// A processing pipeline to check: a pySigma pipeline file, or the name of a built-in one.
    /// Repeatable.
    #[arg(short = 'p', long = "pipeline", value_name = "NAME|FILE")]
    pub pipelines: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    pub format: DiagnosticFormat,
    /// Treat warnings as errors.
    #[arg(long)]
    pub strict: bool,
    /// Largest rule file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_file_size: u64,
    /// ATT&CK data to check tags against instead of the embedded release: a STIX bundle or a
    /// dataset written by `sigwiki attack import`.
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
}

/// Options shared by the commands that render pages.
#[derive(Debug, Args)]
pub struct SiteArgs {
    /// Settings file (default: `sigwiki.toml` in the current directory, if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Query targets on rule pages, comma-separated, or `all`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub targets: Option<Vec<String>>,
    /// A folder of templates replacing the defaults by file name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// The site's title.
    #[arg(long)]
    pub title: Option<String>,
    /// Largest rule file accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024)]
    pub max_file_size: u64,
    /// An ATT&CK dataset written by `sigwiki attack import` (default: the embedded one).
    #[arg(long, value_name = "FILE")]
    pub attack: Option<PathBuf>,
    /// A folder of Data Needed YAML overrides.
    #[arg(long, value_name = "DIR")]
    pub data_needed: Option<PathBuf>,
    /// A local atomic-red-team checkout, for the names of the triggering tests.
    #[arg(long, value_name = "DIR")]
    pub atomics: Option<PathBuf>,
    /// A field mapping applied to every rule before its queries are written: a YAML file, or
    /// the name of a built-in one (`winlogbeat`, `ecs-windows`).
    #[arg(long, value_name = "MAPPING")]
    pub mapping: Option<PathBuf>,
}

/// `sigwiki build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Rule files and folders (default: `rules/`).
    pub paths: Vec<PathBuf>,
    /// Output folder (default: `site/`); replaced as a whole when the build succeeds.
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// The path the site is served under, e.g. `/<repo>/` for GitHub Pages (used by 404.html).
    #[arg(long, value_name = "PATH")]
    pub base_url: Option<String>,
    /// The published site's absolute URL: enables sitemap.xml and the Navigator link.
    #[arg(long, value_name = "URL")]
    pub site_url: Option<String>,
    /// Print where the time went, stage by stage, when the build ends.
    #[arg(long)]
    pub timings: bool,
    /// Rendering options.
    #[command(flatten)]
    pub site: SiteArgs,
}

/// Formats of `preview`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PreviewFormat {
    /// The Markdown page.
    Md,
    /// A standalone HTML page.
    Html,
}

/// `sigwiki preview`.
#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The rule file.
    pub rule: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PreviewFormat::Md)]
    pub format: PreviewFormat,
    /// Show which events of these files (EVTX, JSON, JSON Lines) the rule matches, and why.
    #[arg(long, value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Rendering options.
    #[command(flatten)]
    pub site: SiteArgs,
}

/// `sigwiki serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Rule files and folders (default: `rules/`).
    pub paths: Vec<PathBuf>,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// Show on every rule page which events of these files (EVTX, JSON, JSON Lines) it
    /// matches, and why.
    #[arg(long, value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Rendering options.
    #[command(flatten)]
    pub site: SiteArgs,
}

/// `sigwiki init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to set up (default: the current directory).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `sigwiki templates`.
#[derive(Debug, Args)]
pub struct TemplatesArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TemplatesCommand,
}

/// `sigwiki templates …`.
#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// Write the default templates and assets to DIR.
    Dump {
        /// The folder to write to.
        dir: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
}

/// `sigwiki completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}
