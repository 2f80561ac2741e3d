//! `sigwiki test`: runs the rules' regression tests (SigmaHQ's `regression_tests_path`), or with
//! `--events` evaluates the rules on any events files and reports what matched. Exit 1 when a
//! test fails or errors (or data is missing, under `--strict`), or an events file cannot be read.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use rayon::prelude::*;
use serde_json::json;

use sigwiki::eval::reader::{ReadSummary, events_files};
use sigwiki::eval::regression::{RegressionOptions, run_all};
use sigwiki::eval::{
    CorrelationState, Engine, Event, LogSourceTable, RegressionOutcome, Scratch, TestStatus,
    read_events,
};
use sigwiki::sigma::ParseOptions;

use super::{default_inputs, plural};
use crate::cli::{TestArgs, TestFormat};

/// Runs `sigwiki test`.
pub fn run(args: &TestArgs, color: bool) -> Result<ExitCode> {
    let table = match &args.logsources {
        Some(path) => LogSourceTable::load(path)?,
        None => LogSourceTable::embedded(),
    };
    let loaded = sigwiki::load::load(&default_inputs(&args.paths), &ParseOptions::default())
        .context("cannot read the rules")?;
    let broken = loaded.rules.files.iter().filter(|f| f.has_errors()).count();
    if broken > 0 {
        eprintln!(
            "sigwiki: {broken} rule file{} with errors not evaluated (see `sigwiki check`)",
            plural(broken)
        );
    }
    let engine = Engine::compile(&loaded.rules, &table);
    let code = if args.events.is_empty() {
        let options = RegressionOptions {
            root: args.regression_root.clone(),
        };
        let outcomes = run_all(&loaded.rules, &engine, &options);
        report_tests(&outcomes, args, color)?
    } else {
        report_events(&engine, &events_files(&args.events), args.format)?
    };
    std::mem::forget(loaded.rules);
    Ok(code)
}

fn report_tests(outcomes: &[RegressionOutcome], args: &TestArgs, color: bool) -> Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let count = |s: TestStatus| outcomes.iter().filter(|o| o.status == s).count();
    for o in outcomes {
        match args.format {
            TestFormat::Jsonl => {
                let line = json!({
                    "rule": o.rule_file.display().to_string(),
                    "id": o.id,
                    "test": o.test,
                    "events": o.events.display().to_string(),
                    "expected": o.expected,
                    "matched": o.matched,
                    "status": o.status.name(),
                    "message": o.message,
                });
                writeln!(out, "{line}")?;
            }
            TestFormat::Text => write_test_text(&mut out, o, color)?,
        }
    }
    let (pass, fail, missing, error) = (
        count(TestStatus::Pass),
        count(TestStatus::Fail),
        count(TestStatus::Missing),
        count(TestStatus::Error),
    );
    let warned = outcomes
        .iter()
        .filter(|o| o.status == TestStatus::Pass && !o.message.is_empty())
        .count();
    if args.format == TestFormat::Text {
        writeln!(
            out,
            "{} regression test{}: {pass} passed ({warned} with a warning), {fail} failed, {missing} missing, {error} error{}",
            outcomes.len(),
            plural(outcomes.len()),
            plural(error)
        )?;
    }
    let failed = fail + error > 0 || (args.strict && missing > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn paint(text: &str, code: &str, color: bool) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn write_test_text(out: &mut impl Write, o: &RegressionOutcome, color: bool) -> Result<()> {
    let (label, code) = match o.status {
        TestStatus::Pass => ("pass", "1;32"),
        TestStatus::Fail => ("FAIL", "1;31"),
        TestStatus::Missing => ("missing", "1;33"),
        TestStatus::Error => ("ERROR", "1;31"),
    };
    let expected = o
        .expected
        .map_or_else(|| "≥1".to_string(), |e| e.to_string());
    writeln!(
        out,
        "{:<7} {} — {}: matched {}/{} ({} events) in {}",
        paint(label, code, color),
        o.rule_file.display(),
        o.test,
        o.matched,
        expected,
        o.total,
        o.events.display()
    )?;
    if !o.message.is_empty() {
        let kind = if o.status == TestStatus::Pass {
            "warning"
        } else {
            "note"
        };
        writeln!(out, "        {kind}: {}", o.message)?;
    }
    if let Some((event, verdicts)) = &o.closest {
        writeln!(out, "        closest event:")?;
        for (name, value) in short_fields(event) {
            writeln!(out, "          {name}: {value}")?;
        }
        let missed: Vec<String> = verdicts
            .iter()
            .filter(|v| !v.matched)
            .map(|v| format!("{}: {}", v.identifier, v.key))
            .collect();
        if !missed.is_empty() {
            writeln!(
                out,
                "        detection items not matched: {}",
                missed.join(", ")
            )?;
        }
    }
    Ok(())
}

/// The event's fields under their short names (no dotted paths), for showing an event.
fn short_fields(event: &Event) -> Vec<(String, String)> {
    event
        .fields
        .iter()
        .filter(|f| !f.name.contains('.') && !f.name.is_empty())
        .map(|f| (f.name.to_string(), f.value.text.to_string()))
        .collect()
}

/// What evaluating one events file gave.
struct FileResult {
    path: PathBuf,
    summary: ReadSummary,
    /// Per rule index with matches, how many events matched.
    rules: Vec<(u32, usize)>,
    /// Per correlation index that fired, how often.
    correlations: Vec<(usize, usize)>,
    /// Events without a `Channel`, tested against every rule.
    without_channel: usize,
}

/// Events evaluated together: matching runs on every thread, counting and correlations then
/// take the batch in file order.
const BATCH: usize = 2048;

fn evaluate_file(engine: &Engine, path: &Path) -> FileResult {
    let mut correlation_scratch = Scratch::default();
    let mut state = CorrelationState::default();
    let mut counts: Vec<usize> = vec![0; engine.rules().len()];
    let mut without_channel = 0;
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut flush = |batch: &mut Vec<Event>| {
        let matched: Vec<(Vec<u32>, bool)> = batch
            .par_iter()
            .map_init(Scratch::default, |scratch, event| {
                let matched = engine.matches(event, scratch).to_vec();
                (matched, scratch.had_channel())
            })
            .collect();
        for (event, (matched, had_channel)) in batch.iter().zip(&matched) {
            without_channel += usize::from(!had_channel);
            for &rule in matched {
                counts[rule as usize] += 1;
            }
            engine.observe(event, matched, &mut state, &mut correlation_scratch);
        }
        batch.clear();
    };
    let summary = read_events(path, &mut |event| {
        batch.push(event);
        if batch.len() == BATCH {
            flush(&mut batch);
        }
    });
    flush(&mut batch);
    let rules = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| (u32::try_from(i).unwrap_or(u32::MAX), *n))
        .collect();
    let correlations = engine
        .correlation_results(&state)
        .into_iter()
        .enumerate()
        .filter(|(_, n)| *n > 0)
        .collect();
    FileResult {
        path: path.to_path_buf(),
        summary,
        rules,
        correlations,
        without_channel,
    }
}

/// What is said of the events of a file that have no `Channel`.
fn without_channel_note(count: usize) -> String {
    format!(
        "{count} event{} without a Channel: no log source to go by, so tested against every rule on the fields it names",
        plural(count)
    )
}

fn report_events(engine: &Engine, files: &[PathBuf], format: TestFormat) -> Result<ExitCode> {
    let results: Vec<FileResult> = files.par_iter().map(|p| evaluate_file(engine, p)).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut unreadable = 0;
    for result in &results {
        let events = result.path.display().to_string();
        let error = result.summary.count == 0 && !result.summary.problems.is_empty();
        unreadable += usize::from(error);
        let mut message: Vec<String> = result
            .summary
            .problems
            .iter()
            .map(ToString::to_string)
            .collect();
        if result.without_channel > 0 {
            message.push(without_channel_note(result.without_channel));
        }
        let matches = result.rules.iter().map(|(rule, n)| {
            let info = &engine.rules()[*rule as usize].info;
            (info, *n)
        });
        let correlations = result
            .correlations
            .iter()
            .map(|(c, n)| (&engine.correlations()[*c].info, *n));
        match format {
            TestFormat::Jsonl => {
                let line = json!({
                    "events": events,
                    "status": if error { "error" } else { "read" },
                    "count": result.summary.count,
                    "message": message.join("; "),
                });
                writeln!(out, "{line}")?;
                for (info, n) in matches.chain(correlations) {
                    let line = json!({
                        "rule": info.file.display().to_string(),
                        "id": info.id,
                        "events": events,
                        "matched": n,
                    });
                    writeln!(out, "{line}")?;
                }
            }
            TestFormat::Text => {
                writeln!(
                    out,
                    "{events}: {} event{} read",
                    result.summary.count,
                    plural(result.summary.count)
                )?;
                for problem in &result.summary.problems {
                    writeln!(out, "  problem: {problem}")?;
                }
                if result.without_channel > 0 {
                    writeln!(
                        out,
                        "  note: {}",
                        without_channel_note(result.without_channel)
                    )?;
                }
                for (info, n) in matches.chain(correlations) {
                    writeln!(out, "  {n} × {} ({})", info.title, info.file.display())?;
                }
            }
        }
    }
    Ok(if unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
