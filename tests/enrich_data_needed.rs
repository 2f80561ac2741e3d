//! Data Needed: the embedded catalog, rule matching, user overrides, coverage of the SigmaHQ
//! corpus, and the reproduction of the committed dataset by its importer.

use std::path::{Path, PathBuf};

use sigwiki::enrich::import::{DataNeededInputs, import_data_needed};
use sigwiki::enrich::{DataNeededCatalog, DataNeededError, Entry, overrides};
use sigwiki::sigma::{ParseOptions, Rule, SigmaKind, parse_file, parse_source};

/// The shared folder (`$SIGWIKI_SHARED`, or `../shared` beside the crate), or a printed
/// `skipped:` note.
fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("SIGWIKI_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    if dir.join("corpus/sigmahq").is_dir() && dir.join("data/data-dictionaries").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: {test} needs the shared folder (set SIGWIKI_SHARED or put it at ../shared)"
        );
        None
    }
}

fn rule(text: &str) -> Rule {
    let file = parse_source(
        Path::new("test.yml"),
        Path::new("test.yml"),
        text.to_string(),
        &ParseOptions::default(),
    );
    assert!(!file.has_errors(), "{:?}", file.diagnostics);
    match file.documents.into_iter().next().map(|d| d.kind) {
        Some(SigmaKind::Rule(rule)) => rule,
        other => panic!("not a rule: {other:?}"),
    }
}

fn ids(entries: &[&Entry]) -> Vec<String> {
    entries.iter().map(|e| e.id.clone()).collect()
}

fn matched(text: &str) -> Vec<String> {
    ids(&DataNeededCatalog::embedded().match_rule(&rule(text)))
}

const HEAD: &str = "title: t\nlogsource:\n";

#[test]
fn embedded_catalog_has_the_events_rules_need() {
    let catalog = DataNeededCatalog::embedded();
    for n in 1..=29 {
        let entry = catalog.get(&format!("sysmon-{n}")).expect("sysmon event");
        assert_eq!(entry.event_id, Some(n));
        assert_eq!(
            entry.channel(),
            Some("Microsoft-Windows-Sysmon/Operational")
        );
        assert!(!entry.fields.is_empty(), "sysmon-{n} has no fields");
    }
    let sysmon3 = catalog.get("sysmon-3").unwrap();
    assert_eq!(sysmon3.name, "Network connection");
    assert_eq!(sysmon3.title, "Sysmon 3: Network connection");
    assert!(sysmon3.fields.iter().any(|f| f == "DestinationIp"));
    assert_eq!(
        sysmon3.provider.as_deref(),
        Some("Microsoft-Windows-Sysmon")
    );
    for (id, channel, field) in [
        ("security-4688", "Security", "CommandLine"),
        ("security-4624", "Security", "LogonType"),
        (
            "powershell-4104",
            "Microsoft-Windows-PowerShell/Operational",
            "ScriptBlockText",
        ),
        (
            "powershell-4103",
            "Microsoft-Windows-PowerShell/Operational",
            "Payload",
        ),
        (
            "powershell-classic-400",
            "Windows PowerShell",
            "HostApplication",
        ),
        ("system-7045", "System", "ImagePath"),
        ("linux-sysmon-1", "Linux-Sysmon/Operational", "CommandLine"),
    ] {
        let entry = catalog.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(entry.channel(), Some(channel), "{id}");
        assert!(
            entry.fields.iter().any(|f| f == field),
            "{id} lacks {field}"
        );
        assert!(!entry.sources.is_empty(), "{id} has no source");
    }
    assert!(catalog.get("powershell-classic-800").is_some());
    for id in [
        "aws-cloudtrail",
        "azure-signinlogs",
        "azure-activitylogs",
        "azure-auditlogs",
        "gcp-audit",
        "okta",
        "m365-audit",
        "zeek-conn",
        "zeek-dns",
        "zeek-http",
        "proxy",
        "webserver",
        "firewall",
        "dns",
        "linux-auditd",
        "linux-syslog",
        "linux-auth",
        "linux-sshd",
        "windows-application",
        "windows-taskscheduler",
        "windows-wmi",
        "windows-windefend",
        "windows-firewall-as",
        "windows-bits-client",
        "windows-dns-server",
        "windows-codeintegrity-operational",
    ] {
        let entry = catalog.get(id).unwrap_or_else(|| panic!("{id} missing"));
        assert!(entry.event_id.is_none(), "{id}");
    }
    // Every cited source is described, and ids are usable as file names.
    for entry in catalog.entries() {
        for key in &entry.sources {
            assert!(
                catalog.source(key).is_some(),
                "{}: unknown source {key}",
                entry.id
            );
        }
        assert!(
            sigwiki::enrich::overrides::is_valid_id(&entry.id),
            "{}",
            entry.id
        );
    }
    let ossem = catalog.source("ossem-dd").unwrap();
    assert_eq!(ossem.licence.as_deref(), Some("MIT"));
}

#[test]
fn the_reference_rule_needs_sysmon_3_only() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/sysmon_rundll32_net_connections.yml");
    let file = parse_file(
        &path,
        Path::new("sysmon_rundll32_net_connections.yml"),
        &ParseOptions::default(),
    );
    let Some(SigmaKind::Rule(rule)) = file.documents.first().map(|d| &d.kind) else {
        panic!("reference rule did not parse");
    };
    let entries = DataNeededCatalog::embedded().match_rule(rule);
    assert_eq!(ids(&entries), ["sysmon-3"]);
    assert_eq!(entries[0].title, "Sysmon 3: Network connection");
}

#[test]
fn categories_mean_their_events() {
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n"
        )),
        ["security-4688", "sysmon-1"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  category: registry_event\ndetection:\n  sel:\n    TargetObject: x\n  condition: sel\n"
        )),
        ["sysmon-12", "sysmon-13", "sysmon-14"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  category: registry_set\ndetection:\n  sel:\n    TargetObject: x\n  condition: sel\n"
        )),
        ["sysmon-13"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  category: ps_script\ndetection:\n  sel:\n    ScriptBlockText: x\n  condition: sel\n"
        )),
        ["powershell-4104"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: linux\n  category: process_creation\ndetection:\n  sel:\n    Image: /bin/sh\n  condition: sel\n"
        )),
        ["linux-sysmon-1"]
    );
    // A generic rule (no product) needs the process creation events of every platform.
    let generic = matched(&format!(
        "{HEAD}  category: process_creation\ndetection:\n  sel:\n    Image: x\n  condition: sel\n"
    ));
    assert_eq!(
        generic,
        [
            "linux-sysmon-1",
            "macos-process-creation",
            "security-4688",
            "sysmon-1"
        ]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: x\n  condition: sel\n"
        )),
        ["aws-cloudtrail"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  category: proxy\ndetection:\n  sel:\n    c-uri: x\n  condition: sel\n"
        )),
        ["proxy"]
    );
}

#[test]
fn event_ids_narrow_the_log_source() {
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: sysmon\ndetection:\n  sel:\n    EventID: 3\n  condition: sel\n"
        )),
        ["sysmon-3"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: security\ndetection:\n  sel:\n    EventID:\n      - 4624\n      - '4625'\n  condition: sel\n"
        )),
        ["security-4624", "security-4625"]
    );
    // Inside a list of maps.
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: system\ndetection:\n  sel:\n    - EventID: 7045\n      ImagePath: x\n    - EventID: 7036\n  condition: sel\n"
        )),
        ["system-7036", "system-7045"]
    );
    // The category's own event, narrowed by EventID.
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  category: registry_event\ndetection:\n  sel:\n    EventID: 13\n  condition: sel\n"
        )),
        ["sysmon-13"]
    );
    // EventIDs of excluded selections are not needed.
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: security\ndetection:\n  sel:\n    EventID: 4624\n  filter:\n    EventID: 4625\n  condition: sel and not filter\n"
        )),
        ["security-4624"]
    );
    // An EventID the catalog does not know keeps the log.
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: security\ndetection:\n  sel:\n    EventID:\n      - 4624\n      - 517\n  condition: sel\n"
        )),
        ["security-4624", "windows-security"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: windefend\ndetection:\n  sel:\n    EventID: 1116\n  condition: sel\n"
        )),
        ["windows-windefend"]
    );
    // Provider_Name narrows: System 16 is Kernel-General's, not another provider's.
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: system\ndetection:\n  sel:\n    Provider_Name: Microsoft-Windows-Kernel-General\n    EventID: 16\n  condition: sel\n"
        )),
        ["system-16"]
    );
    assert_eq!(
        matched(&format!(
            "{HEAD}  product: windows\n  service: system\ndetection:\n  sel:\n    Provider_Name: Some-Other-Provider\n    EventID: 16\n  condition: sel\n"
        )),
        ["windows-system"]
    );
    // Without a log source beyond the product, the product's events with that ID.
    let product_only = matched(&format!(
        "{HEAD}  product: windows\ndetection:\n  sel:\n    EventID: 4688\n  condition: sel\n"
    ));
    assert_eq!(product_only, ["security-4688"]);
}

#[test]
fn overrides_add_replace_and_remove_entries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("10-edr.yml"),
        "- id: edr-process\n  name: EDR process start\n  platform: windows\n  logsources:\n    - product: windows\n      category: process_creation\n  fields: [Image, CommandLine]\n- id: security-4688\n  logsources: []\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("more")).unwrap();
    std::fs::write(
        dir.path().join("more/20.yaml"),
        "id: sysmon-3\nname: Network connect\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not yaml: [").unwrap();
    let catalog = overrides::with_overrides(DataNeededCatalog::embedded(), dir.path()).unwrap();
    let process = format!(
        "{HEAD}  product: windows\n  category: process_creation\ndetection:\n  sel:\n    Image: x\n  condition: sel\n"
    );
    assert_eq!(
        ids(&catalog.match_rule(&rule(&process))),
        ["edr-process", "sysmon-1"]
    );
    let edr = catalog.get("edr-process").unwrap();
    assert_eq!(edr.title, "EDR process start");
    assert_eq!(edr.sources, ["file:10-edr.yml"]);
    assert!(catalog.source("file:10-edr.yml").is_some());
    assert_eq!(
        catalog.get("sysmon-3").unwrap().title,
        "Sysmon 3: Network connect"
    );
    // The embedded catalog is unchanged.
    assert_eq!(
        DataNeededCatalog::embedded().get("sysmon-3").unwrap().name,
        "Network connection"
    );

    std::fs::write(
        dir.path().join("30-bad.yml"),
        "- id: fine\n  name: ok\n- id: sysmon-1\n  event_ids: [1]\n",
    )
    .unwrap();
    let err = overrides::with_overrides(DataNeededCatalog::embedded(), dir.path()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, DataNeededError::Invalid { line: 3, .. }),
        "{text}"
    );
    assert!(
        text.contains("30-bad.yml:3:3:") && text.contains("event_ids"),
        "{text}"
    );
    let missing =
        overrides::with_overrides(DataNeededCatalog::embedded(), &dir.path().join("nope"));
    assert!(matches!(missing, Err(DataNeededError::NotAFolder { .. })));
}

#[test]
fn corpus_coverage_of_windows_rules() {
    let Some(shared) = shared_or_skip("corpus_coverage_of_windows_rules") else {
        return;
    };
    let loaded =
        sigwiki::load::load(&[shared.join("corpus/sigmahq")], &ParseOptions::default()).unwrap();
    let catalog = DataNeededCatalog::embedded();
    let (mut windows, mut covered, mut all, mut any) = (0usize, 0usize, 0usize, 0usize);
    let mut uncovered = Vec::new();
    for file in &loaded.rules.files {
        for document in &file.documents {
            let SigmaKind::Rule(rule) = &document.kind else {
                continue;
            };
            let needs = catalog.match_rule(rule);
            all += 1;
            any += usize::from(!needs.is_empty());
            if rule
                .logsource
                .product
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("windows"))
            {
                windows += 1;
                if needs.is_empty() {
                    uncovered.push(file.relative.display().to_string());
                } else {
                    covered += 1;
                }
            }
        }
    }
    let percent = 100.0 * covered as f64 / windows.max(1) as f64;
    println!("data needed coverage (windows): {covered}/{windows} = {percent:.1}%");
    println!("data needed coverage (all rules): {any}/{all}");
    for path in uncovered.iter().take(20) {
        println!("  no data needed: {path}");
    }
    assert!(windows > 2000, "only {windows} windows rules parsed");
    assert!(percent >= 95.0, "coverage {percent:.1}% is below 95%");
}

#[test]
fn committed_catalog_is_reproduced_by_the_importer() {
    let Some(shared) = shared_or_skip("committed_catalog_is_reproduced_by_the_importer") else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inputs = DataNeededInputs {
        ossem: shared.join("data/data-dictionaries/ossem-dd"),
        atc: shared.join("data/data-dictionaries/atc-data"),
        taxonomy: shared.join("spec/sigma-specification/specification/sigma-appendix-taxonomy.md"),
        logsource_fields: shared.join("data/sigmahq/logsource.json"),
        curated: Some(root.join("data/data-needed-curated.yaml")),
    };
    let imported = import_data_needed(&inputs).unwrap();
    let committed = std::fs::read_to_string(root.join("data/data-needed.json")).unwrap();
    assert!(
        imported.to_json() == committed,
        "data/data-needed.json is stale: rerun `sigwiki data import-data-needed` (see data/data-needed.SOURCE.md)"
    );
    assert_eq!(&imported, DataNeededCatalog::embedded().data());
}

#[test]
fn cli_shows_data_needed_and_reports_bad_inputs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = assert_cmd::Command::cargo_bin("sigwiki")
        .unwrap()
        .args(["data", "needed"])
        .arg(root.join("rules"))
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("sysmon_rundll32_net_connections.yml: Sysmon 3: Network connection"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("x.yml"), "id: sysmon-3\nnme: typo\n").unwrap();
    let output = assert_cmd::Command::cargo_bin("sigwiki")
        .unwrap()
        .args(["data", "needed", "--data-needed"])
        .arg(dir.path())
        .arg(root.join("rules"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("x.yml:1:1: ") && stderr.contains("`nme`"),
        "{stderr}"
    );
    let output = assert_cmd::Command::cargo_bin("sigwiki")
        .unwrap()
        .args(["data", "import-atomics"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("index.csv"));
}
