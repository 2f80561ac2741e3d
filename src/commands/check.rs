//! `sigwiki check`: validates and lints rule files, and processing pipeline files (`-p`, or a
//! pipeline YAML file given by name), printing every diagnostic (text or JSON); exit 1 when any
//! is an error (every warning is one under `--strict`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use sigwiki::attack::{self, Catalog};
use sigwiki::pipeline::{self, Pipeline};
use sigwiki::sigma::{Code, Diagnostic, Limits, ParseOptions, Severity};

use super::{default_inputs, format_diagnostic, plural};
use crate::cli::{CheckArgs, DiagnosticFormat};

/// Runs `sigwiki check`.
pub fn run(args: &CheckArgs, color: bool) -> Result<ExitCode> {
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
    let (pipeline_diagnostics, pipelines_checked, rule_inputs) = check_pipelines(args);
    let loaded = if rule_inputs.is_empty() {
        sigwiki::load::Loaded::default()
    } else {
        sigwiki::load::load(&rule_inputs, &options).context("cannot read the rules")?
    };
    let mut diagnostics: Vec<Diagnostic> = pipeline_diagnostics;
    diagnostics.extend(loaded.skipped);
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
            let pipelines = if pipelines_checked > 0 {
                let failed = diagnostics
                    .iter()
                    .filter(|d| d.code == Code::InvalidPipeline)
                    .count();
                format!(
                    " and {pipelines_checked} pipeline{} ({failed} with errors)",
                    plural(pipelines_checked)
                )
            } else {
                String::new()
            };
            writeln!(
                out,
                "checked {files} file{}{pipelines}: {failed} with errors; {errors} error{}, {warnings} warning{}",
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

/// Checks the pipelines of `-p` and the pipeline files among the inputs (a YAML file given by
/// name whose text is a pipeline): their diagnostics (one per broken pipeline, the first error
/// it has), how many were checked, and the inputs left to check as rules. With `-p` and no
/// paths, only the pipelines are checked.
fn check_pipelines(args: &CheckArgs) -> (Vec<Diagnostic>, usize, Vec<PathBuf>) {
    let mut diagnostics = Vec::new();
    let mut checked = 0;
    for spec in &args.pipelines {
        checked += 1;
        if let Err(e) = Pipeline::load(spec) {
            diagnostics.push(e.diagnostic());
        }
    }
    if args.paths.is_empty() && !args.pipelines.is_empty() {
        return (diagnostics, checked, Vec::new());
    }
    let mut rule_inputs = Vec::new();
    for path in default_inputs(&args.paths) {
        let yaml = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        let text = (yaml && path.is_file())
            .then(|| std::fs::read_to_string(&path).ok())
            .flatten();
        match text {
            Some(text) if pipeline::looks_like_pipeline(&text) => {
                checked += 1;
                let spec = path.to_string_lossy().into_owned();
                if let Err(e) = pipeline::load::parse(&text, &path, &spec) {
                    diagnostics.push(e.diagnostic());
                }
            }
            _ => rule_inputs.push(path),
        }
    }
    (diagnostics, checked, rule_inputs)
}
