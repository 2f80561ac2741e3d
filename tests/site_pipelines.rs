//! Rule pages built with processing pipelines: target entries `TARGET+PIPELINE…` from
//! `sigwiki.toml` and `--targets`, one target twice with other pipelines, a section title, a
//! team's own pipeline file beside the settings, a rule a pipeline refuses, and the errors of
//! bad entries (unknown target, unknown pipeline, broken pipeline file) naming the entry and the
//! settings line. Fixtures: `tests/site_fixtures/pipelines/`.

mod site_common;

use std::path::PathBuf;

use assert_cmd::Command;
use sigwiki::config::Config;
use sigwiki::site::{self, BuildOptions, Output, Templates, targets};
use site_common::{TestCatalog, fixtures};

fn fixture() -> PathBuf {
    fixtures().join("pipelines")
}

fn sigwiki() -> Command {
    let mut cmd = Command::cargo_bin("sigwiki").expect("binary");
    cmd.current_dir(fixture()).env("NO_COLOR", "1");
    cmd
}

/// The fixture site, built in memory from its `sigwiki.toml`.
fn built() -> std::collections::BTreeMap<String, Vec<u8>> {
    let config = Config::load(&fixture().join("sigwiki.toml")).expect("settings");
    let mut options = BuildOptions::new(config.inputs.clone());
    options.targets =
        targets::resolve(config.target_requests().as_deref(), &[]).expect("target entries");
    let templates = Templates::load(None).expect("templates");
    let report =
        site::build(&options, &templates, &TestCatalog::new(), Output::memory()).expect("build");
    assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    report.files
}

fn text(files: &std::collections::BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(files.get(path).unwrap_or_else(|| panic!("{path}")).clone()).expect("utf-8")
}

/// The `## Detection Rules` part of a Markdown page, after the Sigma rule's own block.
fn query_sections(page: &str) -> &str {
    let start = page.find("\n### Sigma rule\n").expect("Sigma rule section");
    let after_rule = page[start..]
        .find("\n```\n")
        .expect("end of the rule block")
        + start
        + 5;
    &page[after_rule..]
}

#[test]
fn every_query_block_names_its_pipelines() {
    let files = built();
    let page = text(&files, "rules/windows/certutil_url_download.md");
    insta::assert_snapshot!("pipelines_windows_rule_queries", query_sections(&page));
}

#[test]
fn a_rule_a_pipeline_refuses_says_why_in_that_block_only() {
    let files = built();
    let page = text(&files, "rules/linux/shadow_file_read.md");
    let sections = query_sections(&page);
    insta::assert_snapshot!("pipelines_refused_rule_queries", sections);
    assert_eq!(
        sections.matches("> Not available for").count(),
        1,
        "only the entry with the refusing pipeline: {sections}"
    );
    assert!(
        sections.contains(
            "> Not available for `splunk+sysmon+pipelines/our_splunk.yml`: pipeline Our Splunk indexes (no_linux_data): this Splunk holds no Linux data"
        ),
        "{sections}"
    );
}

#[test]
fn a_target_listed_twice_gets_two_tabs_with_their_own_ids() {
    let files = built();
    let html = text(&files, "rules/windows/certutil_url_download.html");
    let ids: Vec<&str> = html
        .match_indices("<section class=\"target\" id=\"")
        .map(|(at, m)| {
            let rest = &html[at + m.len()..];
            &rest[..rest.find('"').expect("end of id")]
        })
        .collect();
    assert_eq!(
        ids,
        [
            "target-sigma-rule",
            "target-splunk-spl",
            "target-splunk-spl-sysmon-splunk-windows",
            "target-our-splunk",
            "target-elastic-ecs",
        ]
    );
}

#[test]
fn pipelines_change_the_queries_and_the_plain_entry_keeps_the_rules_fields() {
    let files = built();
    let page = text(&files, "rules/windows/certutil_url_download.md");
    let block = |title: &str| {
        let start = page
            .find(&format!("### {title}\n"))
            .unwrap_or_else(|| panic!("{title}"));
        let end = page[start + 4..]
            .find("\n### ")
            .map_or(page.len(), |e| e + start + 4);
        page[start..end].to_string()
    };
    let plain = block("Splunk SPL");
    assert!(plain.contains("Image=\"*\\\\certutil.exe\""), "{plain}");
    assert!(!plain.contains("EventID"), "{plain}");
    assert!(!plain.contains("Processing pipeline"), "{plain}");
    let sysmon = block("Splunk SPL (sysmon + splunk_windows)");
    assert!(
        sysmon.contains("source=\"WinEventLog:Microsoft-Windows-Sysmon/Operational\""),
        "{sysmon}"
    );
    // `sysmon` adds the event ID, `splunk_windows` names it as the Windows add-on does.
    assert!(sysmon.contains(" EventCode=1 "), "{sysmon}");
    let ours = block("Our Splunk");
    assert!(ours.contains("index=\"wineventlog\""), "{ours}");
    let ecs = block("Elastic (ECS)");
    assert!(ecs.contains("process.executable"), "{ecs}");
}

#[test]
fn the_settings_file_builds_through_the_binary_and_preview_takes_the_same_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let output = sigwiki()
        .args(["build", "-q", "-o"])
        .arg(&out)
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    assert!(output.stderr.is_empty(), "no warnings: {output:?}");
    let built =
        std::fs::read_to_string(out.join("rules/windows/certutil_url_download.md")).expect("page");
    let files = self::built();
    assert_eq!(
        query_sections(&built),
        query_sections(&text(&files, "rules/windows/certutil_url_download.md")),
        "the binary resolves the settings as the library does"
    );
    let output = sigwiki()
        .args([
            "preview",
            "--targets",
            "lucene+ecs_windows,splunk+sysmon",
            "rules/windows/certutil_url_download.yml",
        ])
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let md = String::from_utf8_lossy(&output.stdout);
    assert!(
        md.contains(
            "### Elasticsearch Lucene (ecs_windows)\n\nProcessing pipeline: `ecs_windows`.\n\n```\n"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "### Splunk SPL (sysmon)\n\nProcessing pipeline: `sysmon`.\n\n```spl\nEventID=1 "
        ),
        "{md}"
    );
}

#[test]
fn a_pipeline_made_for_another_target_is_a_warning() {
    let output = sigwiki()
        .args([
            "preview",
            "--targets",
            "splunk+ecs_windows",
            "rules/windows/certutil_url_download.yml",
        ])
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "warning: target entry `splunk+ecs_windows`: pipeline ecs_windows is made for elasticsearch, eql, lucene, opensearch, not splunk"
        ),
        "{stderr}"
    );
}

/// Runs `args` in `dir` and returns the exit code and standard error.
fn failing(dir: &std::path::Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("run");
    assert!(output.stdout.is_empty(), "{output:?}");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_entries_are_usage_errors_naming_the_entry() {
    let never = "/nonexistent/never";
    let cases = [
        ("kusto+sysmon,nope+sysmon", "unknown-target"),
        ("lucene+ecs_windows+no_such_pipeline", "unknown-pipeline"),
        ("lucene+", "empty-pipeline"),
        ("+sysmon", "no-target"),
    ];
    let mut report = String::new();
    for (entries, _) in cases {
        let (code, stderr) = failing(
            &fixture(),
            &["build", "--targets", entries, "-o", never, "rules"],
        );
        assert_eq!(code, Some(2), "{entries}: {stderr}");
        report.push_str(&format!("--targets {entries}\n{stderr}\n"));
    }
    assert!(!std::path::Path::new(never).exists());
    insta::assert_snapshot!("pipelines_bad_entries", report);
}

#[test]
fn a_broken_pipeline_file_names_the_settings_line_and_the_file_line() {
    let bad = fixture().join("bad");
    let (code, stderr) = failing(&bad, &["build", "-o", "/nonexistent/never"]);
    assert_eq!(code, Some(2), "{stderr}");
    insta::assert_snapshot!("pipelines_broken_file", stderr);
    // The same entry from the command line names `--targets` instead of a line.
    let (code, stderr) = failing(
        &bad,
        &[
            "preview",
            "--targets",
            "lucene+broken_pipeline.yml",
            "../rules/linux/shadow_file_read.yml",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "sigwiki: error: --targets: target entry `lucene+broken_pipeline.yml`: broken_pipeline.yml:"
        ),
        "{stderr}"
    );
}

#[test]
fn each_pipeline_file_is_read_once_for_every_entry_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ours.yml");
    std::fs::copy(fixture().join("pipelines/our_splunk.yml"), &file).expect("copy");
    let spec = file.to_string_lossy().into_owned();
    let requests: Vec<targets::TargetRequest> = [
        format!("splunk+{spec}"),
        format!("splunk+sysmon+{spec}"),
        format!("lucene+{spec}"),
    ]
    .iter()
    .map(|e| targets::TargetRequest::command_line(e))
    .collect();
    let entries = targets::resolve(Some(&requests), &[]).expect("entries");
    let ours = |t: &site::QueryTarget| {
        t.chain
            .as_ref()
            .expect("chain")
            .pipelines()
            .iter()
            .find(|p| p.name == "Our Splunk indexes")
            .cloned()
            .expect("our pipeline")
    };
    let first = ours(&entries[0]);
    for entry in &entries[1..] {
        assert!(
            std::sync::Arc::ptr_eq(&first, &ours(entry)),
            "{entry:?} shares the one parsed pipeline"
        );
    }
}

#[test]
fn all_and_duplicates_keep_the_old_meaning() {
    let request = |s: &str| targets::TargetRequest::command_line(s);
    let all = targets::resolve(Some(&[request("all")]), &[]).expect("all");
    assert_eq!(all.len(), sigwiki::convert::backends().len());
    assert!(all.iter().all(|t| t.pipelines.is_empty()));
    let twice = targets::resolve(
        Some(&[
            request("splunk"),
            request("splunk+sysmon"),
            request("splunk"),
            request(" splunk + sysmon "),
        ]),
        &[],
    )
    .expect("entries");
    let specs: Vec<String> = twice.iter().map(site::QueryTarget::spec).collect();
    assert_eq!(specs, ["splunk", "splunk+sysmon"]);
    let defaults = targets::resolve(None, &["es-qs", "graylog"]).expect("defaults");
    let specs: Vec<String> = defaults.iter().map(site::QueryTarget::spec).collect();
    assert_eq!(specs, ["es-qs", "graylog"]);
}

#[test]
fn each_rule_exports_its_queries_per_target_entry() {
    let files = built();
    let export: serde_json::Value =
        serde_json::from_slice(&files["rules/linux/shadow_file_read.json"]).expect("json");
    assert_eq!(export["page"], "rules/linux/shadow_file_read");
    let queries = export["queries"].as_array().expect("queries");
    let entries: Vec<(String, String, bool)> = queries
        .iter()
        .map(|q| {
            let pipelines: Vec<&str> = q["pipelines"]
                .as_array()
                .expect("pipelines")
                .iter()
                .map(|p| p.as_str().expect("name"))
                .collect();
            (
                q["target"].as_str().expect("target").to_string(),
                pipelines.join("+"),
                q["query"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("splunk".to_string(), String::new(), true),
            (
                "splunk".to_string(),
                "sysmon+splunk_windows".to_string(),
                true
            ),
            (
                "splunk".to_string(),
                "sysmon+pipelines/our_splunk.yml".to_string(),
                false
            ),
            ("lucene".to_string(), "ecs_windows".to_string(), true),
        ]
    );
    assert_eq!(queries[2]["title"], "Our Splunk");
    assert!(
        queries[2]["error"]
            .as_str()
            .expect("error")
            .contains("this Splunk holds no Linux data")
    );
    let index: serde_json::Value = serde_json::from_slice(&files["rules.json"]).expect("json");
    let linux = index
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["page"] == "rules/linux/shadow_file_read")
        .expect("the linux rule");
    assert_eq!(linux["queries"], "rules/linux/shadow_file_read.json");
}
