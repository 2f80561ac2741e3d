//! Golden tests of Sigma constructs against the reference converters: filters (by id, by name,
//! `rules: any`, several on one rule, a log source that does not match), correlations
//! (`generate` false, true and mixed, temporal, value count) and modifiers (empty value lists,
//! regex flags, `fields`, a byte order mark, a scalar search identifier…). Each folder of
//! `tests/constructs/cases/` is converted as one rule set with every target and compared with
//! what sigma-cli and sigmac printed for it (`tests/constructs/expected/`, see its README);
//! `deviations.tsv` lists the rules where ours differs on purpose, with the reason.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/constructs")
}

/// sigwiki's target and the reference folder of its converter.
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

/// `(target, "case/rule.yml")` of every listed deviation.
fn deviations() -> BTreeSet<(String, String)> {
    std::fs::read_to_string(root().join("deviations.tsv"))
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

/// Converts one case folder: file name → (status, output or error).
fn convert(case: &Path, target: &str) -> BTreeMap<String, (String, String)> {
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .args(["convert", "-t", target, "--format", "jsonl"])
        .arg(case)
        .output()
        .expect("runs");
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let rule = Path::new(v["rule"].as_str().expect("rule"))
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            let status = v["status"].as_str().unwrap_or_default().to_string();
            let text = v["output"]
                .as_str()
                .or_else(|| v["error"].as_str())
                .unwrap_or_default()
                .to_string();
            (rule, (status, text))
        })
        .collect()
}

#[test]
fn constructs_match_the_references_except_the_listed_deviations() {
    let deviations = deviations();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(root().join("cases"))
        .expect("cases")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    assert!(cases.len() >= 14, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut still_listed = deviations.clone();
    let mut summary = Vec::new();
    for (target, reference) in TARGETS {
        let (mut compared, mut identical) = (0, 0);
        for case in &cases {
            let name = case.file_name().expect("name").to_string_lossy();
            let ours = convert(case, target);
            let expected_dir = root().join("expected").join(reference).join(&*name);
            let Ok(entries) = std::fs::read_dir(&expected_dir) else {
                continue;
            };
            let mut expected: Vec<PathBuf> = entries
                .map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                .collect();
            expected.sort();
            for path in expected {
                let rule = format!("{}.yml", path.file_stem().expect("stem").to_string_lossy());
                let key = (target.to_string(), format!("{name}/{rule}"));
                let want = std::fs::read_to_string(&path).expect("reference");
                let want = want.trim_end();
                let (status, got) = ours.get(&rule).cloned().unwrap_or_default();
                if want.is_empty() {
                    // The reference printed nothing (a rule only a `generate: false`
                    // correlation uses): neither do we.
                    if status != "empty" {
                        failures.push(format!(
                            "{target} {name}/{rule}: expected no output, got {status}: {got}"
                        ));
                    }
                    continue;
                }
                compared += 1;
                let same = status == "ok" && got.trim_end() == want;
                if same {
                    identical += 1;
                    if deviations.contains(&key) {
                        failures.push(format!(
                            "{target} {name}/{rule}: listed as a deviation but identical"
                        ));
                    }
                } else if !deviations.contains(&key) {
                    failures.push(format!(
                        "{target} {name}/{rule}:\n  expected: {want}\n  got ({status}): {}",
                        got.trim_end()
                    ));
                }
                still_listed.remove(&key);
            }
        }
        summary.push(format!("{target} {identical}/{compared}"));
    }
    eprintln!("identical to the reference: {}", summary.join(", "));
    for (target, rule) in still_listed {
        failures.push(format!(
            "{target} {rule}: listed deviation has no reference"
        ));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn filter_files_print_nothing_and_every_target_converts_the_tuned_rule() {
    // The filter file itself has no query (sigma-cli prints nothing for it either).
    let case = root().join("cases/filter_several");
    for (target, _) in TARGETS {
        let ours = convert(&case, target);
        for filter in ["mf_a_admins.yml", "mf_b_tools.yml"] {
            assert_eq!(
                ours[filter].0, "empty",
                "{target} {filter}: {:?}",
                ours[filter]
            );
        }
    }
    // Both filters nest around the rule's condition, in file order, as sigma-cli prints it.
    let lucene = convert(&case, "lucene");
    assert_eq!(
        lucene["rule.yml"].1.trim_end(),
        "(((Image:(*\\\\net.exe OR *\\\\net1.exe)) AND CommandLine:*\\ user\\ *) AND (NOT User:adm_*)) AND (NOT (ParentImage:(*\\\\CcmExec.exe OR *\\\\TaniumClient.exe)))"
    );
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_rule() {
    let case = root().join("cases/modifiers/bom.yml");
    assert!(
        std::fs::read(&case)
            .expect("case")
            .starts_with(b"\xef\xbb\xbf"),
        "the case starts with a BOM"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .args(["build", "-q", "-o"])
        .arg(dir.path().join("site"))
        .arg(&case)
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    for page in [
        "rules/bom.md",
        "rules/bom.html",
        "rules.json",
        "analytics.csv",
    ] {
        let text = std::fs::read_to_string(dir.path().join("site").join(page)).expect("page");
        assert!(!text.contains('\u{feff}'), "{page} has a BOM");
        assert!(text.contains("Rule with a byte order mark"), "{page}");
    }
    let md = std::fs::read_to_string(dir.path().join("site/rules/bom.md")).expect("page");
    assert!(
        md.contains("| Title | Rule with a byte order mark |"),
        "{md}"
    );
}

#[test]
fn pages_show_the_tuned_queries_and_name_the_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .args(["build", "-q", "--targets", "es-qs,lucene", "-o"])
        .arg(&site)
        .arg(root().join("cases/filter_by_id"))
        .output()
        .expect("runs");
    assert!(output.status.success(), "{output:?}");
    let rule = std::fs::read_to_string(site.join("rules/rule.md")).expect("rule page");
    assert!(
        rule.contains(
            "> The queries are tuned by [Filter administrator accounts](../rules/mf_admin.md)"
        ),
        "{rule}"
    );
    // Every target shows the tuned query on the page, the legacy ones included.
    assert!(
        rule.contains("(Image.keyword:*\\\\rar.exe AND CommandLine.keyword:*\\ a\\ *) AND (NOT (User.keyword:adm_*))"),
        "{rule}"
    );
    assert!(
        rule.contains("(Image:*\\\\rar.exe AND CommandLine:*\\ a\\ *) AND (NOT User:adm_*)"),
        "{rule}"
    );
    let filter = std::fs::read_to_string(site.join("rules/mf_admin.md")).expect("filter page");
    assert!(
        filter.contains("### [Rar compression](../rules/rule.md), tuned by this filter"),
        "{filter}"
    );
    assert!(filter.contains("AND (NOT User:adm_*)"), "{filter}");
}

#[test]
fn no_target_drops_a_regex_flag() {
    // Each target either writes every flag of `|re|i|m|s` in its own way or refuses the rule
    // with a message naming the flag it cannot express; none converts a flagged rule as if it
    // had no flags.
    let case = root().join("cases/modifiers");
    let flagged = [
        ("re_i.yml", "i"),
        ("re_s.yml", "s"),
        ("re_m.yml", "m"),
        ("re_is.yml", "is"),
        ("re_im.yml", "im"),
        ("re_ims.yml", "ims"),
    ];
    for (target, _) in TARGETS {
        let ours = convert(&case, target);
        for (rule, flags) in flagged {
            let (status, text) = &ours[rule];
            let legacy = matches!(target, "es-qs" | "xpack-watcher" | "graylog");
            if flags.contains('m') && (legacy || target == "eql") {
                // Lucene regular expressions (Elasticsearch's, EQL's) always span the whole
                // value: there are no lines for `m` to anchor to.
                assert_eq!(status, "err", "{target} {rule}: {text}");
                assert!(
                    text.contains("|re|m") || text.contains("`|m`"),
                    "{target} {rule}: {text}"
                );
            } else if legacy {
                // No inline flags in a Lucene query string's regex: `i` folds the letters'
                // case (`[fF][oO]…`); `s` is what Lucene's `.` already does.
                assert_eq!(status, "ok", "{target} {rule}: {text}");
                if flags.contains('i') {
                    assert!(text.contains("[fF][oO][oO]"), "{target} {rule}: {text}");
                } else {
                    assert!(text.contains("/foo.*bar/"), "{target} {rule}: {text}");
                }
            } else {
                assert_eq!(status, "ok", "{target} {rule}: {text}");
                assert!(
                    text.contains(&format!("(?{flags})")),
                    "{target} {rule}: {text}"
                );
            }
        }
    }
}

#[test]
fn the_sigmac_targets_apply_filters_too() {
    // sigmac never knew filters, but `sigwiki convert` tunes a rule on every target, as its
    // pages do: the filter's condition is AND-ed in negated.
    let case = root().join("cases/filter_by_id");
    let es_qs = convert(&case, "es-qs");
    assert_eq!(
        es_qs["rule.yml"].1.trim_end(),
        r"((Image.keyword:*\\rar.exe AND CommandLine.keyword:*\ a\ *) AND (NOT (User.keyword:adm_*)))"
    );
    for target in ["graylog", "xpack-watcher"] {
        let ours = convert(&case, target);
        assert!(
            ours["rule.yml"].1.contains("(NOT (User"),
            "{target}: {:?}",
            ours["rule.yml"]
        );
    }
}
