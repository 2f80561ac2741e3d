//! Parity on SigmaHQ's own retired rules: the `deprecated/` and `unsupported/` folders of a
//! SigmaHQ/sigma checkout (not part of the shared corpus), converted with every target and
//! compared with what the reference converters printed for them (sigmac 0.23.1 for `es-qs`,
//! `xpack-watcher` and `graylog`; sigma-cli 3.1.0 / pySigma 1.5.1 for the others).
//!
//! The checkout is found through `SIGWIKI_SIGMAHQ` (its root); without it the test prints
//! `skipped: …` and passes. The expected side, `tests/sigmahq_retired/expected.tsv`, holds per
//! rule the hash of the rule file and, per reference, the hash and length of its output (or
//! that it refused the rule, or that the target's real parser rejects the output); see its
//! README. A rule whose file changed since is left out and counted. Over the valid
//! references, at least 99% of each target's outputs must be byte-identical (trailing
//! whitespace trimmed); every other difference is listed with its reason in
//! `tests/sigmahq_retired/deviations.tsv`, and a listed rule that no longer differs fails, so
//! the list stays exact. An output a parser rejects must not be repeated.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sigwiki::convert::{Preprocess, backend, convert_file_output};
use sigwiki::load::load;
use sigwiki::sigma::ParseOptions;

/// sigwiki's target and the column of its reference.
const TARGETS: [(&str, &str); 8] = [
    ("es-qs", "sigmac-es-qs"),
    ("xpack-watcher", "sigmac-xpack-watcher"),
    ("graylog", "sigmac-graylog"),
    ("lucene", "pysigma-lucene"),
    ("splunk", "pysigma-splunk"),
    ("eql", "pysigma-eql"),
    ("esql", "pysigma-esql"),
    ("kusto", "pysigma-kusto"),
];

/// Required share of byte-identical outputs per target.
const REQUIRED_PARITY: f64 = 0.99;

fn data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sigmahq_retired")
}

/// FNV-1a, 64 bits: the hash `make_expected.py` writes.
fn fnv1a64(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// What a reference printed for one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    /// The converter refused the rule.
    Refused,
    /// It printed nothing.
    Empty,
    /// It printed an output with this hash and length; `valid` unless the parser rejects it.
    Output {
        valid: bool,
        hash: String,
        len: usize,
    },
}

fn parse_cell(cell: &str) -> Expected {
    match cell {
        "err" => Expected::Refused,
        "-" => Expected::Empty,
        _ => {
            let mut parts = cell.split(':');
            let verdict = parts.next().expect("verdict");
            let hash = parts.next().expect("hash").to_string();
            let len = parts.next().expect("length").parse().expect("a length");
            assert!(matches!(verdict, "ok" | "invalid"), "cell {cell}");
            Expected::Output {
                valid: verdict == "ok",
                hash,
                len,
            }
        }
    }
}

/// Rule path → (hash of the rule file, reference → expected).
type Table = BTreeMap<String, (String, BTreeMap<String, Expected>)>;

fn expected() -> Table {
    let text = std::fs::read_to_string(data().join("expected.tsv")).expect("expected.tsv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), header.len(), "{line}");
            let references = header[2..]
                .iter()
                .zip(&cells[2..])
                .map(|(r, c)| (r.to_string(), parse_cell(c)))
                .collect();
            (cells[0].to_string(), (cells[1].to_string(), references))
        })
        .collect()
}

/// `(target, rule)` of every listed deviation.
fn deviations() -> BTreeSet<(String, String)> {
    std::fs::read_to_string(data().join("deviations.tsv"))
        .expect("deviations.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split('\t');
            let target = fields.next().expect("target").to_string();
            let rule = fields.next().expect("rule").to_string();
            assert!(
                fields.next().is_some_and(|why| !why.is_empty()),
                "{l}: a reason"
            );
            (target, rule)
        })
        .collect()
}

#[test]
fn expected_table_is_well_formed() {
    // Holds without a checkout: every listed deviation names a rule and a target of the table.
    let table = expected();
    assert!(table.len() >= 250, "{} rules", table.len());
    for (target, rule) in deviations() {
        assert!(
            TARGETS.iter().any(|(t, _)| *t == target),
            "deviations.tsv: unknown target {target}"
        );
        assert!(
            table.contains_key(&rule),
            "deviations.tsv: unknown rule {rule}"
        );
    }
}

#[test]
fn retired_sigmahq_rules_match_the_references() {
    let Some(root) = std::env::var_os("SIGWIKI_SIGMAHQ").map(PathBuf::from) else {
        eprintln!(
            "skipped: parity on SigmaHQ's deprecated/ and unsupported/ rules needs a SigmaHQ/sigma checkout (set SIGWIKI_SIGMAHQ to its root)"
        );
        return;
    };
    let folders: Vec<PathBuf> = ["deprecated", "unsupported"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    for folder in &folders {
        assert!(folder.is_dir(), "{}: not a folder", folder.display());
    }
    let table = expected();
    let listed = deviations();
    let loaded = load(&folders, &ParseOptions::default()).expect("the folders load");
    let rule_name = |path: &Path| {
        path.strip_prefix(&root)
            .expect("under the checkout")
            .to_string_lossy()
            .replace('\\', "/")
    };
    // The rules as they were when the references were made.
    let mut unchanged = Vec::new();
    let (mut changed, mut unknown) = (0usize, 0usize);
    for file in &loaded.rules.files {
        let name = rule_name(&file.path);
        match table.get(&name) {
            Some((hash, _)) if *hash == fnv1a64(&std::fs::read(&file.path).expect("reads")) => {
                unchanged.push((name, file));
            }
            Some(_) => changed += 1,
            None => unknown += 1,
        }
    }
    eprintln!(
        "{} rules as the references saw them; {changed} changed since, {unknown} new (left out)",
        unchanged.len()
    );
    let mut failures = Vec::new();
    let mut still_listed = listed.clone();
    let mut summary = Vec::new();
    for (target, reference) in TARGETS {
        let backend = backend(target).expect("target");
        let (mut compared, mut identical) = (0usize, 0usize);
        for (name, file) in &unchanged {
            let key = (target.to_string(), name.clone());
            let ours = convert_file_output(backend, file, &loaded.rules, Preprocess::None);
            let ours_text = match &ours {
                Ok(text) => text.trim_end().to_string(),
                Err(e) => format!("<error: {e}>"),
            };
            let same_as = |hash: &str, len: usize| {
                ours.is_ok() && ours_text.len() == len && fnv1a64(ours_text.as_bytes()) == hash
            };
            match &table[name].1[reference] {
                Expected::Refused => {}
                Expected::Empty => {
                    if !matches!(&ours, Ok(t) if t.trim().is_empty()) {
                        failures.push(format!(
                            "{target} {name}: the reference printed nothing, ours: {ours_text}"
                        ));
                    }
                }
                Expected::Output {
                    valid: false,
                    hash,
                    len,
                } => {
                    if same_as(hash, *len) {
                        failures.push(format!(
                            "{target} {name}: ours repeats a reference output its parser rejects"
                        ));
                    }
                }
                Expected::Output {
                    valid: true,
                    hash,
                    len,
                } => {
                    compared += 1;
                    still_listed.remove(&key);
                    if same_as(hash, *len) {
                        identical += 1;
                        if listed.contains(&key) {
                            failures.push(format!(
                                "{target} {name}: listed as a deviation but identical"
                            ));
                        }
                    } else if !listed.contains(&key) {
                        failures.push(format!(
                            "{target} {name}: differs from the reference ({len} bytes; see it with ../shared/oracle/oracle.sh), ours:\n{ours_text}"
                        ));
                    }
                }
            }
        }
        let parity = identical as f64 / compared.max(1) as f64;
        summary.push(format!(
            "{target} {identical}/{compared} ({:.2}%)",
            parity * 100.0
        ));
        if parity < REQUIRED_PARITY {
            failures.push(format!(
                "{target}: parity {:.2}% is below {:.0}%",
                parity * 100.0,
                REQUIRED_PARITY * 100.0
            ));
        }
    }
    eprintln!(
        "byte-identical to the valid references: {}",
        summary.join(", ")
    );
    if changed == 0 && unknown == 0 {
        for (target, rule) in still_listed {
            failures.push(format!(
                "{target} {rule}: listed deviation has no valid reference"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
