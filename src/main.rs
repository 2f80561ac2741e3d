//! The `sigwiki` command line: parses arguments, calls the library, maps outcomes to exit codes
//! (0 success, 1 some rules failed, 2 usage or I/O error).

mod cli;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{CheckArgs, Cli, ColorChoice, Command, DiagnosticFormat};
use sigwiki::sigma::{Diagnostic, Limits, ParseOptions, Severity};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = use_color(cli.global.color, std::io::stdout().is_terminal());
    let outcome = match &cli.command {
        Command::Check(args) => check(args, color),
    };
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("sigwiki: error: {error:#}");
            ExitCode::from(2)
        }
    }
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
    let loaded = sigwiki::load::load(&default_inputs(&args.paths), &options)
        .context("cannot read the rules")?;
    let mut diagnostics: Vec<Diagnostic> = loaded.skipped;
    for file in &loaded.rules.files {
        diagnostics.extend(file.diagnostics.iter().cloned());
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
