//! The `sigwiki` command line: parses arguments, calls the library, maps outcomes to exit codes
//! (0 success, 1 some rules failed, 2 usage or I/O error).

mod cli;

/// mimalloc instead of the system allocator: page rendering allocates many small strings on
/// every thread, where glibc malloc's arena locking cost about a fifth of a whole-site build.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{
    AttackCommand, AttackImportArgs, BuildArgs, CheckArgs, Cli, ColorChoice, Command, ConvertArgs,
    ConvertFormat, DataCommand, DiagnosticFormat, ImportAtomicsArgs, ImportDataNeededArgs,
    InitArgs, NeededArgs, NeededFormat, PreviewArgs, ServeArgs, SiteArgs, TemplatesCommand,
};
use sigwiki::attack::{self, Catalog, ImportOptions};
use sigwiki::config::Config;
use sigwiki::convert::Backend;
use sigwiki::sigma::{Diagnostic, Limits, ParseOptions, Severity};
use sigwiki::site::{self, BuildOptions, Output, Templates};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(jobs) = cli.global.jobs {
        // Only fails when the pool already exists, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global();
    }
    let color = use_color(cli.global.color, std::io::stdout().is_terminal());
    let outcome = match &cli.command {
        Command::Check(args) => check(args, color),
        Command::Convert(args) => convert(args),
        Command::Data(DataCommand::ImportDataNeeded(args)) => import_data_needed(args),
        Command::Data(DataCommand::ImportAtomics(args)) => import_atomics(args),
        Command::Data(DataCommand::Needed(args)) => data_needed(args),
        Command::Attack(AttackCommand::Import(args)) => attack_import(args, cli.global.quiet),
        Command::Build(args) => build(args, &cli.global, color),
        Command::Preview(args) => preview(args),
        Command::Serve(args) => serve(args),
        Command::Init(args) => init(args),
        Command::Templates(args) => match &args.command {
            TemplatesCommand::Dump { dir, force } => dump_templates(dir, *force),
        },
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut command, "sigwiki", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => man(),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sigwiki: error: {}", error_chain(&error));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes, `: `-separated; a cause whose text its parent already ends with
/// (library errors print their I/O cause in their own message) is not repeated.
fn error_chain(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.ends_with(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

fn default_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![PathBuf::from("rules")]
    } else {
        paths.to_vec()
    }
}

fn check(args: &CheckArgs, color: bool) -> Result<ExitCode> {
    let options = ParseOptions {
        limits: Limits {
            max_file_size: args.max_file_size,
            ..Limits::default()
        },
    };
    let loaded_catalog;
    let catalog = match &args.attack {
        Some(path) => {
            loaded_catalog = Catalog::load(path).context("cannot load the ATT&CK data")?;
            &loaded_catalog
        }
        None => Catalog::embedded(),
    };
    let loaded = sigwiki::load::load(&default_inputs(&args.paths), &options)
        .context("cannot read the rules")?;
    let mut diagnostics: Vec<Diagnostic> = loaded.skipped;
    for file in &loaded.rules.files {
        let mut file_diagnostics = file.diagnostics.clone();
        file_diagnostics.extend(attack::rule_file_diagnostics(catalog, file));
        file_diagnostics.sort();
        diagnostics.extend(file_diagnostics);
    }
    if args.strict {
        for d in &mut diagnostics {
            d.severity = Severity::Error;
        }
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        DiagnosticFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &diagnostics)?;
            writeln!(out)?;
        }
        DiagnosticFormat::Text => {
            for d in &diagnostics {
                writeln!(out, "{}", format_diagnostic(d, color))?;
            }
            let files = loaded.rules.files.len();
            let failed = loaded.rules.files.iter().filter(|f| f.has_errors()).count();
            writeln!(
                out,
                "checked {files} file{}: {failed} with errors; {errors} error{}, {warnings} warning{}",
                plural(files),
                plural(errors),
                plural(warnings)
            )?;
        }
    }
    // The process ends right after: freeing every parsed rule one by one would only cost time.
    std::mem::forget(loaded.rules);
    Ok(if errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn attack_import(args: &AttackImportArgs, quiet: u8) -> Result<ExitCode> {
    let started = Instant::now();
    let options = ImportOptions {
        version: args.attack_version.clone(),
    };
    let dataset = attack::import_file(&args.file, &options)?;
    let json = dataset.to_json();
    if args.output == Path::new("-") {
        std::io::stdout().lock().write_all(json.as_bytes())?;
    } else {
        write_atomically(&args.output, json.as_bytes())?;
    }
    if quiet == 0 {
        let subtechniques = dataset
            .techniques
            .iter()
            .filter(|t| t.parent.is_some())
            .count();
        eprintln!(
            "imported ATT&CK {} v{}: {} tactics, {} techniques and {} sub-techniques, {} groups, {} software, {} mitigations, {} data sources, {} data components → {} in {:.2} s",
            dataset.domain,
            dataset.version,
            dataset.tactics.len(),
            dataset.techniques.len() - subtechniques,
            subtechniques,
            dataset.groups.len(),
            dataset.software.len(),
            dataset.mitigations.len(),
            dataset.data_sources.len(),
            dataset.data_components.len(),
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so a failed write never
/// leaves a half-written file in place of the old one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot replace {}", path.display())
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn format_diagnostic(d: &Diagnostic, color: bool) -> String {
    if !color {
        return d.to_string();
    }
    let severity = match d.severity {
        Severity::Error => "\x1b[1;31merror",
        Severity::Warning => "\x1b[1;33mwarning",
    };
    format!(
        "\x1b[1m{}:{}:{}:\x1b[0m {severity}[{}]\x1b[0m: {}",
        d.file.display(),
        d.line,
        d.column,
        d.code,
        d.message
    )
}

fn convert(args: &ConvertArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.list_targets {
        for backend in sigwiki::convert::backends() {
            writeln!(out, "{:<16}{}", backend.name(), backend.title())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_pipelines {
        for line in sigwiki::pipeline::listing() {
            writeln!(out, "{line}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.target.as_deref().unwrap_or_default();
    let Some(backend) = sigwiki::convert::backend(name) else {
        let names: Vec<&str> = sigwiki::convert::backends()
            .iter()
            .map(|b| b.name())
            .collect();
        anyhow::bail!("unknown target `{name}`; targets: {}", names.join(", "));
    };
    let mapping = match &args.mapping {
        Some(spec) => Some(sigwiki::convert::mapping::FieldMapping::load(spec)?),
        None => None,
    };
    let chain = sigwiki::pipeline::Chain::load(&args.pipelines)?;
    for misfit in chain.misfits(name) {
        eprintln!(
            "warning: pipeline {} is made for {}, not {name}",
            misfit.spec,
            misfit.allowed_backends.join(", ")
        );
    }
    let preprocess = match (&mapping, chain.is_empty()) {
        (Some(m), _) => sigwiki::convert::Preprocess::Mapping(m),
        (None, false) => sigwiki::convert::Preprocess::Pipelines(&chain),
        (None, true) => sigwiki::convert::Preprocess::None,
    };
    let inputs = default_inputs(&args.paths);
    let batch = sigwiki::convert::batch::convert_inputs_with(
        &inputs,
        &ParseOptions::default(),
        backend,
        preprocess,
    )
    .context("cannot read the rules")?;
    let mut failed = 0;
    for converted in &batch.converted {
        let rule = if inputs.contains(&converted.path) {
            &converted.path
        } else {
            &converted.relative
        };
        match args.format {
            ConvertFormat::Text => match &converted.result {
                Ok(output) => out.write_all(output.as_bytes())?,
                Err(e) => {
                    failed += 1;
                    eprintln!("{}: error: {e}", converted.path.display());
                }
            },
            ConvertFormat::Jsonl => {
                let rule = rule.to_string_lossy();
                let line = match &converted.result {
                    Ok(output) => {
                        serde_json::json!({"rule": rule, "target": name, "status": "ok", "output": output})
                    }
                    Err(e) => {
                        failed += 1;
                        serde_json::json!({"rule": rule, "target": name, "status": "err", "error": e.to_string()})
                    }
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn import_data_needed(args: &ImportDataNeededArgs) -> Result<ExitCode> {
    let inputs = sigwiki::enrich::import::DataNeededInputs {
        ossem: args.ossem.clone(),
        atc: args.atc.clone(),
        taxonomy: args.taxonomy.clone(),
        logsource_fields: args.logsource_fields.clone(),
        curated: args.curated.clone(),
    };
    let data = sigwiki::enrich::import::import_data_needed(&inputs)?;
    let events = data.entries.iter().filter(|e| e.event_id.is_some()).count();
    write_output(args.output.as_deref(), &data.to_json())?;
    eprintln!(
        "data needed: {} entries ({events} events, {} logs)",
        data.entries.len(),
        data.entries.len() - events
    );
    Ok(ExitCode::SUCCESS)
}

fn import_atomics(args: &ImportAtomicsArgs) -> Result<ExitCode> {
    let index = sigwiki::enrich::import::import_atomics(&args.dir)?;
    write_output(args.output.as_deref(), &index.to_json())?;
    eprintln!(
        "atomic red team: {} techniques, {} tests",
        index.techniques.len(),
        index.techniques.values().sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

fn data_needed(args: &NeededArgs) -> Result<ExitCode> {
    let options = sigwiki::enrich::EnrichOptions {
        data_needed: args.data_needed.clone(),
        atomics: None,
    };
    let enrichment = options.load()?;
    let catalog = &enrichment.data_needed;
    let loaded = sigwiki::load::load(&default_inputs(&args.paths), &ParseOptions::default())
        .context("cannot read the rules")?;
    let mut rows = Vec::new();
    for file in &loaded.rules.files {
        for document in &file.documents {
            if let sigwiki::sigma::SigmaKind::Rule(rule) = &document.kind {
                let ids: Vec<&str> = catalog
                    .match_rule(rule)
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect();
                rows.push(serde_json::json!({
                    "file": file.path.display().to_string(),
                    "document": document.index,
                    "title": rule.meta.title,
                    "data_needed": ids,
                }));
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        NeededFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        NeededFormat::Text => {
            for row in &rows {
                let ids: Vec<&str> = row["data_needed"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                let titles: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        catalog
                            .get(id)
                            .map_or_else(|| id.to_string(), |e| e.title.clone())
                    })
                    .collect();
                writeln!(
                    out,
                    "{}: {}",
                    row["file"].as_str().unwrap_or_default(),
                    if titles.is_empty() {
                        "(none)".to_string()
                    } else {
                        titles.join("; ")
                    }
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to `path` through a temporary file renamed into place, so a failed run never
/// leaves a truncated dataset; without a path, to standard output.
fn write_output(path: Option<&std::path::Path>, text: &str) -> Result<()> {
    let Some(path) = path else {
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(());
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The targets ATC's pages showed, used when neither `--targets` nor the settings name any.
const DEFAULT_TARGETS: [&str; 3] = ["es-qs", "xpack-watcher", "graylog"];

fn resolve_targets(requested: Option<&[String]>) -> Result<Vec<&'static dyn Backend>> {
    let mut available: Vec<&'static dyn Backend> = sigwiki::convert::backends().to_vec();
    let Some(requested) = requested else {
        // The defaults that this binary has, in the default order.
        let mut out = Vec::new();
        for name in DEFAULT_TARGETS {
            if let Some(i) = available.iter().position(|b| b.name() == name) {
                out.push(available.remove(i));
            }
        }
        return Ok(out);
    };
    if requested.iter().any(|t| t.trim() == "all") {
        return Ok(available);
    }
    let names: Vec<String> = available.iter().map(|b| b.name().to_string()).collect();
    let mut out = Vec::new();
    for name in requested {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match available.iter().position(|b| b.name() == name) {
            Some(i) => out.push(available.remove(i)),
            None if out.iter().any(|b: &&dyn Backend| b.name() == name) => {}
            None => anyhow::bail!(
                "unknown query target `{name}`; available: {}",
                if names.is_empty() {
                    "none in this build".to_string()
                } else {
                    names.join(", ")
                }
            ),
        }
    }
    Ok(out)
}

/// The catalogs rules are enriched with: ATT&CK (embedded or `--attack`), Data Needed
/// (embedded, with `--data-needed` overrides) and Atomic Red Team (embedded or `--atomics`).
struct LoadedCatalogs {
    attack: std::borrow::Cow<'static, Catalog>,
    enrichment: sigwiki::enrich::Enrichment,
}

impl LoadedCatalogs {
    fn load(site_args: &SiteArgs, config: &Config) -> Result<LoadedCatalogs> {
        let attack = match site_args.attack.as_ref().or(config.attack.as_ref()) {
            Some(path) => {
                std::borrow::Cow::Owned(Catalog::load(path).context("cannot load the ATT&CK data")?)
            }
            None => std::borrow::Cow::Borrowed(Catalog::embedded()),
        };
        let options = sigwiki::enrich::EnrichOptions {
            data_needed: site_args
                .data_needed
                .clone()
                .or_else(|| config.data_needed.clone()),
            atomics: site_args.atomics.clone().or_else(|| config.atomics.clone()),
        };
        let enrichment = options.load()?;
        Ok(LoadedCatalogs { attack, enrichment })
    }

    fn enricher(&self) -> site::catalogs::Catalogs<'_> {
        site::catalogs::Catalogs::new(
            &self.attack,
            &self.enrichment.data_needed,
            &self.enrichment.triggers,
        )
    }
}

struct Setup {
    config: Config,
    templates_dir: Option<PathBuf>,
    options: BuildOptions,
    catalogs: LoadedCatalogs,
}

fn setup(site_args: &SiteArgs, paths: &[PathBuf]) -> Result<Setup> {
    let config = match &site_args.config {
        Some(path) => Config::load(path)?,
        None => Config::discover()?,
    };
    let inputs = if !paths.is_empty() {
        paths.to_vec()
    } else if !config.inputs.is_empty() {
        config.inputs.clone()
    } else {
        vec![PathBuf::from("rules")]
    };
    let requested = site_args.targets.clone().or_else(|| config.targets.clone());
    let targets = resolve_targets(requested.as_deref())?;
    let mut options = BuildOptions::new(inputs);
    options.title = site_args
        .title
        .clone()
        .or_else(|| config.title.clone())
        .unwrap_or_else(|| "Detection rules".to_string());
    options.base_url = site::normalize_base_url(config.base_url.as_deref().unwrap_or("/"));
    options.site_url = config
        .site_url
        .as_deref()
        .and_then(site::normalize_site_url);
    options.targets = targets;
    options.parse = ParseOptions {
        limits: Limits {
            max_file_size: site_args.max_file_size,
            ..Limits::default()
        },
    };
    if let Some(spec) = site_args.mapping.as_ref().or(config.mapping.as_ref()) {
        let mapping = sigwiki::convert::mapping::FieldMapping::load(spec)
            .context("cannot load the field mapping")?;
        options.mapping = Some(std::sync::Arc::new(mapping));
    }
    let templates_dir = site_args
        .templates
        .clone()
        .or_else(|| config.templates.clone());
    let catalogs = LoadedCatalogs::load(site_args, &config)?;
    Ok(Setup {
        config,
        templates_dir,
        options,
        catalogs,
    })
}

fn build(args: &BuildArgs, global: &cli::GlobalOptions, color: bool) -> Result<ExitCode> {
    let Setup {
        config,
        templates_dir,
        mut options,
        catalogs,
    } = setup(&args.site, &args.paths)?;
    if let Some(base) = &args.base_url {
        options.base_url = site::normalize_base_url(base);
    }
    if let Some(url) = &args.site_url {
        options.site_url = site::normalize_site_url(url);
    }
    options.progress = std::io::stderr().is_terminal() && global.quiet == 0;
    let destination = args
        .output
        .clone()
        .or(config.output)
        .unwrap_or_else(|| PathBuf::from("site"));
    let templates = Templates::load(templates_dir.as_deref())?;
    let enricher = catalogs.enricher();
    let output = Output::disk(&destination)?;
    let started = std::time::Instant::now();
    let loaded = sigwiki::load::load(&options.inputs, &options.parse)?;
    let parsed = started.elapsed();
    let mut report = site::build_from(
        &loaded.rules,
        loaded.skipped,
        &options,
        &templates,
        &enricher,
        output,
    )?;
    report.timings.insert(0, ("load and parse", parsed));
    // The process ends soon: freeing every parsed rule one by one would only cost time.
    std::mem::forget(loaded.rules);
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in &report.diagnostics {
        let show = if d.is_error() {
            global.quiet < 2
        } else {
            global.verbose > 0
        };
        if show {
            writeln!(err, "{}", format_diagnostic(d, color))?;
        }
    }
    if args.timings || global.verbose > 0 {
        write_timings(&mut err, &report.timings, report.rule_pages)?;
    }
    if global.quiet == 0 {
        let warnings = report.diagnostics.iter().filter(|d| !d.is_error()).count();
        writeln!(
            err,
            "built {}: {} rule page{}, {} file{} written; {} rule file{} with errors{}{}",
            destination.display(),
            report.rule_pages,
            plural(report.rule_pages),
            report.files_written,
            plural(report.files_written),
            report.failed,
            plural(report.failed),
            if report.failed > 0 {
                format!(" (listed in {})", destination.join("errors.html").display())
            } else {
                String::new()
            },
            if warnings > 0 && global.verbose == 0 {
                format!("; {warnings} warning{} (-v to show)", plural(warnings))
            } else {
                String::new()
            }
        )?;
    }
    Ok(if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `--timings` table: each stage's wall time and share of the build, then the total.
fn write_timings(
    out: &mut impl Write,
    timings: &[(&'static str, std::time::Duration)],
    rules: usize,
) -> std::io::Result<()> {
    let total: f64 = timings.iter().map(|(_, d)| d.as_secs_f64()).sum();
    let width = timings
        .iter()
        .map(|(p, _)| p.len())
        .max()
        .unwrap_or(0)
        .max(5);
    writeln!(
        out,
        "timings ({} thread{}):",
        rayon::current_num_threads(),
        plural(rayon::current_num_threads())
    )?;
    for (phase, duration) in timings {
        let secs = duration.as_secs_f64();
        let share = if total > 0.0 {
            secs / total * 100.0
        } else {
            0.0
        };
        writeln!(
            out,
            "  {phase:<width$}  {:>7.1} ms  {share:>5.1} %",
            secs * 1000.0
        )?;
    }
    let per_rule = if rules > 0 {
        format!(
            ", {:.0} µs per rule (whole build)",
            total * 1e6 / rules as f64
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "  {:<width$}  {:>7.1} ms{per_rule}",
        "total",
        total * 1000.0
    )
}

fn preview(args: &PreviewArgs) -> Result<ExitCode> {
    let Setup {
        templates_dir,
        options,
        catalogs,
        ..
    } = setup(&args.site, std::slice::from_ref(&args.rule))?;
    let templates = Templates::load(templates_dir.as_deref())?;
    let enricher = catalogs.enricher();
    let format = match args.format {
        cli::PreviewFormat::Md => site::PreviewFormat::Markdown,
        cli::PreviewFormat::Html => site::PreviewFormat::Html,
    };
    match site::preview(&args.rule, format, &options, &templates, &enricher) {
        Ok(page) => {
            std::io::stdout().lock().write_all(page.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(site::SiteError::InvalidRule { diagnostics, .. }) if !diagnostics.is_empty() => {
            let color = use_color(ColorChoice::Auto, std::io::stderr().is_terminal());
            for d in diagnostics.iter().filter(|d| d.is_error()) {
                eprintln!("{}", format_diagnostic(d, color));
            }
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}

fn serve(args: &ServeArgs) -> Result<ExitCode> {
    let Setup {
        templates_dir,
        mut options,
        catalogs,
        ..
    } = setup(&args.site, &args.paths)?;
    options.live_reload = true;
    options.base_url = "/".to_string();
    let enricher = catalogs.enricher();
    site::serve::serve(&options, templates_dir.as_deref(), &enricher, args.port)?;
    Ok(ExitCode::SUCCESS)
}

fn init(args: &InitArgs) -> Result<ExitCode> {
    let config_path = args.dir.join(sigwiki::config::DEFAULT_FILE);
    if config_path.exists() && !args.force {
        anyhow::bail!("{} exists; use --force to overwrite", config_path.display());
    }
    let templates_dir = args.dir.join("templates");
    let written = site::templates::dump(&templates_dir, args.force)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    // The starter file points at the templates just written.
    let starter = sigwiki::config::STARTER
        .replace("# templates = \"templates\"", "templates = \"templates\"");
    std::fs::write(&config_path, starter)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    eprintln!(
        "wrote {} and {} templates under {}",
        config_path.display(),
        written.len(),
        templates_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn dump_templates(dir: &std::path::Path, force: bool) -> Result<ExitCode> {
    let written = site::templates::dump(dir, force)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn man() -> Result<ExitCode> {
    let command = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
