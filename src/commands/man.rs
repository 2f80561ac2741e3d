//! `sigwiki man`: the man page (roff) on standard output.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Cli;

/// Runs `sigwiki man`.
pub fn run() -> Result<ExitCode> {
    let command = <Cli as clap::CommandFactory>::command();
    clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
