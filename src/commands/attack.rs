//! `sigwiki attack import`: builds the compact ATT&CK dataset from a STIX bundle.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use sigwiki::attack::{self, ImportOptions};

use super::write_output;
use crate::cli::AttackImportArgs;

/// Runs `sigwiki attack import FILE` (`-o -` writes to standard output).
pub fn import(args: &AttackImportArgs, quiet: u8) -> Result<ExitCode> {
    let started = Instant::now();
    let options = ImportOptions {
        version: args.attack_version.clone(),
    };
    let dataset = attack::import_file(&args.file, &options)?;
    let json = dataset.to_json();
    let destination = (args.output != Path::new("-")).then_some(args.output.as_path());
    write_output(destination, json.as_bytes())?;
    if quiet == 0 {
        let subtechniques = dataset
            .techniques
            .iter()
            .filter(|t| t.parent.is_some())
            .count();
        eprintln!(
            "imported ATT&CK {} v{}: {} tactics, {} techniques and {} sub-techniques, {} groups, {} software, {} mitigations, {} data sources, {} data components → {} in {:.2} s",
            dataset.domain,
            dataset.version,
            dataset.tactics.len(),
            dataset.techniques.len() - subtechniques,
            subtechniques,
            dataset.groups.len(),
            dataset.software.len(),
            dataset.mitigations.len(),
            dataset.data_sources.len(),
            dataset.data_components.len(),
            args.output.display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}
