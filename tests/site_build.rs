//! Whole-site builds: every page and export is there, links and anchors resolve (with and
//! without a base URL), output is deterministic, failed builds leave the previous site, rule
//! text cannot inject markup, templates can be overridden, and the exports are well-formed.

mod site_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sigwiki::site::{self, BuildOptions, BuildReport, Enricher, Output, TagsOnly, Templates};
use site_common::{TestCatalog, broken_links, crate_root, fixtures, shared};

fn options(inputs: Vec<PathBuf>, base_url: &str, site_url: Option<&str>) -> BuildOptions {
    let mut options = BuildOptions::new(inputs);
    options.base_url = site::normalize_base_url(base_url);
    options.site_url = site_url.and_then(site::normalize_site_url);
    options
}

fn build(
    options: &BuildOptions,
    out: &Path,
    templates: Option<&Path>,
    enricher: &dyn Enricher,
) -> BuildReport {
    let templates = Templates::load(templates).expect("templates");
    site::build(
        options,
        &templates,
        enricher,
        Output::disk(out).expect("output"),
    )
    .expect("build")
}

fn inputs() -> Vec<PathBuf> {
    vec![
        crate_root().join("rules/sysmon_rundll32_net_connections.yml"),
        fixtures().join("rules"),
    ]
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

#[test]
fn fixture_site_has_every_page_index_and_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let report = build(
        &options(inputs(), "/", Some("https://example.org/wiki")),
        &out,
        None,
        &TestCatalog::new(),
    );
    assert_eq!(report.rule_pages, 5, "{:?}", report.diagnostics);
    assert_eq!(report.failed, 1);
    for page in [
        "rules/sysmon_rundll32_net_connections",
        "rules/windows/failed_logon",
        "rules/windows/failed_logon_burst",
        "rules/windows/filter_admins",
        "rules/windows/renamed_rule",
        "tactics/index",
        "tactics/TA0005",
        "techniques/index",
        "techniques/T1218.011",
        "techniques/T1110.001",
        "logsources/index",
        "logsources/windows-any-sysmon",
        "levels/index",
        "levels/medium",
        "status/index",
        "status/experimental",
        "tags/index",
        "tags/cve.2021-44228",
        "authors/index",
        "data-needed/index",
        "data-needed/sysmon-3",
    ] {
        assert!(out.join(format!("{page}.md")).is_file(), "{page}.md");
        assert!(out.join(format!("{page}.html")).is_file(), "{page}.html");
    }
    for file in [
        "index.html",
        "rules.html",
        "coverage.html",
        "errors.html",
        "404.html",
        ".nojekyll",
        "navigator-layer.json",
        "analytics.csv",
        "rules.json",
        "sitemap.xml",
        "assets/style.css",
        "assets/site.js",
        "id/11111111-2222-4333-8444-555555555555.html",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(!out.join("rules/windows/broken.html").exists());
    let errors = read(&out.join("errors.html"));
    assert!(errors.contains("broken.yml:7:30"), "{errors}");
    assert!(errors.contains("undefined-identifier"), "{errors}");
    // The bad file is reported like `check` does.
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.is_error() && d.file.ends_with("broken.yml") && d.line == 7)
    );
}

#[test]
fn rule_page_follows_the_reference_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        None,
        &TestCatalog::new(),
    );
    let md = read(&out.join("rules/sysmon_rundll32_net_connections.md"));
    let order = [
        "| Title | Rundll32 Internet Connection |",
        "| **Description** |",
        "| **ATT&CK Tactic** | <ul><li>[TA0005: Stealth](https://attack.mitre.org/tactics/TA0005/) (tagged `attack.defense_evasion`, the former name)",
        "| **ATT&CK Technique** | <ul><li>[T1085: Rundll32](https://attack.mitre.org/techniques/T1085/) — revoked, now [T1218.011: System Binary Proxy Execution: Rundll32](https://attack.mitre.org/techniques/T1218/011/)",
        "| **Data Needed** | <ul><li>[Sysmon event 3: Network connection detected](../data-needed/sysmon-3.md) (Microsoft-Windows-Sysmon/Operational)",
        "| **Trigger** | <ul><li>[T1218.011: Atomic Red Team tests](https://github.com/redcanaryco/atomic-red-team/blob/master/atomics/T1218.011/T1218.011.md) (2 tests)",
        "| **Severity Level** |",
        "| **False Positives** | <ul><li>Communication to other corporate systems",
        "| **Development Status** |",
        "| **References** |",
        "| **Author** |",
        "## Detection Rules",
        "### Sigma rule",
        "```yaml\ntitle: Rundll32 Internet Connection\n",
    ];
    let mut at = 0;
    for needle in order {
        let found = md[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("missing or out of order: {needle}\n{md}"));
        at += found + needle.len();
    }
    // The rule text is verbatim, including the trailing space after `DestinationIp:`.
    assert!(md.contains("        DestinationIp: \n"), "{md}");
    let html = read(&out.join("rules/sysmon_rundll32_net_connections.html"));
    assert!(
        html.contains("<section class=\"target\" id=\"target-sigma-rule\""),
        "{html}"
    );
    assert!(
        html.contains("href=\"../data-needed/sysmon-3.html\""),
        "{html}"
    );
}

#[test]
fn correlation_and_filter_pages_link_their_rules_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        None,
        &TestCatalog::new(),
    );
    let correlation = read(&out.join("rules/windows/failed_logon_burst.md"));
    assert!(correlation.contains("## Correlation"), "{correlation}");
    assert!(
        correlation.contains("[Failed Logon](../../rules/windows/failed_logon.md)"),
        "{correlation}"
    );
    assert!(
        correlation.contains("| **Condition** | &gt;= 10 |"),
        "{correlation}"
    );
    let filter = read(&out.join("rules/windows/filter_admins.md"));
    assert!(
        filter.contains("[Failed Logon](../../rules/windows/failed_logon.md)"),
        "{filter}"
    );
    let base = read(&out.join("rules/windows/failed_logon.md"));
    assert!(base.contains("used by correlation [Many Failed Logons From One Source](../../rules/windows/failed_logon_burst.md)"), "{base}");
    assert!(
        base.contains(
            "filtered by [Filter Administrator Accounts](../../rules/windows/filter_admins.md)"
        ),
        "{base}"
    );
    // `related` links both ways; the renamed id redirects.
    assert!(
        base.contains("similar to [Suspicious Rundll32 Without Arguments]"),
        "{base}"
    );
    let renamed = read(&out.join("rules/windows/renamed_rule.md"));
    assert!(
        renamed.contains("similar to [Failed Logon](../../rules/windows/failed_logon.md)"),
        "{renamed}"
    );
    let stub = read(&out.join("id/11111111-2222-4333-8444-555555555555.html"));
    assert!(
        stub.contains("url=../rules/windows/renamed_rule.html"),
        "{stub}"
    );
}

#[test]
fn internal_links_and_anchors_resolve_with_and_without_base_url() {
    for base in ["/", "/sigwiki/"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("site");
        build(
            &options(inputs(), base, Some("https://example.org/sigwiki/")),
            &out,
            None,
            &TestCatalog::new(),
        );
        let broken = broken_links(&out, base);
        assert!(broken.is_empty(), "base {base}: {broken:#?}");
        let not_found = read(&out.join("404.html"));
        assert!(
            not_found.contains(&format!("href=\"{base}rules.html\"")),
            "{not_found}"
        );
    }
}

#[test]
fn corpus_site_has_no_broken_links() {
    let Some(shared) = shared() else {
        eprintln!("skipped: no shared folder with the corpus");
        return;
    };
    let corpus = shared.join("corpus/sigmahq");
    for base in ["/", "/sigwiki/"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("site");
        let report = build(
            &options(vec![corpus.clone()], base, None),
            &out,
            None,
            &TagsOnly,
        );
        assert_eq!(
            report.failed,
            0,
            "{:?}",
            report
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .take(5)
                .collect::<Vec<_>>()
        );
        assert!(report.rule_pages >= 3780, "{}", report.rule_pages);
        let broken = broken_links(&out, base);
        assert!(
            broken.is_empty(),
            "base {base}: {} broken, first: {:#?}",
            broken.len(),
            &broken[..broken.len().min(10)]
        );
    }
}

#[test]
fn builds_are_byte_identical() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = dir.path().join("a");
    let second = dir.path().join("b");
    let opts = options(inputs(), "/x/", Some("https://example.org/x/"));
    build(&opts, &first, None, &TestCatalog::new());
    build(&opts, &second, None, &TestCatalog::new());
    let a = all_files(&first);
    let b = all_files(&second);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        assert!(b[name] == *bytes, "{name} differs between builds");
    }
}

#[test]
fn a_failing_build_leaves_the_previous_site_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        None,
        &TestCatalog::new(),
    );
    let before = all_files(&out);
    let overrides = dir.path().join("templates");
    std::fs::create_dir_all(&overrides).expect("mkdir");
    std::fs::write(overrides.join("list.md"), "{{ no_such_variable.field }}\n").expect("write");
    let templates = Templates::load(Some(&overrides)).expect("compiles");
    let result = site::build(
        &options(inputs(), "/", None),
        &templates,
        &TestCatalog::new(),
        Output::disk(&out).expect("output"),
    );
    assert!(result.is_err());
    assert_eq!(all_files(&out), before);
    assert!(!dir.path().join(".site.building").exists());
}

#[test]
fn rule_text_cannot_inject_markup_or_script() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        None,
        &TestCatalog::new(),
    );
    for page in site_common::html_files(&out) {
        let html = read(&page);
        assert!(!html.contains("<script>alert"), "{}", page.display());
        assert!(
            !html.to_ascii_lowercase().contains("href=\"javascript"),
            "{}",
            page.display()
        );
        assert!(!html.contains("<b>not</b>"), "{}", page.display());
    }
    let html = read(&out.join("rules/windows/renamed_rule.html"));
    assert!(html.contains("&lt;b&gt;not&lt;/b&gt;"), "{html}");
    assert!(
        html.contains("javascript:alert(document.domain)"),
        "shown as text: {html}"
    );
    assert!(
        html.contains("href=\"https://example.org/research?a=1&amp;b=%282%29\""),
        "{html}"
    );
}

#[test]
fn templates_are_replaced_by_file_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let overrides = dir.path().join("templates");
    std::fs::create_dir_all(overrides.join("assets")).expect("mkdir");
    std::fs::write(
        overrides.join("rule.md"),
        "# {{ rule.title }}\n\nCustom page for {{ rule.level }}.\n",
    )
    .expect("write");
    std::fs::write(overrides.join("assets/style.css"), "body { color: red; }\n").expect("write");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        Some(&overrides),
        &TestCatalog::new(),
    );
    let md = read(&out.join("rules/sysmon_rundll32_net_connections.md"));
    assert_eq!(
        md,
        "# Rundll32 Internet Connection\n\nCustom page for medium.\n"
    );
    assert_eq!(
        read(&out.join("assets/style.css")),
        "body { color: red; }\n"
    );
    // The others are still the defaults.
    assert!(read(&out.join("tactics/index.md")).starts_with("# ATT&amp;CK tactics"));
}

#[test]
fn exports_are_well_formed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", Some("https://example.org/wiki/")),
        &out,
        None,
        &TestCatalog::new(),
    );
    let rules: serde_json::Value =
        serde_json::from_str(&read(&out.join("rules.json"))).expect("json");
    let rules = rules.as_array().expect("array");
    assert_eq!(rules.len(), 5);
    let reference = rules
        .iter()
        .find(|r| r["title"] == "Rundll32 Internet Connection")
        .expect("reference");
    assert_eq!(
        reference["html"],
        "rules/sysmon_rundll32_net_connections.html"
    );
    assert_eq!(reference["techniques"], serde_json::json!(["T1218.011"]));
    assert_eq!(
        reference["tactics"],
        serde_json::json!(["TA0005", "TA0002"])
    );
    let csv = read(&out.join("analytics.csv"));
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .expect("header")
            .starts_with("customer,tactic,technique,detection_rule,")
    );
    // rule × tactic × technique × data needed: the reference rule has 2 × 1 × 1 rows.
    assert_eq!(
        csv.lines()
            .filter(|l| l.contains(",Rundll32 Internet Connection,"))
            .count(),
        2
    );
    // A formula in a false positive never reaches the CSV; neither does one in a title.
    assert!(
        !csv.lines()
            .any(|l| l.split(',').any(|c| c.starts_with('=')))
    );
    let sitemap = read(&out.join("sitemap.xml"));
    assert!(
        sitemap.contains("<loc>https://example.org/wiki/rules/windows/failed_logon.html</loc>"),
        "{sitemap}"
    );
    let coverage = read(&out.join("coverage.html"));
    assert!(coverage.contains("https://mitre-attack.github.io/attack-navigator/#layerURL=https%3A%2F%2Fexample.org%2Fwiki%2Fnavigator-layer.json"), "{coverage}");
}

#[test]
fn coverage_matrix_rolls_up_subtechniques() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    build(
        &options(inputs(), "/", None),
        &out,
        None,
        &TestCatalog::new(),
    );
    let html = read(&out.join("coverage.html"));
    // T1110 has one rule of its own and one through T1110.001: two distinct rules.
    assert!(
        html.contains("data-technique=\"T1110\" data-count=\"2\""),
        "{html}"
    );
    // T1218 is covered only through T1218.011 (two rules) and links to a page that exists.
    assert!(
        html.contains("data-technique=\"T1218\" data-count=\"2\""),
        "{html}"
    );
    assert!(
        html.contains("<details><summary><a href=\"techniques/T1218.011.html\">T1218"),
        "{html}"
    );
    // T1059 has no rule.
    assert!(
        html.contains("data-technique=\"T1059\" data-count=\"0\""),
        "{html}"
    );
}

/// Checks a layer against the ATT&CK Navigator layer format 4.5: required fields, types, value
/// ranges and the set of known keys.
fn validate_layer(layer: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    let mut errors = Vec::new();
    let mut err = |m: String| errors.push(m);
    let Some(top) = layer.as_object() else {
        return vec!["not an object".to_string()];
    };
    let known = [
        "name",
        "versions",
        "domain",
        "description",
        "filters",
        "sorting",
        "layout",
        "hideDisabled",
        "techniques",
        "gradient",
        "legendItems",
        "showTacticRowBackground",
        "tacticRowBackground",
        "selectTechniquesAcrossTactics",
        "selectSubtechniquesWithParent",
        "selectVisibleTechniques",
        "metadata",
        "links",
        "customDataURL",
    ];
    for key in top.keys() {
        if !known.contains(&key.as_str()) {
            err(format!("unknown key {key}"));
        }
    }
    if !top.get("name").is_some_and(Value::is_string) {
        err("name must be a string".into());
    }
    if !matches!(
        top.get("domain").and_then(Value::as_str),
        Some("enterprise-attack" | "mobile-attack" | "ics-attack")
    ) {
        err("domain".into());
    }
    let versions = &layer["versions"];
    if versions["layer"] != "4.5" {
        err("versions.layer must be 4.5".into());
    }
    let navigator = versions["navigator"].as_str().unwrap_or("");
    let parts: Vec<u32> = navigator
        .split('.')
        .filter_map(|p| p.parse().ok())
        .collect();
    if parts.len() != 3 || (parts[0], parts[1]) < (4, 9) {
        err(format!("versions.navigator {navigator}"));
    }
    if !versions["attack"].is_string() {
        err("versions.attack".into());
    }
    if let Some(s) = top.get("sorting") {
        if s.as_u64().is_none_or(|s| s > 3) {
            err("sorting".into());
        }
    }
    let layout = &layer["layout"];
    if !matches!(layout["layout"].as_str(), Some("side" | "flat" | "mini")) {
        err("layout.layout".into());
    }
    if !matches!(
        layout["aggregateFunction"].as_str(),
        Some("average" | "min" | "max" | "sum")
    ) {
        err("layout.aggregateFunction".into());
    }
    if !matches!(
        layout["expandedSubtechniques"].as_str(),
        Some("none" | "all" | "annotated")
    ) {
        err("layout.expandedSubtechniques".into());
    }
    let id = regex::Regex::new(r"^T\d{4}(\.\d{3})?$").expect("regex");
    let hex = regex::Regex::new(r"^#[0-9a-fA-F]{6}$").expect("regex");
    for t in layer["techniques"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
    {
        let tid = t["techniqueID"].as_str().unwrap_or("");
        if !id.is_match(tid) {
            err(format!("techniqueID {tid}"));
        }
        if let Some(obj) = t.as_object() {
            for key in obj.keys() {
                if ![
                    "techniqueID",
                    "tactic",
                    "comment",
                    "enabled",
                    "score",
                    "color",
                    "metadata",
                    "links",
                    "showSubtechniques",
                    "aggregateScore",
                ]
                .contains(&key.as_str())
                {
                    err(format!("{tid}: unknown key {key}"));
                }
            }
        }
        if !t["score"].is_number()
            || !t["comment"].is_string()
            || !t["enabled"].is_boolean()
            || !t["showSubtechniques"].is_boolean()
        {
            err(format!("{tid}: types"));
        }
        for m in t["metadata"].as_array().map_or(&[][..], Vec::as_slice) {
            if !(m["name"].is_string() && m["value"].is_string() || m["divider"].is_boolean()) {
                err(format!("{tid}: metadata"));
            }
        }
        for l in t["links"].as_array().map_or(&[][..], Vec::as_slice) {
            if !(l["label"].is_string() && l["url"].is_string() || l["divider"].is_boolean()) {
                err(format!("{tid}: links"));
            }
        }
    }
    let gradient = &layer["gradient"];
    let colors = gradient["colors"].as_array().map_or(&[][..], Vec::as_slice);
    if colors.len() < 2
        || !colors
            .iter()
            .all(|c| c.as_str().is_some_and(|c| hex.is_match(c)))
    {
        err("gradient.colors".into());
    }
    if !gradient["minValue"].is_number() || !gradient["maxValue"].is_number() {
        err("gradient values".into());
    }
    if !layer["legendItems"].is_array()
        || !layer["metadata"].is_array()
        || !layer["links"].is_array()
    {
        err("arrays".into());
    }
    if !hex.is_match(layer["tacticRowBackground"].as_str().unwrap_or("")) {
        err("tacticRowBackground".into());
    }
    errors
}

#[test]
fn navigator_layer_validates_against_format_4_5() {
    for site_url in [None, Some("https://example.org/wiki/")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("site");
        build(
            &options(inputs(), "/", site_url),
            &out,
            None,
            &TestCatalog::new(),
        );
        let layer: serde_json::Value =
            serde_json::from_str(&read(&out.join("navigator-layer.json"))).expect("json");
        let errors = validate_layer(&layer);
        assert!(errors.is_empty(), "{errors:?}");
        let techniques = layer["techniques"].as_array().expect("techniques");
        let rundll = techniques
            .iter()
            .find(|t| t["techniqueID"] == "T1218.011")
            .expect("T1218.011");
        assert_eq!(rundll["score"], 2);
        assert_eq!(
            rundll["comment"],
            "Rundll32 Internet Connection; Suspicious Rundll32 Without Arguments"
        );
        if site_url.is_some() {
            assert_eq!(
                rundll["links"][0]["url"],
                "https://example.org/wiki/rules/sysmon_rundll32_net_connections.html"
            );
        }
        assert_eq!(layer["versions"]["attack"], "19");
    }
    // The validator itself rejects what the format forbids.
    let bad = serde_json::json!({"name": 1, "domain": "x", "versions": {"layer": "4.4"}, "techniques": [{"techniqueID": "T12"}]});
    assert!(validate_layer(&bad).len() >= 4);
}

/// A build held compactly (stubs of the parsed rules, compact entries, the rule pages in
/// chunks, re-read from disk) writes the very bytes of a build that holds every rule whole:
/// here with correlations, filters, failed files and duplicate ids, every target and the
/// ATT&CK, trigger and Data Needed catalogs, in chunks of three pages.
#[test]
fn a_compact_build_writes_the_same_site() {
    let mut inputs = inputs();
    inputs.push(crate_root().join("rules"));
    inputs.push(crate_root().join("tests/fixtures/invalid"));
    let templates = Templates::load(None).expect("templates");
    let catalog = TestCatalog::new();
    let run = |compact_above: usize| {
        let mut options = options(inputs.clone(), "/", Some("https://example.org/"));
        options.targets = site::QueryTarget::every();
        options.compact_above = compact_above;
        options.chunk = 3;
        site::build(&options, &templates, &catalog, Output::memory()).expect("build")
    };
    let whole = run(usize::MAX);
    let compact = run(0);
    assert!(whole.rule_pages > 10, "{} rule pages", whole.rule_pages);
    assert_eq!(whole.diagnostics, compact.diagnostics);
    assert_eq!(whole.files_written, compact.files_written);
    assert_eq!(
        whole.files.keys().collect::<Vec<_>>(),
        compact.files.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &whole.files {
        assert!(
            compact.files.get(path) == Some(bytes),
            "{path} differs between a whole and a compact build"
        );
    }
}
