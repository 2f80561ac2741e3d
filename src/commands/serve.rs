//! `sigwiki serve`: a local preview server that rebuilds on change and reloads the browser.

use std::process::ExitCode;

use anyhow::Result;

use sigwiki::site;

use super::site_setup::{Setup, setup};
use crate::cli::ServeArgs;

/// Runs `sigwiki serve`.
pub fn run(args: &ServeArgs) -> Result<ExitCode> {
    let Setup {
        templates_dir,
        mut options,
        catalogs,
        ..
    } = setup(&args.site, &args.paths)?;
    options.live_reload = true;
    options.events.clone_from(&args.events);
    options.base_url = "/".to_string();
    let enricher = catalogs.enricher();
    site::serve::serve(&options, templates_dir.as_deref(), &enricher, args.port)?;
    Ok(ExitCode::SUCCESS)
}
