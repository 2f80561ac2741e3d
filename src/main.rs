//! The `sigwiki` command line: parses arguments, dispatches to the subcommand's module under
//! [`commands`], and maps outcomes to exit codes (0 success, 1 some rules failed, 2 usage or I/O
//! error).

mod cli;
mod commands;

/// mimalloc instead of the system allocator: page rendering allocates many small strings on
/// every thread, where glibc malloc's arena locking cost about a fifth of a whole-site build.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use cli::{AttackCommand, Cli, Command, DataCommand, TemplatesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(jobs) = cli.global.jobs {
        // Only fails when the pool already exists, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(usize::from(jobs))
            .build_global();
    }
    let color = commands::use_color(cli.global.color, std::io::stdout().is_terminal());
    let outcome = match &cli.command {
        Command::Check(args) => commands::check::run(args, color),
        Command::Convert(args) => commands::convert::run(args),
        Command::Data(DataCommand::ImportDataNeeded(args)) => {
            commands::data::import_data_needed(args)
        }
        Command::Data(DataCommand::ImportAtomics(args)) => commands::data::import_atomics(args),
        Command::Data(DataCommand::Needed(args)) => commands::data::needed(args),
        Command::Attack(AttackCommand::Import(args)) => {
            commands::attack::import(args, cli.global.quiet)
        }
        Command::Build(args) => commands::build::run(args, &cli.global, color),
        Command::Test(args) => commands::test::run(args, color),
        Command::Preview(args) => commands::preview::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Init(args) => commands::init::run(args),
        Command::Templates(args) => match &args.command {
            TemplatesCommand::Dump { dir, force } => commands::templates::dump(dir, *force),
        },
        Command::Completions(args) => Ok(commands::completions::run(args)),
        Command::Man => commands::man::run(),
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
