//! `sigwiki data`: the importers of the embedded Data Needed and Atomic Red Team datasets, and
//! `data needed`, which lists the Data Needed entries each rule matches.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use sigwiki::sigma::ParseOptions;

use super::{default_inputs, write_output};
use crate::cli::{ImportAtomicsArgs, ImportDataNeededArgs, NeededArgs, NeededFormat};

/// Runs `sigwiki data import-data-needed`.
pub fn import_data_needed(args: &ImportDataNeededArgs) -> Result<ExitCode> {
    let inputs = sigwiki::enrich::import::DataNeededInputs {
        ossem: args.ossem.clone(),
        atc: args.atc.clone(),
        taxonomy: args.taxonomy.clone(),
        logsource_fields: args.logsource_fields.clone(),
        curated: args.curated.clone(),
    };
    let data = sigwiki::enrich::import::import_data_needed(&inputs)?;
    let events = data.entries.iter().filter(|e| e.event_id.is_some()).count();
    write_output(args.output.as_deref(), data.to_json().as_bytes())?;
    eprintln!(
        "data needed: {} entries ({events} events, {} logs)",
        data.entries.len(),
        data.entries.len() - events
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `sigwiki data import-atomics`.
pub fn import_atomics(args: &ImportAtomicsArgs) -> Result<ExitCode> {
    let index = sigwiki::enrich::import::import_atomics(&args.dir)?;
    write_output(args.output.as_deref(), index.to_json().as_bytes())?;
    eprintln!(
        "atomic red team: {} techniques, {} tests",
        index.techniques.len(),
        index.techniques.values().sum::<usize>()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `sigwiki data needed`.
pub fn needed(args: &NeededArgs) -> Result<ExitCode> {
    let options = sigwiki::enrich::EnrichOptions {
        data_needed: args.data_needed.clone(),
        atomics: None,
    };
    let enrichment = options.load()?;
    let catalog = &enrichment.data_needed;
    let loaded = sigwiki::load::load(&default_inputs(&args.paths), &ParseOptions::default())
        .context("cannot read the rules")?;
    let mut rows = Vec::new();
    for file in &loaded.rules.files {
        for document in &file.documents {
            if let sigwiki::sigma::SigmaKind::Rule(rule) = &document.kind {
                let ids: Vec<&str> = catalog
                    .match_rule(rule)
                    .iter()
                    .map(|e| e.id.as_str())
                    .collect();
                rows.push(serde_json::json!({
                    "file": file.path.display().to_string(),
                    "document": document.index,
                    "title": rule.meta.title,
                    "data_needed": ids,
                }));
            }
        }
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        NeededFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
        }
        NeededFormat::Text => {
            for row in &rows {
                let ids: Vec<&str> = row["data_needed"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                let titles: Vec<String> = ids
                    .iter()
                    .map(|id| {
                        catalog
                            .get(id)
                            .map_or_else(|| id.to_string(), |e| e.title.clone())
                    })
                    .collect();
                writeln!(
                    out,
                    "{}: {}",
                    row["file"].as_str().unwrap_or_default(),
                    if titles.is_empty() {
                        "(none)".to_string()
                    } else {
                        titles.join("; ")
                    }
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
