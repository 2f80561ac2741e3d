//! `sigwiki convert`: the queries of rule files for one target, as text or JSON lines, like
//! `sigmac` or `sigma convert`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::{Context, Result};

use sigwiki::convert::Backend;
use sigwiki::convert::batch::Batch;
use sigwiki::pipeline::Chain;
use sigwiki::sigma::ParseOptions;
use sigwiki::walk::WalkError;

use super::default_inputs;
use crate::cli::{ConvertArgs, ConvertFormat};

/// Converts `inputs` through the pipelines `specs` (none: the rules' own field names), loading
/// the pipelines on a thread of their own while the first rules are read; warns of pipelines
/// made for other targets.
fn convert_loading_pipelines(
    inputs: &[PathBuf],
    options: &ParseOptions,
    backend: &dyn Backend,
    specs: &[String],
) -> Result<Result<Batch, WalkError>> {
    use sigwiki::convert::batch::{Prepared, convert_inputs_prepared};
    if specs.is_empty() {
        let none = Prepared::Now(sigwiki::convert::Preprocess::None);
        return Ok(convert_inputs_prepared(inputs, options, backend, none));
    }
    let cell = OnceLock::new();
    let (loaded, batch) = std::thread::scope(|scope| {
        let loader = scope.spawn(|| {
            // Set on every way out, a panic included: the batch waits for the cell.
            let guard = SetOnDrop(&cell);
            let loaded = Chain::load(specs);
            let (chain, loaded) = match loaded {
                Ok(chain) => (chain, Ok(())),
                Err(e) => (Chain::new(Vec::new()), Err(e)),
            };
            let _ = guard.0.set(chain);
            loaded
        });
        let batch = convert_inputs_prepared(inputs, options, backend, Prepared::Loading(&cell));
        (loader.join(), batch)
    });
    match loaded {
        Ok(loaded) => loaded?,
        Err(_) => anyhow::bail!("loading the pipelines failed"),
    }
    if let Some(chain) = cell.get() {
        for misfit in chain.misfits(backend.name()) {
            eprintln!(
                "warning: pipeline {} is made for {}, not {}",
                misfit.spec,
                misfit.allowed_backends.join(", "),
                backend.name()
            );
        }
    }
    Ok(batch)
}

/// Sets its cell to an empty chain when dropped with the cell still empty.
struct SetOnDrop<'a>(&'a OnceLock<Chain>);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.set(Chain::new(Vec::new()));
    }
}

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
    let inputs = default_inputs(&args.paths);
    let options = ParseOptions::default();
    let batch = match &mapping {
        Some(m) => sigwiki::convert::batch::convert_inputs_with(
            &inputs,
            &options,
            backend,
            sigwiki::convert::Preprocess::Mapping(m),
        ),
        None => convert_loading_pipelines(&inputs, &options, backend, &args.pipelines)?,
    }
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
