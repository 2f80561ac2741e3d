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

use common::parity::{Tally, corpus_or_skip, listed_rules, read_references, rule_name};

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

fn check_target(target: &str) {
    let Some((shared, loaded)) = corpus_or_skip(&format!("parity of {target}")) else {
        return;
    };
    let reference_name = TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map(|(_, r)| *r)
        .expect("known target");
    let backend = sigwiki::convert::backend(target)
        .unwrap_or_else(|| panic!("target {target} is not implemented"));
    let references = read_references(&shared.join(format!("oracle/{reference_name}.jsonl.gz")));
    let unparseable = listed_rules(
        &shared.join("oracle/reference-unparseable.json"),
        reference_name,
        None,
    );
    let mut tally = Tally::new(target, "tests/parity/deviations.tsv", unparseable);
    let mut reference_failed = 0usize;
    let mut we_convert = 0usize;
    for file in &loaded.rules.files {
        let rule = rule_name(file);
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
        tally.compare_query(&rule, &reference.output, &ours);
    }
    tally.finish(&format!(
        "; reference failed on {reference_failed} rules, we convert {we_convert} of them ({:.1}%)",
        we_convert as f64 * 100.0 / reference_failed.max(1) as f64
    ));
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
