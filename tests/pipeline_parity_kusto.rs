//! Parity of targets with processing pipelines against `sigma convert -t TARGET -p PIPELINE`
//! over the SigmaHQ corpus (`../shared/oracle/pipelines/pysigma-<target>+<pipeline>.jsonl.gz`).
//!
//! Modelled on `tests/parity.rs`: every corpus rule is converted with the target and the
//! built-in pipeline and compared (trailing whitespace trimmed) with the reference, over the
//! rules where the reference succeeded with a query the target's real parser accepts (rules
//! whose reference does not parse are listed in `tests/pipeline_parity_kusto/reference-unparseable.json`
//! when that list exists). At least 99.5% must be byte-identical, and every difference is listed
//! with the reason ours is right in `tests/pipeline_parity_kusto/deviations.tsv` (`rule \t
//! target+pipeline \t why`); a listed rule that no longer differs fails, so the list stays
//! exact. Rules the reference refuses must be refused by us too, for the same reason (pySigma's
//! invalid-field message grows with every rule of a run, so a refusal naming a field is
//! compared by its first field), unless the deviation list says why ours converts them.

mod common;

use common::parity::{
    Tally, corpus_or_skip, listed_rules, manifest_file, read_references, rule_name,
};
use sigwiki::convert::{ConvertInput, backend, convert};
use sigwiki::load::Loaded;
use sigwiki::pipeline::{Chain, Pipeline};

/// The field a refusal names first (`… field name encountered: X. …`), if any.
fn first_field(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("field name encountered: ")?;
    rest.split(['.', ' ', '\n']).next()
}

/// The kind of a refusal, for comparing ours with the reference's.
fn refusal_kind(message: &str) -> String {
    if let Some(field) = first_field(message) {
        return format!("invalid field {field}");
    }
    for (needle, kind) in [
        ("Unable to determine table name", "no table"),
        ("No valid hash algo", "no hash algorithm"),
        ("placeholder", "placeholder"),
    ] {
        if message.contains(needle) {
            return kind.to_string();
        }
    }
    "other".to_string()
}

/// Every document of `file` through the chain and the backend: the queries, or the first
/// refusal's message.
fn convert_with(
    chain: &Chain,
    backend: &dyn sigwiki::convert::Backend,
    file: &sigwiki::sigma::RuleFile,
    loaded: &Loaded,
) -> Result<String, String> {
    let mut outputs = Vec::new();
    for document in &file.documents {
        let processed = chain.apply(document).map_err(|r| r.to_string())?;
        let input = ConvertInput {
            file,
            document: &processed.document,
            rules: &loaded.rules,
            state: Some(&processed.state),
        };
        outputs.push(convert(backend, &input).map_err(|e| e.to_string())?);
    }
    Ok(backend.join_outputs(outputs))
}

fn check_pair(target: &str, pipeline: &str) {
    let pair = format!("{target}+{pipeline}");
    let Some((shared, loaded)) = corpus_or_skip(&format!("parity of {pair}")) else {
        return;
    };
    let backend = backend(target).unwrap_or_else(|| panic!("target {target} is not implemented"));
    let chain = Chain::new(vec![
        Pipeline::builtin(pipeline)
            .expect("a built-in pipeline")
            .expect("it loads"),
    ]);
    let references =
        read_references(&shared.join(format!("oracle/pipelines/pysigma-{pair}.jsonl.gz")));
    let unparseable = listed_rules(
        &manifest_file("tests/pipeline_parity_kusto/reference-unparseable.json"),
        &pair,
        None,
    );
    let mut tally = Tally::new(
        &pair,
        "tests/pipeline_parity_kusto/deviations.tsv",
        unparseable,
    );
    let mut refused_alike = 0usize;
    for file in &loaded.rules.files {
        let rule = rule_name(file);
        let Some(reference) = references.get(&rule) else {
            continue;
        };
        let ours = convert_with(&chain, backend, file, loaded);
        let difference = match reference.status.as_str() {
            "ok" => {
                tally.compare_query(&rule, &reference.output, &ours);
                continue;
            }
            "err" => match &ours {
                Err(e) if refusal_kind(e) == refusal_kind(&reference.error) => {
                    refused_alike += 1;
                    None
                }
                Err(e) => Some(format!(
                    "refused for another reason\n  reference: {}\n  ours:      {e}",
                    reference.error.chars().take(300).collect::<String>()
                )),
                Ok(o) => Some(format!(
                    "the reference refuses it ({}), ours converts it:\n  {}",
                    reference.error.chars().take(300).collect::<String>(),
                    o.trim_end()
                )),
            },
            // Nothing printed: we must print nothing or refuse.
            _ => match &ours {
                Ok(o) if !o.trim().is_empty() => Some(format!(
                    "the reference prints nothing, ours: {}",
                    o.trim_end()
                )),
                _ => None,
            },
        };
        tally.outcome(&rule, difference);
    }
    tally.finish(&format!(", {refused_alike} refused alike"));
}

#[test]
fn parity_kusto_microsoft_xdr() {
    check_pair("kusto", "microsoft_xdr");
}

#[test]
fn parity_kusto_sentinel_asim() {
    check_pair("kusto", "sentinel_asim");
}
