//! Shared helpers of the site tests: paths to fixtures, a hand-made ATT&CK catalog for tests
//! (a few real tactic and technique ids, nothing else), and the internal link checker.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use sigwiki::sigma::Document;
use sigwiki::site::enrichment::{
    DataNeeded, Enricher, Enrichment, Matrix, MatrixTactic, MatrixTechnique, OtherTag, Tactic,
    Technique, TechniqueRef, Trigger,
};

/// The crate root.
pub fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The site test fixtures.
pub fn fixtures() -> PathBuf {
    crate_root().join("tests/site_fixtures")
}

/// The shared folder (`$SIGWIKI_SHARED` or `../shared`), if present.
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SIGWIKI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join("../shared"));
    path.is_dir().then_some(path)
}

fn technique(id: &str, name: &str) -> TechniqueRef {
    TechniqueRef {
        id: id.to_string(),
        name: name.to_string(),
        url: format!(
            "https://attack.mitre.org/techniques/{}/",
            id.replace('.', "/")
        ),
    }
}

/// A small catalog written by hand for tests: three tactics, a few techniques, one revoked
/// technique, one Data Needed entry and one trigger.
pub struct TestCatalog {
    matrix: Matrix,
}

impl TestCatalog {
    /// The catalog.
    pub fn new() -> TestCatalog {
        let tactic =
            |id: &str, name: &str, short: &str, techniques: Vec<MatrixTechnique>| MatrixTactic {
                id: id.to_string(),
                name: name.to_string(),
                shortname: short.to_string(),
                url: format!("https://attack.mitre.org/tactics/{id}/"),
                techniques,
            };
        let proxy = MatrixTechnique {
            technique: technique("T1218", "System Binary Proxy Execution"),
            subtechniques: vec![
                technique("T1218.011", "System Binary Proxy Execution: Rundll32"),
                technique("T1218.010", "System Binary Proxy Execution: Regsvr32"),
            ],
        };
        let brute = MatrixTechnique {
            technique: technique("T1110", "Brute Force"),
            subtechniques: vec![technique("T1110.001", "Brute Force: Password Guessing")],
        };
        let scripting = MatrixTechnique {
            technique: technique("T1059", "Command and Scripting Interpreter"),
            subtechniques: Vec::new(),
        };
        TestCatalog {
            matrix: Matrix {
                version: "19.1".to_string(),
                tactics: vec![
                    tactic("TA0002", "Execution", "execution", vec![scripting]),
                    tactic("TA0005", "Stealth", "defense-evasion", vec![proxy]),
                    tactic(
                        "TA0006",
                        "Credential Access",
                        "credential-access",
                        vec![brute],
                    ),
                ],
            },
        }
    }
}

impl Enricher for TestCatalog {
    fn enrich(&self, document: &Document) -> Enrichment {
        let meta = document.kind.meta();
        let mut out = Enrichment::default();
        for tag in &meta.tags {
            let lower = tag.to_ascii_lowercase();
            let tactic = |id: &str, name: &str, short: &str, former: Option<&str>| {
                std::sync::Arc::new(Tactic {
                    id: id.to_string(),
                    name: name.to_string(),
                    url: format!("https://attack.mitre.org/tactics/{id}/"),
                    shortname: short.to_string(),
                    tag: tag.clone(),
                    former_name: former.map(str::to_string),
                    implied_by: Vec::new(),
                })
            };
            let tech = |r: TechniqueRef, revoked_by: Option<TechniqueRef>| {
                std::sync::Arc::new(Technique {
                    technique: r,
                    tag: tag.clone(),
                    revoked_by,
                    deprecated: false,
                    tactics: vec!["TA0005".to_string()],
                    unknown: false,
                })
            };
            match lower.as_str() {
                "attack.execution" => {
                    out.tactics
                        .push(tactic("TA0002", "Execution", "execution", None))
                }
                "attack.defense_evasion" | "attack.defense-evasion" => out.tactics.push(tactic(
                    "TA0005",
                    "Stealth",
                    "defense-evasion",
                    Some("Defense Evasion"),
                )),
                "attack.credential-access" | "attack.credential_access" => out.tactics.push(
                    tactic("TA0006", "Credential Access", "credential-access", None),
                ),
                "attack.t1085" => out.techniques.push(tech(
                    technique("T1085", "Rundll32"),
                    Some(technique(
                        "T1218.011",
                        "System Binary Proxy Execution: Rundll32",
                    )),
                )),
                "attack.t1218.011" => out.techniques.push(tech(
                    technique("T1218.011", "System Binary Proxy Execution: Rundll32"),
                    None,
                )),
                "attack.t1110" => out
                    .techniques
                    .push(tech(technique("T1110", "Brute Force"), None)),
                "attack.t1110.001" => out.techniques.push(tech(
                    technique("T1110.001", "Brute Force: Password Guessing"),
                    None,
                )),
                _ => out.other_tags.push(OtherTag::plain(tag)),
            }
        }
        if let Some(ls) = document.kind.logsource() {
            if ls.service.as_deref() == Some("sysmon") {
                out.data_needed.push(std::sync::Arc::new(DataNeeded {
                    id: "sysmon-3".to_string(),
                    title: "Sysmon event 3: Network connection detected".to_string(),
                    platform: Some("Windows".to_string()),
                    category: Some("OS Logs".to_string()),
                    event_id: Some("3".to_string()),
                    channel: Some("Microsoft-Windows-Sysmon/Operational".to_string()),
                    provider: Some("Microsoft-Windows-Sysmon".to_string()),
                    fields: vec!["Image".to_string(), "DestinationIp".to_string()],
                    description: None,
                }));
            }
        }
        if out
            .techniques
            .iter()
            .any(|t| t.effective().id == "T1218.011")
        {
            out.triggers.push(Trigger {
                technique: "T1218.011".to_string(),
                url: "https://github.com/redcanaryco/atomic-red-team/blob/master/atomics/T1218.011/T1218.011.md".to_string(),
                test_count: 2,
                tests: Vec::new(),
            });
        }
        out
    }

    fn matrix(&self) -> Option<&Matrix> {
        Some(&self.matrix)
    }
}

/// Every `.html` file under `dir`.
pub fn html_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .collect();
    out.sort();
    out
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks every internal link and anchor of every HTML page under `site`; absolute links must
/// start with `base_url` (which maps to the site root). Returns the broken ones.
pub fn broken_links(site: &Path, base_url: &str) -> Vec<String> {
    let attr = regex::Regex::new(r#"(?:href|src)="([^"]*)""#).expect("regex");
    let id_attr = regex::Regex::new(r#"\sid="([^"]*)""#).expect("regex");
    let mut ids: HashMap<PathBuf, HashSet<String>> = HashMap::new();
    let mut ids_of = |file: &Path| -> Option<HashSet<String>> {
        if let Some(set) = ids.get(file) {
            return Some(set.clone());
        }
        let text = std::fs::read_to_string(file).ok()?;
        let set: HashSet<String> = id_attr
            .captures_iter(&text)
            .map(|c| decode_entities(&c[1]))
            .collect();
        ids.insert(file.to_path_buf(), set.clone());
        Some(set)
    };
    let mut broken = Vec::new();
    for page in html_files(site) {
        let text = std::fs::read_to_string(&page).expect("read page");
        for cap in attr.captures_iter(&text) {
            let raw = decode_entities(&cap[1]);
            let lower = raw.to_ascii_lowercase();
            if lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("mailto:")
                || lower.starts_with("data:")
            {
                continue;
            }
            let (path_part, fragment) = match raw.split_once('#') {
                Some((p, f)) => (p.to_string(), Some(f.to_string())),
                None => (raw.clone(), None),
            };
            let path_part = path_part.split('?').next().unwrap_or("").to_string();
            let target = if path_part.is_empty() {
                page.clone()
            } else if let Some(abs) = path_part.strip_prefix('/') {
                let base = base_url.trim_start_matches('/');
                match abs.strip_prefix(base) {
                    Some(rest) => site.join(percent_decode(rest)),
                    None => {
                        broken.push(format!("{}: {raw} is not under {base_url}", page.display()));
                        continue;
                    }
                }
            } else {
                normalize(
                    &page
                        .parent()
                        .expect("parent")
                        .join(percent_decode(&path_part)),
                )
            };
            let target = if target.is_dir() {
                target.join("index.html")
            } else {
                target
            };
            if !target.is_file() {
                broken.push(format!(
                    "{}: {raw} → missing {}",
                    page.display(),
                    target.display()
                ));
                continue;
            }
            if !target.starts_with(site) {
                broken.push(format!("{}: {raw} leaves the site", page.display()));
                continue;
            }
            if let Some(fragment) = fragment.filter(|f| !f.is_empty()) {
                if target.extension().is_some_and(|e| e == "html") {
                    let set = ids_of(&target).unwrap_or_default();
                    if !set.contains(&percent_decode(&fragment)) {
                        broken.push(format!("{}: {raw} → no id {fragment}", page.display()));
                    }
                }
            }
        }
    }
    broken
}
