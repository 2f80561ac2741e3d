//! Query syntax: every query a target emits must parse with a real parser of its language.
//!
//! The golden rules (`tests/golden/rules/`) and the SigmaHQ corpus (`../shared/corpus/sigmahq`,
//! when present) are converted with each registered backend, document by document, and every
//! query is checked: `es-qs`, `graylog`, `lucene` and the query inside each `xpack-watcher` watch
//! with luqum 1.0.0 (Lucene), `eql` with Elastic's `eql` 1.0.1 in Elasticsearch syntax, `kusto`
//! with Microsoft's `@kusto/language-service-next` 12.4.1 as `T | where <query>`. Refused
//! conversions are not checked here (parity and golden tests cover them).
//!
//! The validators are small scripts in `tests/query_syntax/` that read JSON lines
//! `{"rule", "query"}` and print one JSON line `{"rule", "error"}` per rejected query; each is
//! spawned once per target. They are found through `SIGWIKI_PY_PARSERS` (a Python with luqum and
//! eql installed, e.g. a venv's `bin/python`) and `SIGWIKI_KQL_DIR` (a folder whose
//! `node_modules` holds the Kusto package; `node` must be on `PATH`). When one is missing the
//! test prints `skipped: …` and passes, unless `SIGWIKI_REQUIRE_VALIDATORS=1` (CI), where a
//! missing validator fails. `.ci/run` installs them.
//!
//! The validators themselves are proven: they must reject known-bad queries and the reference
//! outputs listed in `../shared/oracle/reference-unparseable.json`, and accept ordinary ones.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sigwiki::convert::{ConvertInput, backend, convert};
use sigwiki::load::{Loaded, load};
use sigwiki::pipeline::Chain;
use sigwiki::sigma::{ParseOptions, SigmaKind};

/// A real parser of a query language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    /// Lucene query string syntax (luqum).
    Lucene,
    /// Elasticsearch EQL (eql).
    Eql,
    /// Kusto (the Kusto language service).
    Kql,
}

/// The targets checked, with their language and their reference in the oracle.
const TARGETS: &[(&str, Language, &str)] = &[
    ("es-qs", Language::Lucene, "sigmac-es-qs"),
    ("xpack-watcher", Language::Lucene, "sigmac-xpack-watcher"),
    ("graylog", Language::Lucene, "sigmac-graylog"),
    ("lucene", Language::Lucene, "pysigma-lucene"),
    ("eql", Language::Eql, "pysigma-eql"),
    ("kusto", Language::Kql, "pysigma-kusto"),
];

/// How many rejected queries a failure message shows in full.
const SHOWN: usize = 25;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn require_validators() -> bool {
    std::env::var_os("SIGWIKI_REQUIRE_VALIDATORS").is_some_and(|v| v == "1")
}

/// A validator process to spawn.
#[derive(Debug)]
struct Validator {
    program: PathBuf,
    args: Vec<OsString>,
}

/// One query and who it belongs to.
#[derive(Debug, Clone)]
struct Item {
    rule: String,
    query: String,
    /// A whole query (`Table\n| where …`, after a Kusto pipeline), not a bare `where`
    /// expression: the Kusto validator parses it as it is.
    full: bool,
}

/// One rejected query and the parser's message.
#[derive(Debug, Clone)]
struct Rejection {
    rule: String,
    error: String,
}

fn env_path(name: &str) -> Result<PathBuf, String> {
    match std::env::var_os(name) {
        Some(v) if !v.is_empty() => Ok(PathBuf::from(v)),
        _ => Err(format!("{name} is not set")),
    }
}

/// The validator of `language`, or why it is unavailable.
fn find_validator(language: Language) -> Result<Validator, String> {
    let scripts = manifest().join("tests/query_syntax");
    match language {
        Language::Lucene | Language::Eql => {
            let python = env_path("SIGWIKI_PY_PARSERS")?;
            if !python.is_file() {
                return Err(format!(
                    "SIGWIKI_PY_PARSERS={} is not a file",
                    python.display()
                ));
            }
            let script = if language == Language::Lucene {
                "check_lucene.py"
            } else {
                "check_eql.py"
            };
            Ok(Validator {
                program: python,
                args: vec![scripts.join(script).into()],
            })
        }
        Language::Kql => {
            let dir = env_path("SIGWIKI_KQL_DIR")?;
            let package = dir.join("node_modules/@kusto/language-service-next");
            if !package.is_dir() {
                return Err(format!("{} does not exist", package.display()));
            }
            let node_runs = Command::new("node")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !node_runs {
                return Err("`node` is not on PATH".into());
            }
            Ok(Validator {
                program: PathBuf::from("node"),
                args: vec![scripts.join("check_kql.js").into(), dir.into()],
            })
        }
    }
}

/// The validator, or `None` after printing why the test is skipped; with
/// `SIGWIKI_REQUIRE_VALIDATORS=1` a missing validator fails instead.
fn validator_or_skip(language: Language, test: &str) -> Option<Validator> {
    match find_validator(language) {
        Ok(v) => Some(v),
        Err(why) if require_validators() => {
            panic!(
                "{test}: the {language:?} validator is missing: {why} (SIGWIKI_REQUIRE_VALIDATORS=1)"
            )
        }
        Err(why) => {
            eprintln!(
                "skipped: {test}: the {language:?} validator is unavailable ({why}); see tests/query_syntax.rs"
            );
            None
        }
    }
}

/// Runs the validator once over every item and returns the rejections.
fn validate(validator: &Validator, items: &[Item]) -> Vec<Rejection> {
    let mut child = Command::new(&validator.program)
        .args(&validator.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", validator.program.display()));
    let mut input = String::new();
    for item in items {
        let line = serde_json::json!({ "rule": item.rule, "query": item.query, "full": item.full });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from a thread so a validator that answers while reading cannot deadlock us.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let error_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut rejections = Vec::new();
    let mut garbage = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("validator output is UTF-8");
        match serde_json::from_str::<serde_json::Value>(&line) {
            Ok(v) => rejections.push(Rejection {
                rule: v["rule"].as_str().unwrap_or_default().to_string(),
                error: v["error"].as_str().unwrap_or_default().to_string(),
            }),
            Err(_) => garbage.push(line),
        }
    }
    let written = writer.join().expect("writer thread");
    let status = child.wait().expect("validator finishes");
    let stderr = error_reader.join().expect("stderr thread");
    assert!(
        status.success() && written.is_ok() && garbage.is_empty(),
        "the validator {} {:?} failed ({status}); stderr:\n{stderr}\nunexpected output: {garbage:?}",
        validator.program.display(),
        validator.args
    );
    eprint!("{stderr}");
    rejections
}

/// Whether `target` prints one query per condition of a rule with a condition list, a blank
/// line between them, as sigma-cli does (sigmac instead ORs the conditions into one query).
fn one_query_per_condition(target: &str) -> bool {
    matches!(target, "lucene" | "splunk" | "eql" | "esql" | "kusto")
}

/// The queries in the output of one document with `conditions` conditions for `target`: for
/// the Watcher, the query of each watch
/// (`input.search.request.body.query.bool.must[0].query_string.query`, which must exist) and any
/// other `query_string` in it; for the pySigma family, one per condition; otherwise the output
/// itself. Empty outputs hold no query.
fn queries(target: &str, output: &str, conditions: usize) -> Result<Vec<String>, String> {
    if target != "xpack-watcher" {
        let output = output.trim_end();
        if output.trim().is_empty() {
            return Ok(Vec::new());
        }
        if conditions < 2 || !one_query_per_condition(target) {
            return Ok(vec![output.to_string()]);
        }
        let parts: Vec<String> = output.split("\n\n").map(String::from).collect();
        if parts.len() != conditions {
            return Err(format!(
                "{conditions} conditions but {} blank-line separated queries",
                parts.len()
            ));
        }
        return Ok(parts);
    }
    let mut found = Vec::new();
    let mut rest = output;
    while let Some(start) = rest.find("<<EOF\n") {
        let body_and_more = &rest[start + "<<EOF\n".len()..];
        let end = body_and_more
            .find("\nEOF\n")
            .or_else(|| body_and_more.strip_suffix("\nEOF").map(str::len))
            .ok_or("a watch without its closing `EOF` line")?;
        let body = &body_and_more[..end];
        let watch: serde_json::Value =
            serde_json::from_str(body).map_err(|e| format!("the watch is not JSON: {e}"))?;
        let query = watch["input"]["search"]["request"]["body"]["query"]["bool"]["must"][0]
            ["query_string"]["query"]
            .as_str()
            .ok_or("the watch has no input.search.request.body.query.bool.must[0].query_string.query")?;
        found.push(query.to_string());
        // Correlation watches hold more query strings (one per correlated rule, in `filters`
        // aggregations): they must parse too.
        query_strings(&watch, &mut found);
        rest = &body_and_more[end..];
    }
    if found.is_empty() && !output.trim().is_empty() {
        return Err("no `<<EOF … EOF` watch in the output".into());
    }
    Ok(found)
}

/// Appends every `query_string.query` under `json` that `found` does not hold yet.
fn query_strings(json: &serde_json::Value, found: &mut Vec<String>) {
    match json {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let query = (key == "query_string")
                    .then(|| value["query"].as_str())
                    .flatten();
                if let Some(q) = query.filter(|q| !found.iter().any(|f| f == q)) {
                    found.push(q.to_string());
                }
                query_strings(value, found);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| query_strings(v, found)),
        _ => {}
    }
}

fn golden() -> &'static Loaded {
    static GOLDEN: OnceLock<Loaded> = OnceLock::new();
    GOLDEN.get_or_init(|| {
        load(
            &[manifest().join("tests/golden/rules")],
            &ParseOptions::default(),
        )
        .expect("golden rules load")
    })
}

fn corpus() -> Option<&'static Loaded> {
    static CORPUS: OnceLock<Option<Loaded>> = OnceLock::new();
    CORPUS
        .get_or_init(|| {
            let shared = common::shared_dir()?;
            Some(
                load(&[shared.join("corpus/sigmahq")], &ParseOptions::default())
                    .expect("corpus loads"),
            )
        })
        .as_ref()
}

/// Every query `target` emits for the rules of `set` (after `chain`'s processing pipelines, when
/// the entry has any, as a site page with that entry shows), labelled
/// `<label>:<path>[#<document>]`; plus the documents whose output holds no readable query (a
/// failure of its own).
fn collect(
    target: &str,
    chain: Option<&Chain>,
    label: &str,
    set: &Loaded,
    items: &mut Vec<Item>,
    broken: &mut Vec<String>,
) -> (usize, usize) {
    let backend = backend(target).expect("registered");
    let (mut converted, mut refused) = (0, 0);
    for file in set.rules.files.iter().filter(|f| !f.has_errors()) {
        let path = file.relative.to_string_lossy().replace('\\', "/");
        for document in &file.documents {
            let rule = if file.documents.len() > 1 {
                format!("{label}:{path}#{}", document.index)
            } else {
                format!("{label}:{path}")
            };
            let processed = match chain.map(|c| c.apply(document)) {
                Some(Ok(processed)) => Some(processed),
                Some(Err(_)) => {
                    refused += 1;
                    continue;
                }
                None => None,
            };
            let input = ConvertInput {
                file,
                document: processed.as_ref().map_or(document, |p| &p.document),
                rules: &set.rules,
                state: processed.as_ref().map(|p| &p.state),
            };
            let Ok(output) = convert(backend, &input) else {
                refused += 1;
                continue;
            };
            converted += 1;
            let conditions = match &document.kind {
                SigmaKind::Rule(rule) => rule.detection.conditions.len(),
                SigmaKind::Correlation(_) | SigmaKind::Filter(_) => 1,
            };
            // A rule a correlation uses prints its bare condition, as pySigma does: EQL holds it
            // inside the correlation's `[any where …]`, so that is the form checked here.
            let inside_correlation =
                target == "eql" && set.rules.is_used_by_correlation(file, document);
            match queries(target, &output, conditions) {
                Ok(found) => {
                    let found: Vec<String> = if inside_correlation {
                        found
                            .into_iter()
                            .map(|q| format!("any where {q}"))
                            .collect()
                    } else {
                        found
                    };
                    // Several queries of one document get a number each, so a rejection names
                    // exactly one of them.
                    let several = found.len() > 1;
                    items.extend(found.into_iter().enumerate().map(|(i, query)| Item {
                        rule: if several {
                            format!("{rule} (query {})", i + 1)
                        } else {
                            rule.clone()
                        },
                        query,
                        full: chain.is_some(),
                    }));
                }
                Err(why) => broken.push(format!("{rule}: {why}\n    output: {output}")),
            }
        }
    }
    (converted, refused)
}

/// Checks the queries of the target entry `spec`, `TARGET[+PIPELINE…]` as `--targets` takes it.
fn check_target(spec: &str) {
    let test = format!("query syntax of {spec}");
    let (target, pipelines) = spec.split_once('+').unwrap_or((spec, ""));
    if backend(target).is_none() {
        eprintln!("skipped: {test}: backend {target} not registered");
        return;
    }
    let chain = if pipelines.is_empty() {
        None
    } else {
        let names: Vec<String> = pipelines.split('+').map(str::to_string).collect();
        match Chain::load(&names) {
            Ok(chain) => Some(chain),
            Err(e) if e.position.is_none() => {
                eprintln!("skipped: {test}: no pipeline {pipelines} in this build ({e})");
                return;
            }
            Err(e) => panic!("{spec}: {e}"),
        }
    };
    let language = TARGETS
        .iter()
        .find(|(t, ..)| *t == target)
        .map(|(_, l, _)| *l)
        .expect("a checked target");
    let Some(validator) = validator_or_skip(language, &test) else {
        return;
    };
    let mut items = Vec::new();
    let mut broken = Vec::new();
    let (golden_converted, golden_refused) = collect(
        target,
        chain.as_ref(),
        "golden",
        golden(),
        &mut items,
        &mut broken,
    );
    let mut summary = format!(
        "{spec}: golden rules: {golden_converted} documents converted, {golden_refused} refused"
    );
    match corpus() {
        Some(corpus) => {
            let (converted, refused) = collect(
                target,
                chain.as_ref(),
                "corpus",
                corpus,
                &mut items,
                &mut broken,
            );
            summary.push_str(&format!(
                "; corpus: {converted} documents converted, {refused} refused"
            ));
        }
        None => summary.push_str(
            "; corpus absent (set SIGWIKI_SHARED or put it at ../shared), golden rules only",
        ),
    }
    let rejections = validate(&validator, &items);
    eprintln!(
        "{summary}; {} queries checked, {} rejected",
        items.len(),
        rejections.len()
    );
    let mut report = Vec::new();
    for r in rejections.iter().take(SHOWN) {
        let query = items
            .iter()
            .find(|i| i.rule == r.rule)
            .map(|i| i.query.as_str())
            .unwrap_or_default();
        report.push(format!(
            "{}\n    error: {}\n    query: {query}",
            r.rule, r.error
        ));
    }
    if rejections.len() > SHOWN {
        let rest: Vec<&str> = rejections[SHOWN..]
            .iter()
            .map(|r| r.rule.as_str())
            .collect();
        report.push(format!("… and {} more: {}", rest.len(), rest.join(", ")));
    }
    assert!(
        broken.is_empty(),
        "{spec}: outputs without a readable query:\n{}",
        broken.join("\n")
    );
    assert!(
        rejections.is_empty(),
        "{spec}: {} queries do not parse:\n{}",
        rejections.len(),
        report.join("\n")
    );
}

macro_rules! syntax_tests {
    ($($name:ident => $target:literal),* $(,)?) => {
        $( #[test] fn $name() { check_target($target); } )*
    };
}

syntax_tests! {
    query_syntax_es_qs => "es-qs",
    query_syntax_xpack_watcher => "xpack-watcher",
    query_syntax_graylog => "graylog",
    query_syntax_lucene => "lucene",
    query_syntax_eql => "eql",
    query_syntax_kusto => "kusto",
    // Target entries with processing pipelines, as site pages show them.
    query_syntax_lucene_ecs_windows => "lucene+ecs_windows",
    query_syntax_eql_ecs_windows => "eql+ecs_windows",
    query_syntax_lucene_sysmon => "lucene+sysmon",
    query_syntax_es_qs_ecs_windows => "es-qs+ecs_windows",
    query_syntax_kusto_microsoft_xdr => "kusto+microsoft_xdr",
    query_syntax_kusto_sentinel_asim => "kusto+sentinel_asim",
    query_syntax_kusto_azure_monitor => "kusto+azure_monitor",
}

// ---------------------------------------------------------------------------------------------
// The validators are proven to work.
// ---------------------------------------------------------------------------------------------

/// Known-good and known-bad queries of each language, written by hand.
fn known_queries(language: Language) -> (&'static [&'static str], &'static [&'static str]) {
    match language {
        Language::Lucene => (
            &[
                r#"EventID:"3" AND Image.keyword:*\\rundll32.exe"#,
                r#"(a:b OR c.keyword:(*x* OR y?)) AND (NOT _exists_:d)"#,
                r#"Image.keyword:/.*\\cmd\.exe/"#,
                r#"CommandLine:say\ \"hi\"\ \&\ \<b\>"#,
            ],
            &[
                // The reference es-qs output for `keywords|all`: an empty field name.
                r#"(:"alpha" AND :"beta")"#,
                // An unclosed range.
                r#"Size:[1 TO"#,
                r#"a:(b OR c"#,
                r#"a:b AND"#,
            ],
        ),
        Language::Eql => (
            &[
                r#"any where EventID == 3 and Image : "*\\rundll32.exe""#,
                r#"any where cidrMatch(DestinationIp, "10.0.0.0/8")"#,
                r#"any where CommandLine like~ ("*a*", "*b*") and not ?User == null"#,
                r#"any where `c-useragent` : "curl""#,
                "sequence by User with maxspan=1h [any where EventID == 4625] with runs=10",
            ],
            &[
                // `:` compares strings only (the reference's `EventID:3`).
                "any where EventID:3",
                // An unquoted field name with `-`.
                r#"any where c-useragent:"curl""#,
                // A keyword search as a bare string is not a condition.
                r#"any where "mimikatz""#,
                r#"any where (a == "b""#,
            ],
        ),
        Language::Kql => (
            &[
                r#"EventID == 3 and Image endswith "\\rundll32.exe""#,
                r#"ipv4_is_in_range(DestinationIp, "10.0.0.0/8") or ['c-useragent'] =~ "curl""#,
                r#"(not(User in~ ("a", "b")))"#,
            ],
            &[
                // The reference's doubled quotes around a field name with `-`.
                r#"""c-useragent"" =~ "curl""#,
                r#"EventID == "#,
                r#"(a == "b""#,
            ],
        ),
    }
}

fn check_known_queries(language: Language) {
    let test = format!("the {language:?} validator on known queries");
    let Some(validator) = validator_or_skip(language, &test) else {
        return;
    };
    let (good, bad) = known_queries(language);
    let items: Vec<Item> = good
        .iter()
        .enumerate()
        .map(|(i, q)| (format!("good{i}"), q))
        .chain(bad.iter().enumerate().map(|(i, q)| (format!("bad{i}"), q)))
        .map(|(rule, q)| Item {
            rule,
            query: q.to_string(),
            full: false,
        })
        .collect();
    let rejected: BTreeSet<String> = validate(&validator, &items)
        .into_iter()
        .map(|r| r.rule)
        .collect();
    for (i, q) in good.iter().enumerate() {
        assert!(
            !rejected.contains(&format!("good{i}")),
            "{language:?} validator rejects a valid query: {q}"
        );
    }
    for (i, q) in bad.iter().enumerate() {
        assert!(
            rejected.contains(&format!("bad{i}")),
            "{language:?} validator accepts an invalid query: {q}"
        );
    }
}

#[test]
fn lucene_validator_knows_good_from_bad() {
    check_known_queries(Language::Lucene);
}

#[test]
fn eql_validator_knows_good_from_bad() {
    check_known_queries(Language::Eql);
}

#[test]
fn kql_validator_knows_good_from_bad() {
    check_known_queries(Language::Kql);
}

/// How many listed-unparseable and ordinary reference outputs each sanity check feeds.
const UNPARSEABLE_SAMPLE: usize = 8;
const ORDINARY_SAMPLE: usize = 40;

/// The queries of one reference output (a whole file's output, possibly several documents).
fn reference_queries(reference: &str, target: &str, output: &str) -> Vec<String> {
    if target == "xpack-watcher" {
        return queries(target, output, 1).unwrap_or_default();
    }
    let parts: Vec<&str> = if reference.starts_with("sigmac-") {
        // sigmac prints one line per document.
        output.lines().collect()
    } else {
        // sigma-cli separates the queries of one file by a blank line.
        output.split("\n\n").collect()
    };
    parts
        .into_iter()
        .map(str::trim_end)
        .filter(|q| !q.trim().is_empty())
        .map(String::from)
        .collect()
}

/// Feeds the validator a handful of the reference outputs listed as unparseable (all must be
/// rejected) and a sample of ordinary ones (all must be accepted).
fn check_reference(target: &str) {
    let (_, language, reference) = *TARGETS
        .iter()
        .find(|(t, ..)| *t == target)
        .expect("a checked target");
    let test = format!("the {language:?} validator on {reference}");
    let Some(shared) = common::shared_or_skip(&test) else {
        return;
    };
    let Some(validator) = validator_or_skip(language, &test) else {
        return;
    };
    let listed_text = std::fs::read_to_string(shared.join("oracle/reference-unparseable.json"))
        .expect("reference-unparseable.json reads");
    let listed: serde_json::Value = serde_json::from_str(&listed_text).expect("valid JSON");
    let listed: BTreeSet<String> = listed[reference]
        .as_array()
        .expect("the reference has a list")
        .iter()
        .filter_map(|s| s.as_str().map(String::from))
        .collect();
    let file = std::fs::File::open(shared.join(format!("oracle/{reference}.jsonl.gz")))
        .expect("reference opens");
    let mut outputs = Vec::new();
    for line in BufReader::new(flate2::read::GzDecoder::new(file)).lines() {
        let v: serde_json::Value =
            serde_json::from_str(&line.expect("reference reads")).expect("reference is JSON");
        if v["status"] == "ok" {
            let rule = v["rule"].as_str().unwrap_or_default().to_string();
            let output = v["output"].as_str().unwrap_or_default().to_string();
            outputs.push((rule, output));
        }
    }
    let unparseable: Vec<&(String, String)> = outputs
        .iter()
        .filter(|(r, _)| listed.contains(r))
        .take(UNPARSEABLE_SAMPLE)
        .collect();
    let all_ordinary: Vec<&(String, String)> = outputs
        .iter()
        .filter(|(r, _)| !listed.contains(r))
        .collect();
    // Spread over the whole corpus rather than its first folder.
    let ordinary: Vec<&(String, String)> = all_ordinary
        .iter()
        .copied()
        .step_by((all_ordinary.len() / ORDINARY_SAMPLE).max(1))
        .take(ORDINARY_SAMPLE)
        .collect();
    assert!(
        !unparseable.is_empty() && !ordinary.is_empty(),
        "{reference}: nothing to check"
    );
    let mut items = Vec::new();
    for (rule, output) in unparseable.iter().chain(&ordinary) {
        for query in reference_queries(reference, target, output) {
            items.push(Item {
                rule: rule.clone(),
                query,
                full: false,
            });
        }
    }
    let rejected: BTreeSet<String> = validate(&validator, &items)
        .into_iter()
        .map(|r| r.rule)
        .collect();
    let accepted_bad: Vec<&str> = unparseable
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| !rejected.contains(*r))
        .collect();
    let rejected_good: Vec<&str> = ordinary
        .iter()
        .map(|(r, _)| r.as_str())
        .filter(|r| rejected.contains(*r))
        .collect();
    eprintln!(
        "{reference}: {} listed-unparseable outputs rejected, {} ordinary outputs accepted",
        unparseable.len() - accepted_bad.len(),
        ordinary.len() - rejected_good.len()
    );
    assert!(
        accepted_bad.is_empty(),
        "{reference}: the validator accepts outputs listed as unparseable: {accepted_bad:?}"
    );
    assert!(
        rejected_good.is_empty(),
        "{reference}: the validator rejects ordinary outputs: {rejected_good:?}"
    );
}

macro_rules! reference_tests {
    ($($name:ident => $target:literal),* $(,)?) => {
        $( #[test] fn $name() { check_reference($target); } )*
    };
}

reference_tests! {
    validator_on_reference_es_qs => "es-qs",
    validator_on_reference_xpack_watcher => "xpack-watcher",
    validator_on_reference_graylog => "graylog",
    validator_on_reference_lucene => "lucene",
    validator_on_reference_eql => "eql",
    validator_on_reference_kusto => "kusto",
}
