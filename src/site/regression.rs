//! Regression evidence on pages: the verdicts of the rules' regression tests (run as part of the
//! build, only for rules that have one) and, with `--events` (preview and serve), which events
//! of a file a rule matches and why. Attached to each [`RuleEntry`] as typed fields, so pages,
//! the rules table, `rules.json` and the home page show them.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::model::RuleEntry;
use crate::eval::regression::{RegressionOptions, regression_path, run_rule};
use crate::eval::{Engine, LogSourceTable, Scratch, TestStatus, read_events};
use crate::sigma::RuleSet;

/// A field the rule tests and the values the matching event holds.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldEvidence {
    /// The field as the rule names it.
    pub field: String,
    /// The event's values (empty when the event lacks the field).
    pub values: Vec<String>,
}

/// One regression test of a rule, for its page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RegressionSummary {
    /// The test's name.
    pub test: String,
    /// `pass`, `fail`, `missing` or `error`.
    pub status: &'static str,
    /// Events matched.
    pub matched: usize,
    /// `match_count`, when given.
    pub expected: Option<usize>,
    /// The events file as `info.yml` names it.
    pub events: String,
    /// The copy of the events file in the site, relative to the site root.
    pub href: Option<String>,
    /// Why it failed, or the warning of a pass.
    pub message: String,
    /// The first matching event's values of the fields the rule tests.
    pub evidence: Vec<FieldEvidence>,
    /// The file to copy into the site at `href`.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// What a rule did with the events given with `--events`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EventsCheck {
    /// The events file.
    pub events: String,
    /// Events read.
    pub total: usize,
    /// Events matched.
    pub matched: usize,
    /// The first matching event's values of the fields the rule tests.
    pub evidence: Vec<FieldEvidence>,
    /// When nothing matched: the detection items the first event of the rule's log source
    /// (else the first event) did not match, as `identifier: key`.
    pub missed: Vec<String>,
    /// Read problems.
    pub problems: Vec<String>,
}

fn evidence(engine: &Engine, rule: u32, event: &crate::eval::Event) -> Vec<FieldEvidence> {
    let mut scratch = Scratch::default();
    engine
        .tested_values(rule, event, &mut scratch)
        .into_iter()
        .map(|(field, values)| FieldEvidence { field, values })
        .collect()
}

/// Runs the regression tests of the entries' rules that have one, and evaluates every rule on
/// `events`, attaching the results to the entries.
pub fn attach(rules: &RuleSet, entries: &mut [RuleEntry], events: &[PathBuf]) {
    use rayon::prelude::*;
    let tested = |file: usize| {
        rules.files.get(file).is_some_and(|f| {
            f.documents
                .iter()
                .any(|d| regression_path(&d.kind).is_some())
        })
    };
    if events.is_empty() && !entries.iter().any(|e| tested(e.file)) {
        return;
    }
    let wanted: std::collections::HashSet<usize> = entries
        .iter()
        .filter(|e| !events.is_empty() || tested(e.file))
        .map(|e| e.file)
        .collect();
    let engine = Engine::compile_where(rules, &LogSourceTable::embedded(), &|file, _| {
        wanted.contains(&file)
    });
    let options = RegressionOptions::default();
    entries.par_iter_mut().for_each(|entry| {
        let Some(file) = rules.files.get(entry.file) else {
            return;
        };
        for document in &file.documents {
            let relative = regression_path(&document.kind);
            if relative.is_none() && events.is_empty() {
                // Nothing to run: skip looking the rule up, a scan of the engine's rules.
                continue;
            }
            let Some(rule) = engine.rule_index(&file.path, document.index) else {
                continue;
            };
            if let Some(relative) = relative {
                for outcome in run_rule(&engine, rule, &file.path, &relative, &options) {
                    let found = outcome.events.is_file();
                    let name = outcome
                        .events
                        .file_name()
                        .map(|n| n.to_string_lossy().to_string());
                    entry.regression.push(RegressionSummary {
                        test: outcome.test.clone(),
                        status: outcome.status.name(),
                        matched: outcome.matched,
                        expected: outcome.expected,
                        events: relative_events(&outcome.events, &relative),
                        href: name
                            .filter(|_| found)
                            .map(|n| format!("regression/{}/{n}", entry.page)),
                        message: outcome.message.clone(),
                        evidence: outcome
                            .first_match
                            .as_ref()
                            .map(|e| evidence(&engine, rule, e))
                            .unwrap_or_default(),
                        source: found.then(|| outcome.events.clone()),
                    });
                }
            }
            for path in events {
                entry.events_check.push(check_events(&engine, rule, path));
            }
        }
    });
}

/// The events path below the folder `info.yml` is in, as the test data lays it out.
fn relative_events(events: &Path, info: &str) -> String {
    let info_dir = Path::new(info).parent().unwrap_or(Path::new(""));
    let name = events.file_name().map(PathBuf::from).unwrap_or_default();
    info_dir.join(name).to_string_lossy().replace('\\', "/")
}

fn check_events(engine: &Engine, rule: u32, path: &Path) -> EventsCheck {
    let mut scratch = Scratch::default();
    let (mut total, mut matched) = (0usize, 0usize);
    let mut first_match = None;
    let mut first_covered = None;
    let mut first_any = None;
    let summary = read_events(path, &mut |event| {
        total += 1;
        if engine.matches_rule(rule, &event, &mut scratch) {
            matched += 1;
            first_match.get_or_insert(event);
        } else if first_covered.is_none() && engine.covers(rule, &event, &mut scratch) {
            first_covered = Some(event);
        } else if first_any.is_none() {
            first_any = Some(event);
        }
    });
    let missed = match (&first_match, first_covered.or(first_any)) {
        (None, Some(event)) => engine
            .explain(rule, &event, &mut scratch)
            .unwrap_or_default()
            .into_iter()
            .filter(|v| !v.matched)
            .map(|v| format!("{}: {}", v.identifier, v.key))
            .collect(),
        _ => Vec::new(),
    };
    EventsCheck {
        events: path.display().to_string(),
        total,
        matched,
        evidence: first_match
            .as_ref()
            .map(|e| evidence(engine, rule, e))
            .unwrap_or_default(),
        missed,
        problems: summary.problems.iter().map(ToString::to_string).collect(),
    }
}

/// Counts for the home page: rules with a regression test, passing, failing (fail or error).
pub fn counts(entries: &[RuleEntry]) -> (usize, usize, usize) {
    let tested: Vec<&RuleEntry> = entries
        .iter()
        .filter(|e| !e.regression.is_empty())
        .collect();
    let failing = tested
        .iter()
        .filter(|e| {
            e.regression
                .iter()
                .any(|r| r.status == "fail" || r.status == "error")
        })
        .count();
    let passing = tested
        .iter()
        .filter(|e| {
            e.regression
                .iter()
                .all(|r| r.status == TestStatus::Pass.name())
        })
        .count();
    (tested.len(), passing, failing)
}

/// A rule's facet in the rules table: `pass`, `fail`, `missing` (no data) or empty (untested).
pub fn facet(entry: &RuleEntry) -> &'static str {
    if entry.regression.is_empty() {
        ""
    } else if entry
        .regression
        .iter()
        .any(|r| r.status == "fail" || r.status == "error")
    {
        "fail"
    } else if entry.regression.iter().all(|r| r.status == "pass") {
        "pass"
    } else {
        "missing"
    }
}

/// Copies each tested rule's events files into the site (`regression/<page>/<file>`), so the
/// pages' links work wherever the site is served. Returns the number of files written.
pub fn write_events(
    output: &super::output::Output,
    entries: &[RuleEntry],
) -> Result<usize, super::SiteError> {
    let mut written = 0;
    for summary in entries.iter().flat_map(|e| &e.regression) {
        let (Some(href), Some(source)) = (&summary.href, &summary.source) else {
            continue;
        };
        let bytes = std::fs::read(source).map_err(|source_error| super::SiteError::Output {
            path: source.clone(),
            source: source_error,
        })?;
        output.write(href, &bytes)?;
        written += 1;
    }
    Ok(written)
}
