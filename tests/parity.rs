//! Parity of the query targets with the reference converters over the SigmaHQ corpus.
//!
//! For each target, every corpus rule is converted and compared (trailing whitespace trimmed)
//! with what the reference converter printed (`../shared/oracle/<reference>.jsonl.gz`), over the
//! rules where the reference succeeded with a valid query. Rules whose reference output a real
//! parser rejects (`reference-unparseable.json`) must differ. Every other difference must be
//! listed, with the reason ours is right, in `tests/parity/deviations.tsv`; a listed rule that
//! no longer differs fails too, so the list stays exact. The share of the rules where the
//! reference failed that we convert is printed.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::OnceLock;

use sigwiki::load::{Loaded, load};
use sigwiki::sigma::ParseOptions;

/// Target name → reference file stem.
const TARGETS: &[(&str, &str)] = &[
    ("es-qs", "sigmac-es-qs"),
    ("xpack-watcher", "sigmac-xpack-watcher"),
    ("graylog", "sigmac-graylog"),
    ("lucene", "pysigma-lucene"),
    ("splunk", "pysigma-splunk"),
    ("eql", "pysigma-eql"),
    ("esql", "pysigma-esql"),
    ("kusto", "pysigma-kusto"),
];

/// Required share of byte-identical outputs.
const REQUIRED_PARITY: f64 = 0.995;

#[derive(Debug)]
struct Reference {
    status: String,
    output: String,
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
    let file = std::fs::File::open(path).expect("reference file opens");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = HashMap::new();
    for line in reader.lines() {
        let line = line.expect("reference line reads");
        let v: serde_json::Value = serde_json::from_str(&line).expect("reference line is JSON");
        let rule = v["rule"].as_str().expect("rule").to_string();
        out.insert(
            rule,
            Reference {
                status: v["status"].as_str().unwrap_or_default().to_string(),
                output: v["output"].as_str().unwrap_or_default().to_string(),
            },
        );
    }
    out
}

fn unparseable(shared: &Path, reference: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(shared.join("oracle/reference-unparseable.json"))
        .expect("reference-unparseable.json reads");
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    v[reference]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `rule \t target \t why` rows of the committed deviation list, for one target.
fn deviations(target: &str) -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/deviations.tsv");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (rule, t, why) = (parts.next()?, parts.next()?, parts.next()?);
            (t == target).then(|| (rule.to_string(), why.to_string()))
        })
        .collect()
}

fn check_target(target: &str) {
    let Some((shared, loaded)) = corpus() else {
        eprintln!("skipped: parity of {target} needs the shared corpus and oracle");
        return;
    };
    let reference_name = TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, r)| *r)
        .expect("known target");
    let backend = sigwiki::convert::backend(target)
        .unwrap_or_else(|| panic!("target {target} is not implemented"));
    let references = read_reference(&shared.join(format!("oracle/{reference_name}.jsonl.gz")));
    let unparseable = unparseable(shared, reference_name);
    let listed = deviations(target);

    let mut compared = 0usize;
    let mut identical = 0usize;
    let mut unlisted = Vec::new();
    let mut stale = Vec::new();
    let mut reference_failed = 0usize;
    let mut we_convert = 0usize;
    let mut must_differ_but_same = Vec::new();
    for file in &loaded.rules.files {
        let rule = file.relative.to_string_lossy().replace('\\', "/");
        let Some(reference) = references.get(&rule) else {
            continue;
        };
        let ours = sigwiki::convert::convert_file(backend, file, &loaded.rules);
        if reference.status != "ok" {
            reference_failed += 1;
            if ours.is_ok() {
                we_convert += 1;
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
        "{target}: {identical}/{compared} byte-identical ({:.2}%), {} listed deviations; reference failed on {reference_failed} rules, we convert {we_convert} of them ({:.1}%)",
        parity * 100.0,
        listed.len(),
        we_convert as f64 * 100.0 / reference_failed.max(1) as f64
    );
    let shown: Vec<&String> = unlisted.iter().take(15).collect();
    assert!(
        unlisted.is_empty(),
        "{target}: {} differences not listed in tests/parity/deviations.tsv, e.g.:\n{}",
        unlisted.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        stale.is_empty(),
        "{target}: listed deviations that no longer differ: {stale:?}"
    );
    assert!(
        must_differ_but_same.is_empty(),
        "{target}: ours repeats a reference output that does not parse: {must_differ_but_same:?}"
    );
    assert!(
        parity >= REQUIRED_PARITY,
        "{target}: parity {:.2}% is below {:.1}%",
        parity * 100.0,
        REQUIRED_PARITY * 100.0
    );
}

macro_rules! parity_tests {
    ($($name:ident => $target:literal),* $(,)?) => {
        $( #[test] fn $name() { check_target($target); } )*
    };
}

parity_tests! {
    parity_es_qs => "es-qs",
    parity_xpack_watcher => "xpack-watcher",
    parity_graylog => "graylog",
    parity_lucene => "lucene",
    parity_splunk => "splunk",
    parity_eql => "eql",
    parity_esql => "esql",
    parity_kusto => "kusto",
}
