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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::OnceLock;

use sigwiki::convert::{Preprocess, convert_file_output};
use sigwiki::load::{Loaded, load};
use sigwiki::pipeline::Chain;
use sigwiki::sigma::ParseOptions;

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

/// Required share of byte-identical outputs.
const REQUIRED_PARITY: f64 = 0.995;

/// How many unlisted differences a failure shows in full.
const SHOWN: usize = 15;

#[derive(Debug)]
struct Reference {
    status: String,
    output: String,
    error: String,
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> Option<&'static (std::path::PathBuf, Loaded)> {
    static CORPUS: OnceLock<Option<(std::path::PathBuf, Loaded)>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let shared = common::shared_dir()?;
            let loaded = load(&[shared.join("corpus/sigmahq")], &ParseOptions::default())
                .expect("corpus loads");
            Some((shared, loaded))
        })
        .as_ref()
}

fn read_reference(path: &Path) -> HashMap<String, Reference> {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("reference {} opens: {e}", path.display()));
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = HashMap::new();
    for line in reader.lines() {
        let line = line.expect("reference line reads");
        let v: serde_json::Value = serde_json::from_str(&line).expect("reference line is JSON");
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_string();
        out.insert(
            text("rule"),
            Reference {
                status: text("status"),
                output: text("output"),
                error: text("error"),
            },
        );
    }
    out
}

/// The committed list of rules whose reference output a real parser rejects.
fn unparseable(reference: &str) -> BTreeSet<String> {
    let path = manifest().join("tests/pipeline_parity/reference-unparseable.json");
    let text = std::fs::read_to_string(&path).expect("reference-unparseable.json reads");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let list = v[reference].as_array().unwrap_or_else(|| {
        panic!(
            "{} has no list for {reference}: run tests/pipeline_parity/reference_unparseable.py",
            path.display()
        )
    });
    list.iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect()
}

/// The `target+pipeline[+pipeline…]` label of a pair, as the deviation list names it.
fn label(target: &str, pipelines: &[&str]) -> String {
    std::iter::once(target)
        .chain(pipelines.iter().copied())
        .collect::<Vec<_>>()
        .join("+")
}

/// `rule \t pair \t why` rows of the committed deviation list, for one pair.
fn deviations(pair: &str) -> BTreeMap<String, String> {
    let path = manifest().join("tests/pipeline_parity/deviations.tsv");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (rule, p, why) = (parts.next()?, parts.next()?, parts.next()?);
            (p == pair && !why.trim().is_empty()).then(|| (rule.to_string(), why.to_string()))
        })
        .collect()
}

fn check_pair(target: &str, pipelines: &[&str]) {
    let pair = label(target, pipelines);
    let Some((shared, loaded)) = corpus() else {
        eprintln!(
            "skipped: pipeline parity of {pair} needs the shared corpus and oracle (set SIGWIKI_SHARED or put it at ../shared)"
        );
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
        read_reference(&shared.join(format!("oracle/pipelines/{reference_name}.jsonl.gz")));
    let unparseable = unparseable(reference_name);
    let listed = deviations(&pair);

    let mut compared = 0usize;
    let mut identical = 0usize;
    let mut unlisted = Vec::new();
    let mut stale = Vec::new();
    let mut refused_by_reference = 0usize;
    let mut refused_by_both = 0usize;
    let mut silent_refusals = Vec::new();
    let mut must_differ_but_same = Vec::new();
    for file in &loaded.rules.files {
        let rule = file.relative.to_string_lossy().replace('\\', "/");
        let Some(reference) = references.get(&rule) else {
            continue;
        };
        // What `sigwiki convert` prints for the file, as the reference is what `sigma convert`
        // printed for it within the whole rule set (filters applied, rules only a
        // `generate: false` correlation uses printing nothing).
        let ours = convert_file_output(backend, file, &loaded.rules, Preprocess::Pipelines(&chain));
        if reference.status != "ok" && reference.status != "empty" {
            refused_by_reference += 1;
            match (&ours, listed.contains_key(&rule)) {
                (Err(e), listed_rule) => {
                    refused_by_both += 1;
                    if e.message.trim().is_empty() {
                        silent_refusals.push(rule.clone());
                    }
                    if listed_rule {
                        stale.push(rule);
                    }
                }
                (Ok(_), true) => {}
                (Ok(output), false) => unlisted.push(format!(
                    "{rule}\n  reference refuses: {}\n  ours:     {}",
                    reference.error,
                    output.trim_end()
                )),
            }
            continue;
        }
        let expected = reference.output.trim_end();
        let ours_text = match &ours {
            Ok(o) => o.trim_end().to_string(),
            Err(e) => format!("<error: {e}>"),
        };
        if unparseable.contains(&rule) {
            if ours_text == expected {
                must_differ_but_same.push(rule);
            }
            continue;
        }
        compared += 1;
        if ours_text == expected {
            identical += 1;
            if listed.contains_key(&rule) {
                stale.push(rule);
            }
        } else if !listed.contains_key(&rule) {
            unlisted.push(format!(
                "{rule}\n  expected: {expected}\n  ours:     {ours_text}"
            ));
        }
    }
    let parity = identical as f64 / compared.max(1) as f64;
    eprintln!(
        "{pair}: {identical}/{compared} byte-identical ({:.2}%), {} listed deviations, {} reference outputs left out as unparseable; the reference refuses {refused_by_reference} rules, we refuse {refused_by_both} of them",
        parity * 100.0,
        listed.len(),
        unparseable.len(),
    );
    let shown: Vec<&str> = unlisted.iter().take(SHOWN).map(String::as_str).collect();
    assert!(
        unlisted.is_empty(),
        "{pair}: {} differences not listed in tests/pipeline_parity/deviations.tsv, e.g.:\n{}",
        unlisted.len(),
        shown.join("\n")
    );
    assert!(
        stale.is_empty(),
        "{pair}: listed deviations that no longer differ: {stale:?}"
    );
    assert!(
        silent_refusals.is_empty(),
        "{pair}: refusals without a message: {silent_refusals:?}"
    );
    assert!(
        must_differ_but_same.is_empty(),
        "{pair}: ours repeats a reference output that does not parse: {must_differ_but_same:?}"
    );
    assert!(
        parity >= REQUIRED_PARITY,
        "{pair}: parity {:.2}% is below {:.1}%",
        parity * 100.0,
        REQUIRED_PARITY * 100.0
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
