//! ATT&CK resolution against the embedded dataset (ATT&CK v19.1): the reference rule, the
//! release's known facts (revoked chains, renamed tactics, IDs shared across object types), the
//! coverage matrix, and the `check` command's warnings. Needs nothing outside the repository.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sigwiki::attack::{Catalog, ObjectKind, Status, resolve_tags, rule_file_diagnostics};
use sigwiki::sigma::{Code, ParseOptions, RuleFile, parse_file};

const REFERENCE_RULE: &str = "rules/sysmon_rundll32_net_connections.yml";

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn reference_rule() -> RuleFile {
    let path = crate_root().join(REFERENCE_RULE);
    parse_file(
        &path,
        Path::new("sysmon_rundll32_net_connections.yml"),
        &ParseOptions::default(),
    )
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

#[test]
fn reference_rule_resolves_to_stealth_execution_and_the_replaced_rundll32() {
    let file = reference_rule();
    let document = file.documents.first().expect("the rule parses");
    let meta = document.kind.meta();
    assert_eq!(
        meta.tags,
        tags(&["attack.t1085", "attack.defense_evasion", "attack.execution"])
    );
    let resolved = resolve_tags(Catalog::embedded(), &meta.tags);

    let tactics: Vec<(&str, &str, bool)> = resolved
        .tactics
        .iter()
        .map(|t| (t.id.as_str(), t.display_name.as_str(), t.implied))
        .collect();
    assert_eq!(
        tactics,
        vec![
            ("TA0005", "Stealth (formerly Defense Evasion)", false),
            ("TA0002", "Execution", false)
        ]
    );
    let stealth = &resolved.tactics[0];
    assert_eq!(stealth.name, "Stealth");
    assert_eq!(stealth.former_name.as_deref(), Some("Defense Evasion"));
    assert_eq!(stealth.url, "https://attack.mitre.org/tactics/TA0005/");
    assert_eq!(stealth.tags[0].text, "attack.defense_evasion");
    assert_eq!(stealth.tags[0].index, 1);

    assert_eq!(resolved.techniques.len(), 1);
    let technique = &resolved.techniques[0];
    assert_eq!(technique.id, "T1085");
    assert_eq!(technique.status, Status::Revoked);
    let tagged = technique
        .technique
        .as_ref()
        .expect("T1085 is in the catalog");
    assert_eq!(tagged.name, "Rundll32");
    assert_eq!(tagged.url, "https://attack.mitre.org/techniques/T1085/");
    let replacement = technique
        .replacement
        .as_ref()
        .expect("T1085 has a replacement");
    assert_eq!(replacement.id, "T1218.011");
    assert_eq!(replacement.name, "Rundll32");
    assert_eq!(
        replacement.parent_name.as_deref(),
        Some("System Binary Proxy Execution")
    );
    assert_eq!(
        replacement.full_name,
        "System Binary Proxy Execution: Rundll32"
    );
    assert_eq!(
        replacement.url,
        "https://attack.mitre.org/techniques/T1218/011/"
    );
    assert_eq!(replacement.tactics, vec!["TA0005"]);
    assert_eq!(
        technique.text(),
        "T1085 Rundll32 — revoked, now T1218.011 System Binary Proxy Execution: Rundll32"
    );
    assert_eq!(resolved.problems.len(), 1);
    assert_eq!(resolved.problems[0].index, 0);
    assert_eq!(resolved.problems[0].code, Code::RevokedAttackTag);
    assert!(resolved.other.is_empty());
}

#[test]
fn reference_rule_warning_is_at_the_tag_line() {
    let file = reference_rule();
    let diagnostics = rule_file_diagnostics(Catalog::embedded(), &file);
    assert_eq!(diagnostics.len(), 1);
    let warning = &diagnostics[0];
    assert_eq!((warning.line, warning.column), (9, 7));
    assert_eq!(warning.code, Code::RevokedAttackTag);
    assert_eq!(
        warning.message,
        "`attack.t1085` names technique T1085 Rundll32, revoked in ATT&CK v19.1; replaced by T1218.011 System Binary Proxy Execution: Rundll32 (tag `attack.t1218.011`)"
    );
}

#[test]
fn check_prints_the_revoked_tag_with_its_replacement() {
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .current_dir(crate_root())
        .args(["check", "--color", "never", REFERENCE_RULE])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "rules/sysmon_rundll32_net_connections.yml:9:7: warning[revoked-attack-tag]: `attack.t1085` names technique T1085 Rundll32, revoked in ATT&CK v19.1; replaced by T1218.011"
        ),
        "{stdout}"
    );
}

#[test]
fn embedded_release_is_enterprise_19_1_with_attribution() {
    let catalog = Catalog::embedded();
    assert_eq!(catalog.version(), "19.1");
    assert_eq!(catalog.domain(), "enterprise-attack");
    assert_eq!(
        catalog.attribution(),
        "© 2026 The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation."
    );
}

#[test]
fn ids_are_keyed_by_object_type() {
    let catalog = Catalog::embedded();
    assert_eq!(
        catalog.technique("T1085").map(|t| t.name.as_str()),
        Some("Rundll32")
    );
    let mitigation = catalog
        .object(ObjectKind::Mitigation, "T1085")
        .expect("old mitigation");
    assert_eq!(mitigation.name, "Rundll32 Mitigation");
    assert!(mitigation.deprecated);
    assert!(catalog.object(ObjectKind::Group, "T1085").is_none());
}

#[test]
fn revoked_chains_end_at_their_final_replacement() {
    let catalog = Catalog::embedded();
    for (old, new) in [
        ("T1150", "T1647"),
        ("T1162", "T1647"),
        ("T1073", "T1574.001"),
        ("T1086", "T1059.001"),
        ("T1562.001", "T1685"),
        ("T1562", "T1685"),
        ("T1070.001", "T1685.005"),
    ] {
        let technique = catalog.technique(old).expect(old);
        assert!(technique.revoked, "{old}");
        assert_eq!(technique.replaced_by.as_deref(), Some(new), "{old}");
        let replacement = catalog.technique(new).expect(new);
        assert!(!replacement.revoked && !replacement.deprecated, "{new}");
    }
    let ngrok = catalog
        .object(ObjectKind::Software, "S9000")
        .expect("S9000");
    assert_eq!(
        ngrok.replaced_by,
        Some("S0508"),
        "malware replaced by a tool"
    );
}

#[test]
fn former_and_current_tactic_names() {
    let catalog = Catalog::embedded();
    for tag in [
        "attack.defense_evasion",
        "attack.defense-evasion",
        "ATTACK.Defense_Evasion ",
    ] {
        let resolved = resolve_tags(catalog, &tags(&[tag]));
        assert_eq!(resolved.tactics.len(), 1, "{tag}");
        assert_eq!(resolved.tactics[0].id, "TA0005", "{tag}");
        assert_eq!(
            resolved.tactics[0].display_name,
            "Stealth (formerly Defense Evasion)"
        );
        assert!(resolved.problems.is_empty(), "{tag}");
    }
    let resolved = resolve_tags(
        catalog,
        &tags(&[
            "attack.stealth",
            "attack.defense-impairment",
            "attack.defense_evasion",
        ]),
    );
    let tactics: Vec<(&str, &str)> = resolved
        .tactics
        .iter()
        .map(|t| (t.id.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(
        tactics,
        vec![("TA0005", "Stealth"), ("TA0112", "Defense Impairment")]
    );
    assert_eq!(resolved.tactics[0].tags.len(), 2);
    assert!(resolved.problems.is_empty());
}

#[test]
fn technique_without_tactic_implies_its_tactics() {
    let resolved = resolve_tags(Catalog::embedded(), &tags(&["attack.t1085"]));
    assert_eq!(resolved.tactics.len(), 1);
    let tactic = &resolved.tactics[0];
    assert_eq!(tactic.id, "TA0005");
    assert!(tactic.implied);
    assert!(tactic.tags.is_empty());
    assert_eq!(tactic.implied_by, vec!["T1218.011"]);
}

#[test]
fn revoked_impair_defenses_points_to_v19_replacements() {
    let resolved = resolve_tags(
        Catalog::embedded(),
        &tags(&["attack.t1562.001", "attack.t1685"]),
    );
    let first = &resolved.techniques[0];
    assert_eq!(first.status, Status::Revoked);
    assert_eq!(
        first.replacement.as_ref().map(|r| r.full_name.as_str()),
        Some("Disable or Modify Tools")
    );
    assert_eq!(resolved.techniques[1].status, Status::Active);
    assert_eq!(resolved.covered_techniques().len(), 1, "both are T1685");
}

#[test]
fn matrix_has_every_active_technique_per_tactic() {
    let catalog = Catalog::embedded();
    let matrix = catalog.matrix();
    // Per-tactic counts of active techniques and sub-techniques in v19.1 (release facts
    // recorded in the shared data's SOURCE.md).
    let expected = [
        ("reconnaissance", 46),
        ("resource-development", 50),
        ("initial-access", 22),
        ("execution", 64),
        ("persistence", 113),
        ("privilege-escalation", 96),
        ("stealth", 148),
        ("defense-impairment", 56),
        ("credential-access", 67),
        ("discovery", 49),
        ("lateral-movement", 23),
        ("collection", 41),
        ("command-and-control", 45),
        ("exfiltration", 19),
        ("impact", 33),
    ];
    let columns: Vec<(&str, usize)> = matrix
        .iter()
        .map(|column| {
            let shortname = column.tactic.shortname.as_str();
            let count = column
                .techniques
                .iter()
                .map(|cell| {
                    usize::from(cell.technique.tactics.iter().any(|t| t == shortname))
                        + cell.subtechniques.len()
                })
                .sum();
            (shortname, count)
        })
        .collect();
    assert_eq!(columns, expected);
    for column in &matrix {
        for cell in &column.techniques {
            assert!(!cell.technique.revoked && !cell.technique.deprecated);
            assert!(cell.technique.parent.is_none());
            for sub in &cell.subtechniques {
                assert_eq!(sub.parent.as_deref(), Some(cell.technique.id.as_str()));
            }
        }
        let names: Vec<String> = column
            .techniques
            .iter()
            .map(|c| c.technique.name.to_lowercase())
            .collect();
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "sorted by name");
    }
    let stealth = &matrix[6];
    let proxy = stealth
        .techniques
        .iter()
        .find(|c| c.technique.id == "T1218")
        .expect("T1218 under Stealth");
    assert!(proxy.subtechniques.iter().any(|s| s.id == "T1218.011"));
}

#[test]
fn check_reports_every_kind_of_attack_tag_problem() {
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .current_dir(crate_root())
        .args([
            "check",
            "--color",
            "never",
            "tests/fixtures/attack/rules/legacy_attack_tags.yml",
        ])
        .output()
        .expect("runs");
    assert!(output.status.success(), "warnings only");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let fixture = crate_root().join("tests/fixtures/attack/check-legacy-attack-tags.txt");
    if std::env::var_os("SIGWIKI_BLESS").is_some() {
        std::fs::write(&fixture, stdout.as_bytes()).expect("writes the fixture");
        return;
    }
    let expected = std::fs::read_to_string(&fixture).unwrap_or_default();
    assert_eq!(
        stdout,
        expected,
        "SIGWIKI_BLESS=1 rewrites {}",
        fixture.display()
    );
}
