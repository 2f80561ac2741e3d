//! `sigwiki preview RULE`: one rule's page, Markdown or HTML, on standard output.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;

use sigwiki::site::{self, Templates};

use super::site_setup::{Setup, setup};
use super::{format_diagnostic, use_color};
use crate::cli::{ColorChoice, PreviewArgs, PreviewFormat};

/// Runs `sigwiki preview`.
pub fn run(args: &PreviewArgs) -> Result<ExitCode> {
    let Setup {
        templates_dir,
        mut options,
        catalogs,
        ..
    } = setup(&args.site, std::slice::from_ref(&args.rule))?;
    options.events.clone_from(&args.events);
    let templates = Templates::load(templates_dir.as_deref())?;
    let enricher = catalogs.enricher();
    let format = match args.format {
        PreviewFormat::Md => site::PreviewFormat::Markdown,
        PreviewFormat::Html => site::PreviewFormat::Html,
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
