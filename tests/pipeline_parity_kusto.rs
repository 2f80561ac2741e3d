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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::OnceLock;

use sigwiki::convert::{ConvertInput, backend, convert};
use sigwiki::load::{Loaded, load};
use sigwiki::pipeline::{Chain, Pipeline};
use sigwiki::sigma::ParseOptions;

/// Required share of byte-identical outputs.
const REQUIRED_PARITY: f64 = 0.995;

#[derive(Debug)]
struct Reference {
    status: String,
    output: String,
    error: String,
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

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The rules whose reference output of `pair` the target's parser rejects.
fn unparseable(pair: &str) -> BTreeSet<String> {
    let path = manifest().join("tests/pipeline_parity_kusto/reference-unparseable.json");
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeSet::new();
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    v[pair]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// `rule \t pair \t why` rows of the committed deviation list, for one pair.
fn deviations(pair: &str) -> BTreeMap<String, String> {
    let path = manifest().join("tests/pipeline_parity_kusto/deviations.tsv");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (rule, p, why) = (parts.next()?, parts.next()?, parts.next()?);
            (p == pair).then(|| (rule.to_string(), why.to_string()))
        })
        .collect()
}

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
    let Some((shared, loaded)) = corpus() else {
        eprintln!("skipped: parity of {pair} needs the shared corpus and oracle");
        return;
    };
    let backend = backend(target).unwrap_or_else(|| panic!("target {target} is not implemented"));
    let chain = Chain::new(vec![
        Pipeline::builtin(pipeline)
            .expect("a built-in pipeline")
            .expect("it loads"),
    ]);
    let references =
        read_reference(&shared.join(format!("oracle/pipelines/pysigma-{pair}.jsonl.gz")));
    let unparseable = unparseable(&pair);
    let listed = deviations(&pair);

    let (mut compared, mut identical, mut refused_alike) = (0usize, 0usize, 0usize);
    let mut unlisted = Vec::new();
    let mut stale = Vec::new();
    for file in &loaded.rules.files {
        let rule = file.relative.to_string_lossy().replace('\\', "/");
        let Some(reference) = references.get(&rule) else {
            continue;
        };
        let ours = convert_with(&chain, backend, file, loaded);
        let differs = match reference.status.as_str() {
            "ok" if unparseable.contains(&rule) => continue,
            "ok" => {
                compared += 1;
                let expected = reference.output.trim_end();
                match &ours {
                    Ok(o) if o.trim_end() == expected => {
                        identical += 1;
                        None
                    }
                    Ok(o) => Some(format!(
                        "expected: {expected}\n  ours:     {}",
                        o.trim_end()
                    )),
                    Err(e) => Some(format!("expected: {expected}\n  ours:     <error: {e}>")),
                }
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
        match differs {
            None if listed.contains_key(&rule) => stale.push(rule),
            None => {}
            Some(_) if listed.contains_key(&rule) => {}
            Some(why) => unlisted.push(format!("{rule}\n  {why}")),
        }
    }
    let parity = identical as f64 / compared.max(1) as f64;
    eprintln!(
        "{pair}: {identical}/{compared} byte-identical ({:.2}%), {refused_alike} refused alike, {} listed deviations",
        parity * 100.0,
        listed.len()
    );
    let shown: Vec<&str> = unlisted.iter().take(15).map(String::as_str).collect();
    assert!(
        unlisted.is_empty(),
        "{pair}: {} differences not listed in tests/pipeline_parity_kusto/deviations.tsv, e.g.:\n{}",
        unlisted.len(),
        shown.join("\n")
    );
    assert!(
        stale.is_empty(),
        "{pair}: listed deviations that no longer differ: {stale:?}"
    );
    assert!(
        parity >= REQUIRED_PARITY,
        "{pair}: parity {:.2}% is below {:.1}%",
        parity * 100.0,
        REQUIRED_PARITY * 100.0
    );
}

#[test]
fn parity_kusto_microsoft_xdr() {
    check_pair("kusto", "microsoft_xdr");
}

#[test]
fn parity_kusto_sentinel_asim() {
    check_pair("kusto", "sentinel_asim");
}
