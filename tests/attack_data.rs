//! ATT&CK tests that need the shared data (`$SIGWIKI_SHARED` or `<crate root>/../shared`):
//! importing the v19.1 bundle reproduces the committed dataset byte for byte; the v18.1 bundle
//! imports and, given to `--attack`, changes resolution; the corpus's revoked, deprecated and
//! unknown ATT&CK tags match the committed reports. Each test prints `skipped: …` and passes
//! when the shared data is absent.
//!
//! Set `SIGWIKI_BLESS=1` to rewrite the corpus reports after a deliberate change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sigwiki::attack::{
    self, Catalog, EMBEDDED_DATASET, ImportOptions, ObjectKind, Status, TagTarget, parse_tag,
    resolve_tags, rule_file_diagnostics,
};
use sigwiki::sigma::{Code, ParseOptions};

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `relative` inside the shared folder, or `None` (after saying so) when it is absent.
fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("SIGWIKI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join("../shared"));
    let path = root.join(relative);
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: {} not found", path.display());
        None
    }
}

const V19: &str = "data/attack/enterprise-attack-v19.1.json.gz";
const V18: &str = "data/attack/enterprise-attack-v18.1.json.gz";
const CORPUS: &str = "corpus/sigmahq";

fn first_difference(actual: &str, expected: &str) -> String {
    for (i, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        if a != e {
            return format!("line {}:\n  actual:   {a}\n  expected: {e}", i + 1);
        }
    }
    format!(
        "lengths differ: {} lines vs {} lines",
        actual.lines().count(),
        expected.lines().count()
    )
}

#[test]
fn importing_v19_1_reproduces_the_committed_dataset() {
    let Some(bundle) = shared(V19) else { return };
    let dataset = attack::import_file(&bundle, &ImportOptions::default()).expect("imports");
    let json = dataset.to_json();
    let committed =
        std::fs::read_to_string(crate_root().join("data/attack.json")).expect("committed");
    assert!(json == committed, "{}", first_difference(&json, &committed));
    assert!(
        json == EMBEDDED_DATASET,
        "the binary embeds data/attack.json"
    );
}

#[test]
fn v18_1_imports_and_changes_resolution() {
    let Some(bundle) = shared(V18) else { return };
    let v18 = Catalog::load(&bundle).expect("loads a bundle");
    assert_eq!(v18.version(), "18.1");
    assert!(
        v18.attribution()
            .starts_with("© 2025 The MITRE Corporation.")
    );
    let data = v18.dataset();
    // Release facts recorded in the shared data's SOURCE.md.
    assert_eq!(data.tactics.len(), 14);
    assert_eq!(
        data.techniques
            .iter()
            .filter(|t| t.parent.is_none())
            .count(),
        356
    );
    assert_eq!(
        data.techniques
            .iter()
            .filter(|t| t.parent.is_some())
            .count(),
        479
    );
    assert_eq!(data.groups.len(), 187);
    assert_eq!(data.software.len(), 787);

    let rule_tags: Vec<String> = [
        "attack.t1562.001",
        "attack.defense_evasion",
        "attack.stealth",
    ]
    .map(String::from)
    .to_vec();

    let old = resolve_tags(&v18, &rule_tags);
    assert_eq!(old.techniques[0].status, Status::Active);
    assert_eq!(
        old.techniques[0]
            .technique
            .as_ref()
            .map(|t| t.full_name.as_str()),
        Some("Impair Defenses: Disable or Modify Tools")
    );
    assert_eq!(old.tactics.len(), 1);
    assert_eq!(
        old.tactics[0].display_name, "Defense Evasion",
        "native, no alias"
    );
    let problems: Vec<(usize, Code)> = old.problems.iter().map(|p| (p.index, p.code)).collect();
    assert_eq!(
        problems,
        vec![(2, Code::UnknownAttackTag)],
        "no Stealth in v18.1"
    );

    let new = resolve_tags(Catalog::embedded(), &rule_tags);
    assert_eq!(new.techniques[0].status, Status::Revoked);
    assert_eq!(
        new.techniques[0]
            .replacement
            .as_ref()
            .map(|r| r.id.as_str()),
        Some("T1685")
    );
    assert_eq!(
        new.tactics[0].display_name,
        "Stealth (formerly Defense Evasion)"
    );
    let problems: Vec<(usize, Code)> = new.problems.iter().map(|p| (p.index, p.code)).collect();
    assert_eq!(problems, vec![(0, Code::RevokedAttackTag)]);
}

const TEST_RULE: &str = "title: Disables a tool
id: 5d0b8f63-0d2b-4a44-9a7e-0f6a2b7c1e11
status: test
description: Test rule for ATT&CK release switching
author: sigwiki tests
date: 2026-01-01
tags:
    - attack.t1562.001
    - attack.stealth
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\sc.exe'
    condition: selection
level: low
";

#[test]
fn attack_option_switches_the_release_for_check() {
    let Some(bundle) = shared(V18) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rule = dir.path().join("rule.yml");
    std::fs::write(&rule, TEST_RULE).expect("writes");
    let check = |attack: Option<&Path>| {
        let mut command = Command::cargo_bin("sigwiki").expect("binary");
        command.args(["check", "--color", "never"]);
        if let Some(attack) = attack {
            command.arg("--attack").arg(attack);
        }
        let output = command.arg(&rule).output().expect("runs");
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    let embedded = check(None);
    assert!(
        embedded.contains(":8:7: warning[revoked-attack-tag]: `attack.t1562.001` names technique T1562.001 Impair Defenses: Disable or Modify Tools, revoked in ATT&CK v19.1; replaced by T1685 Disable or Modify Tools (tag `attack.t1685`)"),
        "{embedded}"
    );
    assert!(!embedded.contains("attack.stealth"), "{embedded}");

    let from_bundle = check(Some(&bundle));
    assert!(
        from_bundle.contains(
            ":9:7: warning[unknown-attack-tag]: `attack.stealth` names no tactic of ATT&CK v18.1"
        ),
        "{from_bundle}"
    );
    assert!(!from_bundle.contains("attack.t1562.001"), "{from_bundle}");

    // The same through a dataset written by `attack import`.
    let dataset = dir.path().join("attack-v18.1.json");
    let import = Command::cargo_bin("sigwiki")
        .expect("binary")
        .args(["-q", "attack", "import"])
        .arg(&bundle)
        .arg("-o")
        .arg(&dataset)
        .output()
        .expect("runs");
    assert!(import.status.success(), "{import:?}");
    assert_eq!(check(Some(&dataset)), from_bundle);
}

#[test]
fn import_needs_a_version_when_the_file_name_has_none() {
    let Some(bundle) = shared(V18) else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let renamed = dir.path().join("bundle.json.gz");
    std::fs::copy(&bundle, &renamed).expect("copies");
    let output = dir.path().join("out.json");
    let run = |extra: &[&str]| {
        Command::cargo_bin("sigwiki")
            .expect("binary")
            .args(["-q", "attack", "import"])
            .arg(&renamed)
            .arg("-o")
            .arg(&output)
            .args(extra)
            .output()
            .expect("runs")
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("bundle.json.gz"), "{stderr}");
    assert!(stderr.contains("--attack-version"), "{stderr}");
    assert!(!output.exists(), "nothing written on failure");

    let accepted = run(&["--attack-version", "18.1"]);
    assert!(accepted.status.success(), "{accepted:?}");
    let written = std::fs::read_to_string(&output).expect("written");
    let direct = attack::import_file(&bundle, &ImportOptions::default()).expect("imports");
    assert_eq!(written, direct.to_json());
}

/// Every `attack.*` tag of the corpus, resolved against `catalog`: a report line for each
/// revoked, deprecated or unknown tag, and a check that every other one resolved.
fn corpus_report(
    catalog: &Catalog,
    corpus: &Path,
) -> (Vec<String>, BTreeMap<(Code, String), usize>, usize) {
    let loaded = sigwiki::load::load(&[corpus.to_path_buf()], &ParseOptions::default())
        .expect("walks the corpus");
    let mut lines = Vec::new();
    let mut by_tag: BTreeMap<(Code, String), usize> = BTreeMap::new();
    let mut attack_tags = 0;
    for file in &loaded.rules.files {
        let relative = file.path.strip_prefix(corpus).unwrap_or(&file.path);
        for diagnostic in rule_file_diagnostics(catalog, file) {
            lines.push(format!(
                "{}:{}:{}: {}: {}",
                relative.display(),
                diagnostic.line,
                diagnostic.column,
                diagnostic.code,
                diagnostic.message
            ));
        }
        for document in &file.documents {
            let tags = &document.kind.meta().tags;
            let resolved = resolve_tags(catalog, tags);
            for (index, tag) in tags.iter().enumerate() {
                let target = parse_tag(tag);
                if matches!(target, TagTarget::Other { .. }) {
                    continue;
                }
                attack_tags += 1;
                let problems: Vec<_> = resolved
                    .problems
                    .iter()
                    .filter(|p| p.index == index)
                    .collect();
                let active = match &target {
                    TagTarget::TacticName(_) | TagTarget::TacticId(_) => resolved
                        .tactics
                        .iter()
                        .any(|t| t.tags.iter().any(|r| r.index == index)),
                    TagTarget::Object(ObjectKind::Technique, id) => resolved
                        .techniques
                        .iter()
                        .any(|t| &t.id == id && t.status == Status::Active),
                    TagTarget::Object(_, id) => resolved
                        .objects()
                        .any(|o| &o.id == id && o.status == Status::Active),
                    TagTarget::UnrecognizedAttack(_) | TagTarget::Other { .. } => false,
                };
                assert!(
                    active != (problems.len() == 1) && problems.len() <= 1,
                    "{}: tag `{tag}` neither resolves nor is reported exactly once",
                    file.path.display()
                );
                if let Some(problem) = problems.first() {
                    *by_tag
                        .entry((problem.code, tag.trim().to_lowercase()))
                        .or_default() += 1;
                }
            }
        }
    }
    lines.sort();
    (lines, by_tag, attack_tags)
}

fn compare_with_fixture(actual: &str, name: &str) {
    let path = crate_root().join("tests/fixtures/attack").join(name);
    if std::env::var_os("SIGWIKI_BLESS").is_some() {
        std::fs::write(&path, actual).expect("writes the fixture");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} differs (SIGWIKI_BLESS=1 rewrites it): {}",
        path.display(),
        first_difference(actual, &expected)
    );
}

fn summary(by_tag: &BTreeMap<(Code, String), usize>, attack_tags: usize) -> String {
    let count = |code: Code| -> usize {
        by_tag
            .iter()
            .filter(|((c, _), _)| *c == code)
            .map(|(_, n)| n)
            .sum()
    };
    format!(
        "# {attack_tags} attack.* tags: {} revoked, {} deprecated, {} unknown; every other one resolves\n",
        count(Code::RevokedAttackTag),
        count(Code::DeprecatedAttackTag),
        count(Code::UnknownAttackTag)
    )
}

#[test]
fn corpus_report_against_the_embedded_release() {
    let Some(corpus) = shared(CORPUS) else { return };
    let catalog = Catalog::embedded();
    let (lines, by_tag, attack_tags) = corpus_report(catalog, &corpus);
    let mut report = format!(
        "# Revoked, deprecated and unknown ATT&CK tags of the SigmaHQ corpus against the embedded ATT&CK v{}\n",
        catalog.version()
    );
    report.push_str(&summary(&by_tag, attack_tags));
    for line in lines {
        report.push_str(&line);
        report.push('\n');
    }
    compare_with_fixture(&report, "corpus-report-v19.1.txt");
}

#[test]
fn corpus_report_against_v18_1() {
    let (Some(corpus), Some(bundle)) = (shared(CORPUS), shared(V18)) else {
        return;
    };
    let catalog = Catalog::load(&bundle).expect("loads");
    let (lines, by_tag, attack_tags) = corpus_report(&catalog, &corpus);
    assert_eq!(lines.len(), by_tag.values().sum::<usize>());
    let mut report = format!(
        "# ATT&CK tags of the SigmaHQ corpus that v{} does not resolve, per tag (`check --attack enterprise-attack-v18.1.json.gz`)\n",
        catalog.version()
    );
    report.push_str(&summary(&by_tag, attack_tags));
    for ((code, tag), count) in &by_tag {
        report.push_str(&format!("{code} {tag} {count}\n"));
    }
    compare_with_fixture(&report, "corpus-summary-v18.1.txt");
}
