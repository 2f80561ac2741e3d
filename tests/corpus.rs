//! The parser over real rule sets, and the `sigwiki check` command line.
//!
//! - The SigmaHQ corpus (`<shared>/corpus/sigmahq`, 3,780 rules) must parse without a single
//!   error; every warning it draws must be listed below with the reason the specification gives.
//! - The repository's own `rules/` must be clean apart from the reference rule's own warnings,
//!   and cover what the foundation issue asks of them.
//! - `sigwiki check` exits 0/1/2, prints JSON of the documented shape, and honours `--strict`.
//!
//! Tests needing the shared folder find it through `$SIGWIKI_SHARED` or `<crate root>/../shared`
//! and print `skipped: …` when it is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use sigwiki::sigma::{Diagnostic, ParseOptions, SigmaKind};

/// Warnings the corpus is allowed to draw: (path relative to the corpus, code, why the
/// specification makes it a warning). Empty today; a parser change that adds warnings must
/// justify each one here.
const JUSTIFIED_CORPUS_WARNINGS: &[(&str, &str, &str)] = &[];

/// The warnings of the reference rule, which is kept byte for byte as ATC published it.
const SEED_WARNINGS: &[&str] = &[
    "rules/sysmon_rundll32_net_connections.yml:1:1: warning[missing-recommended-field]: recommended field missing: id",
    "rules/sysmon_rundll32_net_connections.yml:7:7: warning[deprecated]: `date: 2017/11/04` uses the Sigma 1.x form; write 2017-11-04",
    "rules/sysmon_rundll32_net_connections.yml:10:7: warning[deprecated]: tag `attack.defense_evasion` is the Sigma 1.x form; Sigma 2 writes `attack.defense-evasion`",
];

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> Option<PathBuf> {
    let candidate = std::env::var_os("SIGWIKI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join("../shared"));
    candidate.is_dir().then_some(candidate)
}

fn corpus() -> Option<PathBuf> {
    let corpus = shared()?.join("corpus/sigmahq");
    corpus.is_dir().then_some(corpus)
}

fn diagnostics_of(loaded: &sigwiki::load::Loaded) -> Vec<Diagnostic> {
    let mut all = loaded.skipped.clone();
    for file in &loaded.rules.files {
        all.extend(file.diagnostics.iter().cloned());
    }
    all
}

fn sigwiki() -> Command {
    let mut command = Command::cargo_bin("sigwiki").expect("the sigwiki binary is built");
    command.current_dir(crate_root()).env_remove("NO_COLOR");
    command
}

#[test]
fn the_sigmahq_corpus_parses_without_errors() {
    let Some(corpus) = corpus() else {
        println!("skipped: the SigmaHQ corpus (<shared>/corpus/sigmahq) is absent");
        return;
    };
    let loaded = sigwiki::load::load(std::slice::from_ref(&corpus), &ParseOptions::default())
        .expect("the corpus is readable");
    assert_eq!(
        loaded.rules.files.len(),
        3780,
        "the corpus snapshot holds 3,780 rule files"
    );
    let diagnostics = diagnostics_of(&loaded);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(ToString::to_string)
        .collect();
    assert!(
        errors.is_empty(),
        "{} errors in the corpus:\n{}",
        errors.len(),
        errors.join("\n")
    );
    let documents: usize = loaded.rules.files.iter().map(|f| f.documents.len()).sum();
    assert!(documents >= 3780, "every file yields a usable document");

    let warnings: BTreeSet<(String, String)> = diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| {
            let relative = d.file.strip_prefix(&corpus).unwrap_or(&d.file);
            (relative.display().to_string(), d.code.to_string())
        })
        .collect();
    let justified: BTreeSet<(String, String)> = JUSTIFIED_CORPUS_WARNINGS
        .iter()
        .map(|(file, code, _)| (file.to_string(), code.to_string()))
        .collect();
    let unjustified: Vec<_> = warnings.difference(&justified).collect();
    assert!(
        unjustified.is_empty(),
        "corpus warnings without a justification in JUSTIFIED_CORPUS_WARNINGS: {unjustified:?}"
    );
    let stale: Vec<_> = justified.difference(&warnings).collect();
    assert!(
        stale.is_empty(),
        "justified warnings that no longer occur: {stale:?}"
    );

    // Zero errors must not come from dropping content: every detection rule of the corpus has
    // identifiers and a condition over them.
    for (_, file, document) in loaded.rules.documents() {
        if let SigmaKind::Rule(rule) = &document.kind {
            assert!(
                !rule.detection.identifiers.is_empty() && !rule.detection.conditions.is_empty(),
                "{}: detection lost",
                file.path.display()
            );
            for condition in &rule.detection.conditions {
                for name in condition.expr.identifiers() {
                    assert!(
                        rule.detection.identifier(name).is_some(),
                        "{}: condition names `{name}` but it was not parsed",
                        file.path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn the_example_rules_are_clean_and_cover_the_issue() {
    let loaded = sigwiki::load::load(&[crate_root().join("rules")], &ParseOptions::default())
        .expect("rules/ is readable");
    let root = format!("{}/", crate_root().display());
    let printed: Vec<String> = diagnostics_of(&loaded)
        .iter()
        .map(|d| d.to_string().replace(&root, ""))
        .collect();
    assert_eq!(
        printed, SEED_WARNINGS,
        "rules/ must have no other diagnostics"
    );

    let seed = crate_root().join("rules/sysmon_rundll32_net_connections.yml");
    let reference = shared().map(|s| s.join("seed/sysmon_rundll32_net_connections.yml"));
    match reference {
        Some(reference) if reference.is_file() => assert_eq!(
            std::fs::read(&seed).expect("seed"),
            std::fs::read(&reference).expect("reference seed"),
            "the reference rule is kept byte for byte"
        ),
        _ => println!("skipped: byte comparison with the shared seed (absent)"),
    }

    let mut rules = 0;
    let mut correlations = 0;
    let mut filters = 0;
    let mut tactics = BTreeSet::new();
    let mut sub_techniques = 0;
    let mut products = BTreeSet::new();
    for (_, file, document) in loaded.rules.documents() {
        if file.path == seed {
            continue;
        }
        let meta = document.kind.meta();
        match &document.kind {
            SigmaKind::Rule(rule) => {
                rules += 1;
                products.extend(
                    [&rule.logsource.product, &rule.logsource.category]
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
            }
            SigmaKind::Correlation(_) => correlations += 1,
            SigmaKind::Filter(_) => filters += 1,
        }
        for tag in &meta.tags {
            let Some(name) = tag.strip_prefix("attack.") else {
                continue;
            };
            if name.starts_with('t') && name[1..].starts_with(|c: char| c.is_ascii_digit()) {
                sub_techniques += usize::from(name.contains('.'));
            } else {
                tactics.insert(name.to_string());
            }
        }
        // The helper rules of a correlation file carry no metadata of their own.
        assert!(
            meta.author
                .as_deref()
                .is_none_or(|a| a == "sigwiki contributors"),
            "{}: author",
            file.path.display()
        );
        assert!(
            meta.date.as_ref().is_none_or(|d| d.year == 2026),
            "{}: dated 2026",
            file.path.display()
        );
    }
    assert!(rules >= 15, "{rules} rules written for the repository");
    assert!(correlations >= 1 && filters >= 1);
    assert!(tactics.len() >= 8, "tactics covered: {tactics:?}");
    assert!(sub_techniques >= 3);
    for wanted in [
        "windows", "linux", "aws", "azure", "gcp", "okta", "dns", "firewall", "proxy", "zeek",
    ] {
        assert!(products.contains(wanted), "no rule for {wanted}");
    }
}

#[test]
fn check_exits_zero_on_clean_rules_and_prints_a_summary() {
    let output = sigwiki()
        .args(["check", "rules"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("UTF-8");
    let summary = text.lines().last().expect("summary line");
    assert!(
        summary.starts_with("checked ") && summary.ends_with("0 with errors; 0 errors, 4 warnings"),
        "{summary}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn check_rejects_duplicate_keys_with_exit_one() {
    sigwiki()
        .args([
            "check",
            "tests/fixtures/invalid/yaml_duplicate_nested_key.yml",
            "tests/fixtures/invalid/yaml_duplicate_top_level_key.yml",
        ])
        .assert()
        .code(1)
        .stdout(predicates::str::contains(
            "tests/fixtures/invalid/yaml_duplicate_nested_key.yml:14:9: error[duplicate-key]: duplicate key `Image|endswith` (first defined on line 12)\n",
        ))
        .stdout(predicates::str::contains(
            "tests/fixtures/invalid/yaml_duplicate_top_level_key.yml:15:1: error[duplicate-key]: duplicate key `level` (first defined on line 14)\n",
        ))
        .stdout(predicates::str::contains(
            "checked 2 files: 2 with errors; 2 errors, 0 warnings",
        ));
}

#[test]
fn check_walks_folders_in_path_order_and_keeps_going_after_bad_files() {
    let output = sigwiki()
        .args(["check", "tests/fixtures/invalid"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(output).expect("UTF-8");
    let files: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(".yml:").map(|(f, _)| f))
        .collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted, "diagnostics follow the sorted path order");
    let distinct: BTreeSet<&str> = files.iter().copied().collect();
    let fixtures = std::fs::read_dir(crate_root().join("tests/fixtures/invalid"))
        .expect("fixtures")
        .count();
    assert_eq!(distinct.len(), fixtures, "every bad file is reported");
}

#[test]
fn check_exits_two_on_usage_and_io_errors() {
    sigwiki()
        .args(["check", "--format", "xml"])
        .assert()
        .code(2);
    sigwiki().args(["frobnicate"]).assert().code(2);
    sigwiki()
        .args(["check", "tests/fixtures/no-such-folder"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no-such-folder"));
}

#[test]
fn check_json_is_one_array_of_diagnostics() {
    let output = sigwiki()
        .args([
            "check",
            "--format",
            "json",
            "tests/fixtures/invalid/condition_undefined_identifier.yml",
            "tests/fixtures/warnings/id_not_uuid.yml",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&output).expect("stdout is JSON");
    let items = value.as_array().expect("a JSON array");
    assert_eq!(items.len(), 2);
    for item in items {
        let object = item.as_object().expect("objects");
        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from(["file", "line", "column", "severity", "code", "message"])
        );
        assert!(object["file"].is_string() && object["message"].is_string());
        assert!(object["line"].is_u64() && object["column"].is_u64());
    }
    assert_eq!(items[0]["severity"], "error");
    assert_eq!(items[0]["code"], "undefined-identifier");
    assert_eq!(items[0]["line"], 15);
    assert_eq!(items[0]["column"], 34);
    assert_eq!(items[1]["severity"], "warning");
    assert_eq!(items[1]["code"], "id-not-uuid");

    // No diagnostics: an empty array, exit 0.
    let output = sigwiki()
        .args([
            "check",
            "--format",
            "json",
            "rules/cloud/okta/okta_mfa_push_fatigue.yml",
        ])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let value: serde_json::Value = serde_json::from_slice(&output).expect("stdout is JSON");
    assert_eq!(value, serde_json::json!([]));
}

#[test]
fn strict_turns_warnings_into_errors() {
    let fixture = "tests/fixtures/warnings/tag_non_standard_namespace.yml";
    sigwiki()
        .args(["check", fixture])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("warning[non-standard-tag]"));
    sigwiki()
        .args(["check", "--strict", fixture])
        .assert()
        .code(1)
        .stdout(predicates::str::contains("error[non-standard-tag]"))
        .stdout(predicates::str::contains("2 errors, 0 warnings"));
}

#[test]
fn colour_follows_the_option_and_no_color() {
    let fixture = "tests/fixtures/warnings/id_not_uuid.yml";
    sigwiki()
        .args(["check", "--color", "always", fixture])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("\x1b[1;33mwarning"));
    sigwiki()
        .args(["check", "--color", "never", fixture])
        .assert()
        .stdout(predicates::str::contains('\x1b').not());
    sigwiki()
        .env("NO_COLOR", "1")
        .args(["check", fixture])
        .assert()
        .stdout(predicates::str::contains('\x1b').not());
}

#[test]
fn check_passes_the_corpus_through_the_command_line() {
    let Some(corpus) = corpus() else {
        println!("skipped: the SigmaHQ corpus (<shared>/corpus/sigmahq) is absent");
        return;
    };
    sigwiki()
        .arg("check")
        .arg(Path::new(&corpus))
        .assert()
        .code(0)
        // The one warning is ATT&CK's, not the parser's: `attack.ds0005` (posh_ps_create_volume_
        // shadow_copy.yml) names data source DS0005, and ATT&CK deprecated every data source in v18.
        .stdout(predicates::str::contains(
            "warning[deprecated-attack-tag]: `attack.ds0005` names data source DS0005 WMI, deprecated",
        ))
        .stdout(predicates::str::ends_with(
            "checked 3780 files: 0 with errors; 0 errors, 1 warning\n",
        ));
}
