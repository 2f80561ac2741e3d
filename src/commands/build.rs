//! `sigwiki build`: the whole wiki of the rule inputs into the output folder, swapped in
//! atomically; diagnostics on standard error, `--timings` per stage.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use sigwiki::site::{self, Output, Templates};

use super::site_setup::{Setup, setup};
use super::{format_diagnostic, plural};
use crate::cli::{BuildArgs, GlobalOptions};

/// Runs `sigwiki build`.
pub fn run(args: &BuildArgs, global: &GlobalOptions, color: bool) -> Result<ExitCode> {
    let Setup {
        config,
        templates_dir,
        mut options,
        catalogs,
    } = setup(&args.site, &args.paths)?;
    if let Some(base) = &args.base_url {
        options.base_url = site::normalize_base_url(base);
    }
    if let Some(url) = &args.site_url {
        options.site_url = site::normalize_site_url(url);
    }
    options.progress = std::io::stderr().is_terminal() && global.quiet == 0;
    let destination = args
        .output
        .clone()
        .or(config.output)
        .unwrap_or_else(|| PathBuf::from("site"));
    let templates = Templates::load(templates_dir.as_deref())?;
    let enricher = catalogs.enricher();
    let output = Output::disk(&destination)?;
    let (report, rules) = site::build::build_keeping(&options, &templates, &enricher, output)?;
    // The process ends soon: freeing every parsed rule one by one would only cost time.
    std::mem::forget(rules);
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in &report.diagnostics {
        let show = if d.is_error() {
            global.quiet < 2
        } else {
            global.verbose > 0
        };
        if show {
            writeln!(err, "{}", format_diagnostic(d, color))?;
        }
    }
    if global.verbose > 0 {
        for path in &report.not_rules {
            writeln!(
                err,
                "skipped {}: not a Sigma document (no detection, correlation or filter)",
                path.display()
            )?;
        }
    }
    if args.timings || global.verbose > 0 {
        write_timings(&mut err, &report.timings, report.rule_pages)?;
    }
    if global.quiet == 0 {
        let warnings = report.diagnostics.iter().filter(|d| !d.is_error()).count();
        writeln!(
            err,
            "built {}: {} rule page{}, {} file{} written; {} rule file{} with errors{}{}",
            destination.display(),
            report.rule_pages,
            plural(report.rule_pages),
            report.files_written,
            plural(report.files_written),
            report.failed,
            plural(report.failed),
            if report.failed > 0 {
                format!(" (listed in {})", destination.join("errors.html").display())
            } else {
                String::new()
            },
            if warnings > 0 && global.verbose == 0 {
                format!("; {warnings} warning{} (-v to show)", plural(warnings))
            } else {
                String::new()
            }
        )?;
    }
    Ok(if report.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The `--timings` table: each stage's wall time and share of the build, then the total; and
/// the CPU time of each stage (all threads), when the system tells it.
fn write_timings(
    out: &mut impl Write,
    timings: &[site::Timing],
    rules: usize,
) -> std::io::Result<()> {
    let total: f64 = timings.iter().map(|t| t.wall.as_secs_f64()).sum();
    let width = timings
        .iter()
        .map(|t| t.phase.len())
        .max()
        .unwrap_or(0)
        .max(5);
    writeln!(
        out,
        "timings ({} thread{}):",
        rayon::current_num_threads(),
        plural(rayon::current_num_threads())
    )?;
    let cpu_ms = |cpu: Option<std::time::Duration>| {
        cpu.map(|c| format!("  cpu {:>7.1} ms", c.as_secs_f64() * 1000.0))
            .unwrap_or_default()
    };
    for timing in timings {
        let secs = timing.wall.as_secs_f64();
        let share = if total > 0.0 {
            secs / total * 100.0
        } else {
            0.0
        };
        writeln!(
            out,
            "  {:<width$}  {:>7.1} ms  {share:>5.1} %{}",
            timing.phase,
            secs * 1000.0,
            cpu_ms(timing.cpu)
        )?;
    }
    let per_rule = if rules > 0 {
        format!(
            ", {:.0} µs per rule (whole build)",
            total * 1e6 / rules as f64
        )
    } else {
        String::new()
    };
    let cpu: Option<std::time::Duration> = timings.iter().map(|t| t.cpu).sum();
    writeln!(
        out,
        "  {:<width$}  {:>7.1} ms{per_rule}{}",
        "total",
        total * 1000.0,
        cpu_ms(cpu)
    )
}
