//! `sigwiki convert`'s low-memory batch conversion gives exactly what converting every file
//! with the whole rule set loaded gives: correlations across files, rules they refer to, and
//! names that clash.

mod common;

use std::path::{Path, PathBuf};

use sigwiki::convert::batch::convert_inputs;
use sigwiki::convert::{backends, convert_file_output};
use sigwiki::load::load;
use sigwiki::sigma::ParseOptions;

/// Every file's result, as text, both ways.
fn both_ways(inputs: &[PathBuf]) -> Vec<(String, Vec<String>, Vec<String>)> {
    let options = ParseOptions::default();
    let loaded = load(inputs, &options).expect("load");
    backends()
        .iter()
        .map(|backend| {
            let whole: Vec<String> = loaded
                .rules
                .files
                .iter()
                .map(|f| {
                    let result = convert_file_output(
                        *backend,
                        f,
                        &loaded.rules,
                        sigwiki::convert::Preprocess::None,
                    )
                    .map_err(|e| e.to_string());
                    format!("{}: {result:?}", f.path.display())
                })
                .collect();
            let batch: Vec<String> = convert_inputs(inputs, &options, *backend, None)
                .expect("batch")
                .converted
                .into_iter()
                .map(|c| {
                    let result = c.result.map_err(|e| e.to_string());
                    format!("{}: {result:?}", c.path.display())
                })
                .collect();
            (backend.name().to_string(), whole, batch)
        })
        .collect()
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

#[test]
fn batch_conversion_equals_whole_set_conversion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let rule = |id: &str, name: Option<&str>, user: &str| {
        format!(
            "title: rule {id}\nid: {id}\n{}status: test\nlogsource:\n  product: windows\n  service: security\ndetection:\n  selection:\n    EventID: 4625\n    TargetUserName: {user}\n  condition: selection\nlevel: low\n",
            name.map(|n| format!("name: {n}\n")).unwrap_or_default()
        )
    };
    write(
        d,
        "a.yml",
        &rule("11111111-1111-4111-8111-111111111111", None, "alice"),
    );
    write(
        d,
        "b.yml",
        &rule(
            "22222222-2222-4222-8222-222222222222",
            Some("failed_bob"),
            "bob",
        ),
    );
    write(
        d,
        "c_plain.yml",
        &rule("33333333-3333-4333-8333-333333333333", None, "carol"),
    );
    // The same name again: an error only the whole set can see.
    write(
        d,
        "d_clash.yml",
        &rule(
            "44444444-4444-4444-8444-444444444444",
            Some("failed_bob"),
            "dave",
        ),
    );
    write(
        d,
        "z_correlation.yml",
        "title: many failures\nid: 55555555-5555-4555-8555-555555555555\nstatus: test\ncorrelation:\n  type: event_count\n  rules:\n    - 11111111-1111-4111-8111-111111111111\n    - failed_bob\n  group-by:\n    - IpAddress\n  timespan: 5m\n  condition:\n    gte: 10\nlevel: high\n",
    );
    write(
        d,
        "y_unresolved.yml",
        "title: dangling\nid: 66666666-6666-4666-8666-666666666666\nstatus: test\ncorrelation:\n  type: event_count\n  rules:\n    - no-such-rule\n  group-by:\n    - IpAddress\n  timespan: 5m\n  condition:\n    gte: 10\nlevel: high\n",
    );
    for (target, whole, batch) in both_ways(&[d.to_path_buf()]) {
        assert_eq!(whole.len(), 6, "{target}");
        assert_eq!(batch, whole, "{target}");
    }
}

#[test]
fn batch_conversion_equals_whole_set_conversion_on_the_corpus() {
    let Some(shared) = common::shared_or_skip("batch conversion of the corpus") else {
        return;
    };
    let corpus = shared.join("corpus/sigmahq");
    for (target, whole, batch) in both_ways(&[corpus]) {
        assert_eq!(batch.len(), whole.len(), "{target}");
        for (b, w) in batch.iter().zip(&whole) {
            assert_eq!(b, w, "{target}");
        }
    }
}
