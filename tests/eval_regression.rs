//! `sigwiki test` end to end: the fixture repository (always), damaged events files (always),
//! and with the shared folder every SigmaHQ regression case, run at the root of a SigmaHQ-layout
//! tree assembled from it, plus the negative check that no events file is matched by rules of
//! other log sources.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use sigwiki::eval::logsource::SourceMatch;
use sigwiki::eval::reader::events_files;
use sigwiki::eval::{Engine, LogSourceTable, Scratch, read_events};
use sigwiki::sigma::{LogSource, ParseOptions, SigmaKind};

fn fixture_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval_fixtures/repo")
}

fn jsonl(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

fn keys(object: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = object
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

#[test]
fn fixture_repository_passes_with_the_root_found_by_walking_up() {
    let repo = fixture_repo();
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .args(["test", "--format", "jsonl"])
        .arg(repo.join("rules"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = jsonl(&output.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        keys(&lines[0]),
        [
            "events", "expected", "id", "matched", "message", "rule", "status", "test"
        ]
    );
    assert_eq!(lines[0]["status"], "pass");
    assert_eq!(lines[0]["matched"], 1);
    assert_eq!(lines[0]["expected"], 1);
}

#[test]
fn a_test_expecting_more_matches_fails_and_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo();
    let copy = dir.path().join("repo");
    std::fs::create_dir_all(copy.join("rules")).unwrap();
    std::fs::create_dir_all(copy.join("regression_data/scanner")).unwrap();
    std::fs::copy(
        repo.join("rules/windows/proc_creation_scanner_list_mode.yml"),
        copy.join("rules/scanner.yml"),
    )
    .unwrap();
    std::fs::copy(
        repo.join("regression_data/scanner/events.evtx"),
        copy.join("regression_data/scanner/events.evtx"),
    )
    .unwrap();
    let info = std::fs::read_to_string(repo.join("regression_data/scanner/info.yml"))
        .unwrap()
        .replace("match_count: 1", "match_count: 2");
    std::fs::write(copy.join("regression_data/scanner/info.yml"), info).unwrap();
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .args(["test", "--color", "never"])
        .arg(copy.join("rules"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("FAIL"), "{text}");
    assert!(
        text.contains("matched 1 of 1 events, expected at least 2"),
        "{text}"
    );
    // The rule is matched by its event, so no item is reported as failing, but the event is shown.
    assert!(text.contains("GRB_NET.exe"), "{text}");
    // Missing data: reported, and a failure only under --strict.
    std::fs::remove_dir_all(copy.join("regression_data")).unwrap();
    let run = |strict: bool| {
        let mut command = Command::cargo_bin("sigwiki").unwrap();
        command
            .args(["test", "--format", "jsonl"])
            .arg(copy.join("rules"));
        if strict {
            command.arg("--strict");
        }
        command.output().unwrap()
    };
    let lenient = run(false);
    assert_eq!(lenient.status.code(), Some(0));
    assert_eq!(jsonl(&lenient.stdout)[0]["status"], "missing");
    assert_eq!(run(true).status.code(), Some(1));
}

#[test]
fn damaged_events_files_are_reported_by_name_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo();
    let evtx = std::fs::read(repo.join("regression_data/scanner/events.evtx")).unwrap();
    let json = std::fs::read_to_string(repo.join("regression_data/scanner/events.json")).unwrap();
    let events = dir.path().join("events");
    std::fs::create_dir(&events).unwrap();
    std::fs::write(events.join("a_truncated.evtx"), &evtx[..evtx.len() / 3]).unwrap();
    let mut garbage = b"ElfFile\0".to_vec();
    garbage.extend((0..5000u32).map(|i| (i * 7919 % 251) as u8));
    std::fs::write(events.join("b_garbage.evtx"), garbage).unwrap();
    std::fs::write(
        events.join("c_damaged.json"),
        format!("{json}\n{{\"Event\": nope}}\n{json}\n{{\"Event\": {{"),
    )
    .unwrap();
    std::fs::write(events.join("d_good.json"), &json).unwrap();
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .arg("test")
        .arg(repo.join("rules"))
        .args(["--format", "jsonl", "--events"])
        .arg(&events)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines = jsonl(&output.stdout);
    let files: BTreeMap<String, &Value> = lines
        .iter()
        .filter(|l| l.get("status").is_some())
        .map(|l| {
            let name = Path::new(l["events"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            (name, l)
        })
        .collect();
    assert_eq!(files.len(), 4, "{lines:?}");
    for l in files.values() {
        assert_eq!(keys(l), ["count", "events", "message", "status"]);
    }
    assert_eq!(files["b_garbage.evtx"]["status"], "error");
    assert!(
        !files["b_garbage.evtx"]["message"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let damaged = &files["c_damaged.json"];
    assert_eq!(damaged["status"], "read");
    assert_eq!(damaged["count"], 2);
    let message = damaged["message"].as_str().unwrap();
    assert!(message.contains("c_damaged.json: line "), "{message}");
    assert!(message.contains("truncated"), "{message}");
    assert_eq!(files["d_good.json"]["count"], 1);
    // The good file's event matches the fixture rule: one object with exactly these keys.
    let matches: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("matched").is_some())
        .collect();
    assert!(
        matches
            .iter()
            .all(|m| keys(m) == ["events", "id", "matched", "rule"])
    );
    assert!(
        matches
            .iter()
            .any(|m| m["events"].as_str().unwrap().ends_with("d_good.json") && m["matched"] == 1)
    );
    // An unreadable file makes the run fail.
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn damaged_evtx_fixtures_are_reported_by_name_and_position() {
    let repo = fixture_repo();
    let damaged = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/eval_fixtures/damaged");
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .arg("test")
        .arg(repo.join("rules"))
        .args(["--format", "jsonl", "--events"])
        .arg(&damaged)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "unreadable files fail the run"
    );
    let lines = jsonl(&output.stdout);
    let message = |name: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l["events"].as_str().is_some_and(|e| e.ends_with(name)))
            .unwrap_or_else(|| panic!("{name} is reported: {lines:?}"));
        assert_eq!(line["status"], "error", "{line}");
        assert_eq!(line["count"], 0, "{line}");
        line["message"].as_str().unwrap().to_string()
    };
    let header = message("truncated_header.evtx");
    assert!(
        header.contains("truncated_header.evtx: truncated: 1500 bytes"),
        "{header}"
    );
    let chunk = message("truncated_chunk.evtx");
    assert!(
        chunk.contains(
            "truncated_chunk.evtx: chunk 1: truncated: the file ends 700 bytes into chunk 1"
        ),
        "{chunk}"
    );
    let record = message("record_size.evtx");
    assert!(
        record.contains("record_size.evtx: record 1: damaged record skipped"),
        "{record}"
    );
}

/// A SigmaHQ-layout tree in a temporary folder: the corpus rule folders and the regression data
/// beside them, as links.
fn sigmahq_tree(shared: &Path) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(shared.join("corpus/sigmahq")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_dir() && name.starts_with("rules") {
            link(&entry.path(), &dir.path().join(&name));
            folders.push(name);
        }
    }
    folders.sort();
    link(
        &shared.join("regression/regression_data"),
        &dir.path().join("regression_data"),
    );
    (dir, folders)
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[cfg(not(unix))]
fn link(target: &Path, at: &Path) {
    std::os::windows::fs::symlink_dir(target, at).unwrap();
}

#[test]
fn every_shared_regression_case_passes() {
    let Some(shared) = common::shared_or_skip("every_shared_regression_case_passes") else {
        return;
    };
    let (tree, folders) = sigmahq_tree(&shared);
    let cases: BTreeSet<PathBuf> = common::files_under(&shared.join("regression/regression_data"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "info.yml"))
        .map(|p| {
            p.parent()
                .unwrap()
                .strip_prefix(shared.join("regression"))
                .unwrap()
                .to_path_buf()
        })
        .collect();
    assert!(cases.len() >= 163, "{} cases", cases.len());
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .current_dir(tree.path())
        .arg("test")
        .args(&folders)
        .args(["--format", "jsonl"])
        .output()
        .unwrap();
    let lines = jsonl(&output.stdout);
    let mut passed = BTreeSet::new();
    for line in &lines {
        let status = line["status"].as_str().unwrap();
        assert!(
            status == "pass" || status == "missing",
            "a shared case did not pass: {line}"
        );
        if status == "pass" {
            assert!(line["matched"].as_u64() >= line["expected"].as_u64().or(Some(1)));
            let events = Path::new(line["events"].as_str().unwrap());
            let case = events
                .parent()
                .unwrap()
                .strip_prefix(tree.path())
                .unwrap()
                .to_path_buf();
            passed.insert(case);
        }
    }
    let not_passed: Vec<&PathBuf> = cases.difference(&passed).collect();
    assert!(
        not_passed.is_empty(),
        "cases without a passing test: {not_passed:?}"
    );
    assert!(output.status.success());
}

/// The (channel, event ID) pairs a log source covers, per the table; `None` when it covers
/// Windows events without such a bound.
fn coverage(table: &LogSourceTable, logsource: &LogSource) -> Option<BTreeSet<(String, i64)>> {
    match table.resolve(logsource) {
        SourceMatch::Windows(alternatives) => {
            let mut out = BTreeSet::new();
            for a in alternatives {
                if a.channels.is_empty() || a.event_ids.is_empty() {
                    return None;
                }
                for c in &a.channels {
                    for id in &a.event_ids {
                        out.insert((c.clone(), *id));
                    }
                }
            }
            Some(out)
        }
        SourceMatch::Any => None,
        SourceMatch::None(_) => Some(BTreeSet::new()),
    }
}

#[test]
fn shared_events_are_not_matched_by_rules_of_other_log_sources() {
    let Some(shared) =
        common::shared_or_skip("shared_events_are_not_matched_by_rules_of_other_log_sources")
    else {
        return;
    };
    let corpus = shared.join("corpus/sigmahq");
    let inputs: Vec<PathBuf> = ["rules", "rules-emerging-threats", "rules-threat-hunting"]
        .iter()
        .map(|f| corpus.join(f))
        .collect();
    let loaded = sigwiki::load::load(&inputs, &ParseOptions::default()).unwrap();
    let table = LogSourceTable::embedded();
    let engine = Engine::compile(&loaded.rules, &table);
    let logsource_of = |file: &Path| -> Option<LogSource> {
        loaded
            .rules
            .files
            .iter()
            .find(|f| f.path == file)
            .and_then(|f| f.documents.first())
            .and_then(|d| match &d.kind {
                SigmaKind::Rule(r) => Some(r.logsource.clone()),
                _ => None,
            })
    };
    let data = shared.join("regression/regression_data");
    let mut checked = 0;
    for events in events_files(std::slice::from_ref(&data)) {
        let case = events.parent().unwrap();
        let owner = corpus
            .join(case.strip_prefix(&data).unwrap())
            .with_extension("yml");
        let Some(owner_source) = logsource_of(&owner) else {
            continue;
        };
        let owner_coverage = coverage(&table, &owner_source);
        let mut scratch = Scratch::default();
        let mut matched = BTreeSet::new();
        let summary = read_events(&events, &mut |event| {
            matched.extend(engine.matches(&event, &mut scratch).iter().copied());
        });
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);
        for rule in matched {
            let info = &engine.rules()[rule as usize].info;
            let source = logsource_of(&info.file).unwrap();
            let same = source.category == owner_source.category
                && source.product == owner_source.product
                && source.service == owner_source.service;
            // Log sources that cover the same events (registry_event holds registry_delete's
            // event ID 12) are not "other" log sources.
            let overlapping = match (coverage(&table, &source), &owner_coverage) {
                (Some(a), Some(b)) => !a.is_disjoint(b),
                _ => true,
            };
            assert!(
                same || overlapping,
                "{} is matched by {} of another log source ({})",
                events.display(),
                info.file.display(),
                source.summary()
            );
        }
        checked += 1;
    }
    assert!(checked >= 2 * 163, "{checked} events files checked");
}

#[test]
fn build_shows_the_verdicts_and_the_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .arg("build")
        .arg(fixture_repo().join("rules"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page =
        std::fs::read_to_string(out.join("rules/windows/proc_creation_scanner_list_mode.md"))
            .unwrap();
    assert!(
        page.contains("| **Regression test** | **pass**: matched 1 event, 1 expected · [regression_data/scanner/events.evtx](../../regression/rules/windows/proc_creation_scanner_list_mode/events.evtx) |"),
        "{page}"
    );
    assert!(
        page.contains("| `CommandLine` | `GRB_NET.exe  -m:scan -i:f -d:list.txt` |"),
        "{page}"
    );
    assert!(
        out.join("regression/rules/windows/proc_creation_scanner_list_mode/events.evtx")
            .is_file()
    );
    let rules: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("rules.json")).unwrap()).unwrap();
    assert_eq!(rules[0]["regression"][0]["status"], "pass");
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        home.contains(r#"<span id="count-passing">1</span> passing"#),
        "{home}"
    );
    let table = std::fs::read_to_string(out.join("rules.html")).unwrap();
    assert!(table.contains(r#"data-regression="pass""#));
}

#[test]
fn preview_with_events_shows_what_matched_and_what_did_not() {
    let repo = fixture_repo();
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.jsonl");
    std::fs::write(
        &other,
        "{\"Channel\": \"Microsoft-Windows-Sysmon/Operational\", \"EventID\": 1, \"Image\": \"C:\\\\Users\\\\x\\\\Downloads\\\\a.exe\", \"CommandLine\": \"a.exe -m:scan\"}\n",
    )
    .unwrap();
    let output = Command::cargo_bin("sigwiki")
        .unwrap()
        .arg("preview")
        .arg(repo.join("rules/windows/proc_creation_scanner_list_mode.yml"))
        .arg("--events")
        .arg(repo.join("regression_data/scanner/events.json"))
        .arg("--events")
        .arg(&other)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = String::from_utf8_lossy(&output.stdout);
    assert!(page.contains("1 of 1 event match this rule."), "{page}");
    assert!(page.contains("0 of 1 event match this rule."), "{page}");
    assert!(
        page.contains("does not match: `selection_options: CommandLine"),
        "{page}"
    );
}
