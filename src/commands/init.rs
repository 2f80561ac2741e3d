//! `sigwiki init`: a starter `sigwiki.toml` and a copy of the default templates to edit.

use std::process::ExitCode;

use anyhow::{Context, Result};

use sigwiki::site;

use crate::cli::InitArgs;

/// Runs `sigwiki init`.
pub fn run(args: &InitArgs) -> Result<ExitCode> {
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
