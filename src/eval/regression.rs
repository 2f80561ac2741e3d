//! SigmaHQ's regression tests: a rule's `regression_tests_path` names an `info.yml` (relative to
//! the root of the rule repository) listing tests, each an events file and how many of its events
//! the rule must match (`match_count`, at least one when absent). As in SigmaHQ's runner, the
//! root is found by walking up from the rule to the first folder holding that path, unless one
//! is given. More matches than `match_count` pass, with a warning naming the count.

use std::path::{Path, PathBuf};

use super::compile::ItemVerdict;
use super::engine::{Engine, Scratch};
use super::event::Event;
use super::reader::read_events;
use crate::sigma::{RuleSet, SigmaKind};

/// The verdict of one regression test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatus {
    /// The rule matched at least the expected events.
    Pass,
    /// It matched fewer.
    Fail,
    /// The test data is not there.
    Missing,
    /// The data could not be read, or the rule cannot be evaluated.
    Error,
}

impl TestStatus {
    /// The name used in JSON output.
    pub fn name(self) -> &'static str {
        match self {
            TestStatus::Pass => "pass",
            TestStatus::Fail => "fail",
            TestStatus::Missing => "missing",
            TestStatus::Error => "error",
        }
    }
}

/// One regression test of a rule and how it went.
#[derive(Debug, Clone)]
pub struct RegressionOutcome {
    /// The rule's index in the engine.
    pub rule: u32,
    /// The rule file.
    pub rule_file: PathBuf,
    /// The rule's `id`.
    pub id: Option<String>,
    /// The rule's title.
    pub title: String,
    /// The `regression_tests_path` as written.
    pub info_path: String,
    /// The test's name (`Positive Detection Test`).
    pub test: String,
    /// The events file, resolved (as written when it could not be resolved).
    pub events: PathBuf,
    /// `match_count`.
    pub expected: Option<usize>,
    /// How many events matched.
    pub matched: usize,
    /// How many events the file held.
    pub total: usize,
    /// The verdict.
    pub status: TestStatus,
    /// What to tell: why it failed, or the warning of a pass with more matches.
    pub message: String,
    /// The first matching event.
    pub first_match: Option<Event>,
    /// For a failing test, the first event the rule's log source covers (else the first event)
    /// and the detection items' verdicts on it.
    pub closest: Option<(Event, Vec<ItemVerdict>)>,
}

/// Where to find the test data.
#[derive(Debug, Clone, Default)]
pub struct RegressionOptions {
    /// The repository root, when given (else found by walking up from each rule).
    pub root: Option<PathBuf>,
}

/// A rule's `regression_tests_path`.
pub fn regression_path(kind: &SigmaKind) -> Option<String> {
    kind.meta()
        .custom
        .iter()
        .find(|(k, _)| k == "regression_tests_path")
        .and_then(|(_, v)| v.as_str())
        .map(str::to_string)
}

/// The folder that holds `relative`, walking up from the folder of `rule_file`.
pub fn find_root(rule_file: &Path, relative: &str) -> Option<PathBuf> {
    // The path as given first (a tree assembled from links is walked as the user sees it), then
    // with links resolved.
    let given = std::path::absolute(rule_file).unwrap_or_else(|_| rule_file.to_path_buf());
    let resolved = std::fs::canonicalize(rule_file).ok();
    [Some(given), resolved]
        .into_iter()
        .flatten()
        .find_map(|start| {
            start
                .ancestors()
                .skip(1)
                .find(|dir| dir.join(relative).exists())
                .map(Path::to_path_buf)
        })
}

struct TestSpec {
    name: String,
    path: String,
    expected: Option<usize>,
}

fn read_info(path: &Path) -> Result<Vec<TestSpec>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("{}: not YAML: {e}", path.display()))?;
    let Some(tests) = yaml
        .get("regression_tests_info")
        .and_then(|t| t.as_sequence())
    else {
        return Err(format!(
            "{}: no `regression_tests_info` list",
            path.display()
        ));
    };
    let mut out = Vec::new();
    for (i, test) in tests.iter().enumerate() {
        let Some(events) = test.get("path").and_then(|p| p.as_str()) else {
            return Err(format!("{}: test {} has no `path`", path.display(), i + 1));
        };
        out.push(TestSpec {
            name: test
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("regression test")
                .to_string(),
            path: events.to_string(),
            expected: test
                .get("match_count")
                .and_then(serde_yaml::Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
        });
    }
    Ok(out)
}

/// Runs the regression tests of every rule of `set` that has one, in rule-set order.
pub fn run_all(
    set: &RuleSet,
    engine: &Engine,
    options: &RegressionOptions,
) -> Vec<RegressionOutcome> {
    use rayon::prelude::*;
    let mut jobs = Vec::new();
    for (_, file, document) in set.documents() {
        let Some(relative) = regression_path(&document.kind) else {
            continue;
        };
        let Some(rule) = engine.rule_index(&file.path, document.index) else {
            continue;
        };
        jobs.push((rule, file.path.clone(), relative));
    }
    let mut outcomes: Vec<Vec<RegressionOutcome>> = jobs
        .par_iter()
        .map(|(rule, path, relative)| run_rule(engine, *rule, path, relative, options))
        .collect();
    outcomes.iter_mut().flat_map(std::mem::take).collect()
}

/// Runs the regression tests of one rule.
pub fn run_rule(
    engine: &Engine,
    rule: u32,
    rule_file: &Path,
    relative: &str,
    options: &RegressionOptions,
) -> Vec<RegressionOutcome> {
    let compiled = &engine.rules()[rule as usize];
    let base = RegressionOutcome {
        rule,
        rule_file: rule_file.to_path_buf(),
        id: compiled.info.id.clone(),
        title: compiled.info.title.clone(),
        info_path: relative.to_string(),
        test: String::new(),
        events: PathBuf::from(relative),
        expected: None,
        matched: 0,
        total: 0,
        status: TestStatus::Missing,
        message: String::new(),
        first_match: None,
        closest: None,
    };
    let root = options
        .root
        .clone()
        .or_else(|| find_root(rule_file, relative));
    let info = root.as_ref().map(|r| r.join(relative));
    let Some(info) = info.filter(|p| p.is_file()) else {
        return vec![RegressionOutcome {
            message: format!(
                "regression data `{relative}` not found (give the repository root with --regression-root)"
            ),
            ..base
        }];
    };
    let root = root.unwrap_or_default();
    let specs = match read_info(&info) {
        Ok(s) => s,
        Err(message) => {
            return vec![RegressionOutcome {
                status: TestStatus::Error,
                message,
                events: info,
                ..base
            }];
        }
    };
    specs
        .into_iter()
        .map(|spec| {
            let mut outcome = RegressionOutcome {
                test: spec.name.clone(),
                expected: spec.expected,
                events: root.join(&spec.path),
                ..base.clone()
            };
            run_test(engine, rule, &root, &spec, &mut outcome);
            outcome
        })
        .collect()
}

fn run_test(
    engine: &Engine,
    rule: u32,
    root: &Path,
    spec: &TestSpec,
    outcome: &mut RegressionOutcome,
) {
    let mut events = root.join(&spec.path);
    if !events.is_file() {
        // The JSON dump beside a missing EVTX file holds the same events.
        let json = events.with_extension("json");
        if json.is_file() {
            events = json;
        } else {
            outcome.message = format!("events file {} not found", events.display());
            return;
        }
    }
    outcome.events = events.clone();
    if let Some(reason) = &engine.rules()[rule as usize].unevaluable {
        outcome.status = TestStatus::Error;
        outcome.message = format!("the rule cannot be evaluated: {reason}");
        return;
    }
    let mut scratch = Scratch::default();
    let mut first_covered: Option<Event> = None;
    let mut first_any: Option<Event> = None;
    let (mut matched, mut total) = (0usize, 0usize);
    let mut first_match = None;
    let summary = read_events(&events, &mut |event| {
        total += 1;
        if engine.matches_rule(rule, &event, &mut scratch) {
            matched += 1;
            if first_match.is_none() {
                first_match = Some(event);
            }
        } else if first_covered.is_none() && engine.covers(rule, &event, &mut scratch) {
            first_covered = Some(event);
        } else if first_any.is_none() {
            first_any = Some(event);
        }
    });
    outcome.matched = matched;
    outcome.total = total;
    outcome.first_match = first_match;
    let needed = spec.expected.unwrap_or(1).max(1);
    let problems: Vec<String> = summary.problems.iter().map(ToString::to_string).collect();
    if total == 0 && !problems.is_empty() {
        outcome.status = TestStatus::Error;
        outcome.message = problems.join("; ");
        return;
    }
    if matched >= needed {
        outcome.status = TestStatus::Pass;
        if let Some(expected) = spec.expected.filter(|e| matched > *e) {
            outcome.message = format!(
                "matched {matched} events, more than match_count {expected}: set `match_count: {matched}` in info.yml"
            );
        }
    } else {
        outcome.status = TestStatus::Fail;
        outcome.message =
            format!("matched {matched} of {total} events, expected at least {needed}");
        // The closest event: one the log source covers, else any; a matching one when every
        // event matched but too few events were recorded.
        if let Some(event) = first_covered
            .or(first_any)
            .or_else(|| outcome.first_match.clone())
        {
            let verdicts = engine
                .explain(rule, &event, &mut scratch)
                .unwrap_or_default();
            if verdicts.is_empty() {
                outcome
                    .message
                    .push_str("; the rule's log source covers none of the events");
            }
            outcome.closest = Some((event, verdicts));
        }
    }
    if !problems.is_empty() {
        if !outcome.message.is_empty() {
            outcome.message.push_str("; ");
        }
        outcome.message.push_str(&problems.join("; "));
    }
}
