//! `sigwiki completions SHELL`: the shell completion script on standard output.

use std::process::ExitCode;

use crate::cli::{Cli, CompletionsArgs};

/// Runs `sigwiki completions`.
pub fn run(args: &CompletionsArgs) -> ExitCode {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "sigwiki", &mut std::io::stdout());
    ExitCode::SUCCESS
}
