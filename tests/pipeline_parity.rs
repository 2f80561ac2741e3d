//! Parity of targets run through processing pipelines with `sigma convert -t TARGET -p
//! PIPELINE` over the SigmaHQ corpus.
//!
//! For each target+pipeline pair of [`PAIRS`], every corpus rule is converted through the
//! pipelines and compared (trailing whitespace trimmed) with what sigma-cli printed
//! (`../shared/oracle/pipelines/<reference>.jsonl.gz`):
//!
//! - over the rules the reference converted to a query its target's real parser accepts (or to
//!   nothing, status `empty`: a rule only a `generate: false` correlation uses), at
//!   least [`REQUIRED_PARITY`] must be byte-identical; the rules whose reference a parser
//!   rejects (`tests/pipeline_parity/reference-unparseable.json`, made by
//!   `tests/pipeline_parity/reference_unparseable.py`) must differ;
//! - a rule the reference refuses must be refused by us too, with a message, unless it is
//!   listed: then we convert it, and the list says why that is right;
//! - every other difference is listed, with the reason ours is right, in
//!   `tests/pipeline_parity/deviations.tsv` (`rule \t pair \t why`); a listed rule that no longer
//!   differs (or is no longer converted) fails too, so the list stays exact.
//!
//! Without the shared folder the tests print `skipped: …` and pass.

mod common;

use common::parity::{
    Tally, corpus_or_skip, listed_rules, manifest_file, read_references, rule_name,
};
use sigwiki::convert::{Preprocess, convert_file_output};
use sigwiki::pipeline::Chain;

/// The pairs checked: target, pipelines (as given to `-p`, in that order), reference file stem
/// under `oracle/pipelines/`.
const PAIRS: &[(&str, &[&str], &str)] = &[
    ("lucene", &["ecs_windows"], "pysigma-lucene+ecs_windows"),
    ("eql", &["ecs_windows"], "pysigma-eql+ecs_windows"),
    ("esql", &["ecs_windows"], "pysigma-esql+ecs_windows"),
    ("lucene", &["sysmon"], "pysigma-lucene+sysmon"),
    ("splunk", &["sysmon"], "pysigma-splunk+sysmon"),
    (
        "splunk",
        &["splunk_windows"],
        "pysigma-splunk+splunk_windows",
    ),
];

/// The committed list of rules whose reference output a real parser rejects.
fn unparseable(reference: &str) -> std::collections::BTreeSet<String> {
    listed_rules(
        &manifest_file("tests/pipeline_parity/reference-unparseable.json"),
        reference,
        Some("run tests/pipeline_parity/reference_unparseable.py"),
    )
}

/// The `target+pipeline[+pipeline…]` label of a pair, as the deviation list names it.
fn label(target: &str, pipelines: &[&str]) -> String {
    std::iter::once(target)
        .chain(pipelines.iter().copied())
        .collect::<Vec<_>>()
        .join("+")
}

fn check_pair(target: &str, pipelines: &[&str]) {
    let pair = label(target, pipelines);
    let Some((shared, loaded)) = corpus_or_skip(&format!("pipeline parity of {pair}")) else {
        return;
    };
    let reference_name = PAIRS
        .iter()
        .find(|(t, p, _)| *t == target && *p == pipelines)
        .map(|(_, _, r)| *r)
        .expect("a listed pair");
    let backend = sigwiki::convert::backend(target)
        .unwrap_or_else(|| panic!("target {target} is not implemented"));
    let specs: Vec<String> = pipelines.iter().map(|p| p.to_string()).collect();
    let chain = Chain::load(&specs).unwrap_or_else(|e| panic!("pipelines of {pair} load: {e}"));
    let references =
        read_references(&shared.join(format!("oracle/pipelines/{reference_name}.jsonl.gz")));
    let mut tally = Tally::new(
        &pair,
        "tests/pipeline_parity/deviations.tsv",
        unparseable(reference_name),
    );
    let mut refused_by_reference = 0usize;
    let mut refused_by_both = 0usize;
    let mut silent_refusals = Vec::new();
    for file in &loaded.rules.files {
        let rule = rule_name(file);
        let Some(reference) = references.get(&rule) else {
            continue;
        };
        // What `sigwiki convert` prints for the file, as the reference is what `sigma convert`
        // printed for it within the whole rule set (filters applied, rules only a
        // `generate: false` correlation uses printing nothing).
        let ours = convert_file_output(backend, file, &loaded.rules, Preprocess::Pipelines(&chain));
        if reference.status != "ok" && reference.status != "empty" {
            // A rule the reference refuses: refused by us too, unless listed (we convert it).
            refused_by_reference += 1;
            let difference = match &ours {
                Err(e) => {
                    refused_by_both += 1;
                    if e.message.trim().is_empty() {
                        silent_refusals.push(rule.clone());
                    }
                    None
                }
                Ok(output) => Some(format!(
                    "reference refuses: {}\n  ours:     {}",
                    reference.error,
                    output.trim_end()
                )),
            };
            tally.outcome(&rule, difference);
            continue;
        }
        tally.compare_query(&rule, &reference.output, &ours);
    }
    let pair = tally.label.clone();
    tally.finish(&format!(
        "; the reference refuses {refused_by_reference} rules, we refuse {refused_by_both} of them"
    ));
    assert!(
        silent_refusals.is_empty(),
        "{pair}: refusals without a message: {silent_refusals:?}"
    );
}

/// Every pair of [`PAIRS`] has a test of its own below, and every test a pair.
#[test]
fn every_pair_is_tested() {
    let source = include_str!("pipeline_parity.rs");
    for (target, pipelines, _) in PAIRS {
        let call = format!("{target:?} => {pipelines:?}");
        assert!(
            source.contains(&call),
            "pair {} has no test: add `NAME => {call}` to pipeline_parity_tests!",
            label(target, pipelines)
        );
    }
}

/// The committed unparseable list has a list for every pair's reference.
#[test]
fn unparseable_list_covers_every_pair() {
    for (_, _, reference) in PAIRS {
        unparseable(reference);
    }
}

macro_rules! pipeline_parity_tests {
    ($($name:ident => $target:literal => [$($pipeline:literal),+]),* $(,)?) => {
        $( #[test] fn $name() { check_pair($target, &[$($pipeline),+]); } )*
    };
}

pipeline_parity_tests! {
    pipeline_parity_lucene_ecs_windows => "lucene" => ["ecs_windows"],
    pipeline_parity_eql_ecs_windows => "eql" => ["ecs_windows"],
    pipeline_parity_esql_ecs_windows => "esql" => ["ecs_windows"],
    pipeline_parity_lucene_sysmon => "lucene" => ["sysmon"],
    pipeline_parity_splunk_sysmon => "splunk" => ["sysmon"],
    pipeline_parity_splunk_splunk_windows => "splunk" => ["splunk_windows"],
}
