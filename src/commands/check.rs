//! `sigwiki check`: validates and lints rule files, printing every diagnostic (text or JSON);
//! exit 1 when any is an error (every warning is one under `--strict`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use sigwiki::attack::{self, Catalog};
use sigwiki::sigma::{Diagnostic, Limits, ParseOptions, Severity};

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
