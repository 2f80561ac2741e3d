//! Golden tests of the Kusto pipelines (`microsoft_xdr`, `sentinel_asim`, `azure_monitor`):
//! every rule of `tests/kusto_pipelines/rules/` converted with `kusto` and each pipeline gives
//! what pySigma printed for it (`tests/kusto_pipelines/expected/<pipeline>/<rule>.txt`), or is
//! refused with pySigma's reason (`<rule>.err`). See `tests/kusto_pipelines/README.md` for where
//! the expected outputs come from.

use std::path::{Path, PathBuf};

use sigwiki::convert::{ConvertInput, backend, convert};
use sigwiki::load::load;
use sigwiki::pipeline::{Chain, Pipeline};
use sigwiki::sigma::ParseOptions;

const PIPELINES: &[&str] = &["microsoft_xdr", "sentinel_asim", "azure_monitor"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kusto_pipelines")
}

/// The output of each rule file with the chain: the query, or the refusal's message.
fn convert_all(chain: &Chain) -> Vec<(String, Result<String, String>)> {
    let loaded = load(&[dir().join("rules")], &ParseOptions::default()).expect("rules load");
    let kusto = backend("kusto").expect("kusto is registered");
    let mut out = Vec::new();
    for file in &loaded.rules.files {
        assert!(
            !file.has_errors(),
            "{}: {:?}",
            file.path.display(),
            file.diagnostics
        );
        let stem = file
            .relative
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        let [document] = file.documents.as_slice() else {
            panic!("{stem}: one document per golden rule");
        };
        let result = match chain.apply(document) {
            Err(refusal) => Err(refusal.to_string()),
            Ok(processed) => {
                let input = ConvertInput {
                    file,
                    document: &processed.document,
                    rules: &loaded.rules,
                    state: Some(&processed.state),
                };
                convert(kusto, &input).map_err(|e| e.to_string())
            }
        };
        out.push((stem, result));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn check_pipeline(name: &str) {
    let pipeline = Pipeline::builtin(name)
        .expect("a built-in pipeline")
        .expect("the built-in pipeline loads");
    let chain = Chain::new(vec![pipeline]);
    let expected_dir = dir().join("expected").join(name);
    let mut failures = Vec::new();
    let results = convert_all(&chain);
    assert!(results.len() >= 9, "golden Kusto rules are missing");
    for (stem, result) in results {
        let ok = expected_dir.join(format!("{stem}.txt"));
        let err = expected_dir.join(format!("{stem}.err"));
        match (
            std::fs::read_to_string(&ok),
            std::fs::read_to_string(&err),
            &result,
        ) {
            (Ok(want), _, Ok(got)) if want.trim_end() == got.trim_end() => {}
            (Ok(want), _, got) => {
                failures.push(format!("{stem}: want\n{}\ngot\n{got:?}", want.trim_end()))
            }
            (_, Ok(reason), Err(message)) if message.contains(reason.trim_end()) => {}
            (_, Ok(reason), got) => failures.push(format!(
                "{stem}: want a refusal holding `{}`, got {got:?}",
                reason.trim_end()
            )),
            _ => failures.push(format!(
                "{stem}: no expected output in {}",
                expected_dir.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} rules differ from pySigma:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn microsoft_xdr_matches_pysigma() {
    check_pipeline("microsoft_xdr");
}

#[test]
fn sentinel_asim_matches_pysigma() {
    check_pipeline("sentinel_asim");
}

#[test]
fn azure_monitor_matches_pysigma() {
    check_pipeline("azure_monitor");
}

#[test]
fn microsoft_365_defender_is_microsoft_xdr() {
    let alias = Pipeline::builtin("microsoft_365_defender")
        .expect("the alias is known")
        .expect("loads");
    let real = Pipeline::builtin("microsoft_xdr")
        .expect("known")
        .expect("loads");
    assert_eq!(alias.name, real.name);
    assert_eq!(alias.items.len(), real.items.len());
}

#[test]
fn kusto_pipelines_are_made_for_kusto_only() {
    for name in PIPELINES {
        let p = Pipeline::builtin(name).expect("known").expect("loads");
        assert!(p.fits("kusto"), "{name} fits kusto");
        assert!(!p.fits("lucene"), "{name} is not for lucene");
    }
}

/// A table set by an earlier pipeline (`set_state query_table`, a user's own table) wins over
/// the rule's category, and the field check leaves a table it does not know alone.
#[test]
fn a_table_set_before_wins() {
    let user = sigwiki::pipeline::load::parse(
        "name: my table\npriority: 5\ntransformations:\n- type: set_state\n  key: query_table\n  val: MyProcessTable\n",
        Path::new("my.yml"),
        "my.yml",
    )
    .expect("user pipeline parses");
    let xdr = Pipeline::builtin("microsoft_xdr")
        .expect("known")
        .expect("loads");
    let results = convert_all(&Chain::new(vec![xdr, user]));
    let (_, unknown) = results
        .iter()
        .find(|(stem, _)| stem == "proc_creation_unknown_field")
        .expect("the rule is there");
    let query = unknown
        .as_ref()
        .expect("converted: the table is the user's");
    assert!(
        query.starts_with("MyProcessTable\n| where "),
        "the user's table is queried: {query}"
    );
    assert!(query.contains("NoSuchColumn =~ \"x\""), "{query}");
}
