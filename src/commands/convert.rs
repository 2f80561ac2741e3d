//! `sigwiki convert`: the queries of rule files for one target, as text or JSON lines, like
//! `sigmac` or `sigma convert`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use sigwiki::sigma::ParseOptions;

use super::default_inputs;
use crate::cli::{ConvertArgs, ConvertFormat};

/// Runs `sigwiki convert`.
pub fn run(args: &ConvertArgs) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if args.list_targets {
        for backend in sigwiki::convert::backends() {
            writeln!(out, "{:<16}{}", backend.name(), backend.title())?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.list_pipelines {
        for line in sigwiki::pipeline::listing() {
            writeln!(out, "{line}")?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let name = args.target.as_deref().unwrap_or_default();
    let Some(backend) = sigwiki::convert::backend(name) else {
        let names: Vec<&str> = sigwiki::convert::backends()
            .iter()
            .map(|b| b.name())
            .collect();
        anyhow::bail!("unknown target `{name}`; targets: {}", names.join(", "));
    };
    let mapping = match &args.mapping {
        Some(spec) => Some(sigwiki::convert::mapping::FieldMapping::load(spec)?),
        None => None,
    };
    let chain = sigwiki::pipeline::Chain::load(&args.pipelines)?;
    for misfit in chain.misfits(name) {
        eprintln!(
            "warning: pipeline {} is made for {}, not {name}",
            misfit.spec,
            misfit.allowed_backends.join(", ")
        );
    }
    let preprocess = match (&mapping, chain.is_empty()) {
        (Some(m), _) => sigwiki::convert::Preprocess::Mapping(m),
        (None, false) => sigwiki::convert::Preprocess::Pipelines(&chain),
        (None, true) => sigwiki::convert::Preprocess::None,
    };
    let inputs = default_inputs(&args.paths);
    let batch = sigwiki::convert::batch::convert_inputs_with(
        &inputs,
        &ParseOptions::default(),
        backend,
        preprocess,
    )
    .context("cannot read the rules")?;
    let mut failed = 0;
    for converted in &batch.converted {
        let rule = if inputs.contains(&converted.path) {
            &converted.path
        } else {
            &converted.relative
        };
        match args.format {
            ConvertFormat::Text => match &converted.result {
                Ok(output) => out.write_all(output.as_bytes())?,
                Err(e) => {
                    failed += 1;
                    eprintln!("{}: error: {e}", converted.path.display());
                }
            },
            ConvertFormat::Jsonl => {
                let rule = rule.to_string_lossy();
                let line = match &converted.result {
                    Ok(output) => {
                        let status = if output.is_empty() { "empty" } else { "ok" };
                        serde_json::json!({"rule": rule, "target": name, "status": status, "output": output})
                    }
                    Err(e) => {
                        failed += 1;
                        serde_json::json!({"rule": rule, "target": name, "status": "err", "error": e.to_string()})
                    }
                };
                serde_json::to_writer(&mut out, &line)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
