//! One module per subcommand, each with the function `main.rs` dispatches to; the helpers the
//! commands share (colour, default inputs, diagnostic lines, atomic output) live here.

pub mod attack;
pub mod build;
pub mod check;
pub mod completions;
pub mod convert;
pub mod data;
pub mod init;
pub mod man;
pub mod preview;
pub mod serve;
pub mod site_setup;
pub mod templates;
pub mod test;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use sigwiki::sigma::{Diagnostic, Severity};

use crate::cli::ColorChoice;

/// Whether to colour output: `--color`, else a terminal without `NO_COLOR` set.
pub fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// The rule inputs: those given, else `rules/` (every `rules*` folder at a SigmaHQ-layout root).
pub fn default_inputs(paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        sigwiki::walk::default_inputs(std::path::Path::new("."))
    } else {
        paths.to_vec()
    }
}

/// The plural ending of a count.
pub fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A diagnostic as one `file:line:col: severity[code]: message` line, coloured on request.
pub fn format_diagnostic(d: &Diagnostic, color: bool) -> String {
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

/// Writes `bytes` to `path` through a temporary file in the same folder renamed into place, so a
/// failed run never leaves a half-written file in place of the old one; without a path, to
/// standard output.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    let Some(path) = path else {
        std::io::stdout().lock().write_all(bytes)?;
        return Ok(());
    };
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
