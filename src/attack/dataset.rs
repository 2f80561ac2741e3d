//! The compact ATT&CK dataset: the facts sigwiki keeps from a STIX bundle (identifiers, names,
//! tactic membership, platforms, revocations and deprecations — never descriptions), and its
//! on-disk form.
//!
//! The on-disk form is JSON written by [`Dataset::to_json`]: the header fields one per line,
//! then each list with one object per line, every list sorted by ATT&CK ID (tactics in matrix
//! order). The same dataset always serialises to the same bytes, so the committed
//! `data/attack.json` diffs cleanly between ATT&CK releases and an import can be compared with
//! it byte for byte.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// The value of [`Dataset::format`] this version of sigwiki writes and reads.
pub const FORMAT: &str = "sigwiki-attack/1";

/// Everything sigwiki knows about one ATT&CK release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    /// The dataset format, [`FORMAT`].
    pub format: String,
    /// The ATT&CK domain, from the matrix's ATT&CK ID (`enterprise-attack`).
    pub domain: String,
    /// The ATT&CK release (`19.1`).
    pub version: String,
    /// The newest `modified` timestamp of any object in the bundle.
    pub modified: String,
    /// MITRE's copyright designation, which every copy of ATT&CK data must reproduce.
    pub attribution: String,
    /// Tactics, in the order of the matrix's columns.
    pub tactics: Vec<Tactic>,
    /// Techniques and sub-techniques, sorted by ID (a sub-technique follows its parent).
    pub techniques: Vec<Technique>,
    /// Groups (`intrusion-set`), sorted by ID.
    pub groups: Vec<Entry>,
    /// Software (`malware` and `tool`), sorted by ID.
    pub software: Vec<Software>,
    /// Mitigations (`course-of-action`), sorted by ID. Old mitigations reuse technique IDs
    /// (`T1085` is also the deprecated "Rundll32 Mitigation"), which is why every lookup is
    /// keyed by object type as well as ID.
    pub mitigations: Vec<Entry>,
    /// Data sources (`x-mitre-data-source`), sorted by ID.
    pub data_sources: Vec<Entry>,
    /// Data components (`x-mitre-data-component`), sorted by ID.
    pub data_components: Vec<Entry>,
}

/// A tactic: a column of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tactic {
    /// `TA0005`.
    pub id: String,
    /// `Stealth`.
    pub name: String,
    /// `stealth`: the kill-chain phase name techniques use, and the Sigma tag after `attack.`.
    pub shortname: String,
}

/// A technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Technique {
    /// `T1218` or `T1218.011`.
    pub id: String,
    /// The technique's own name (`Rundll32` for `T1218.011`, without the parent's name).
    pub name: String,
    /// The parent technique's ID, for a sub-technique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Tactic shortnames (kill-chain phase names), in matrix order.
    #[serde(default)]
    pub tactics: Vec<String>,
    /// Platforms (`Windows`, `Linux`, …), as ATT&CK lists them.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Replaced by another object (see `replaced_by`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    /// The final replacement of a revoked technique, after following `revoked-by` chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Withdrawn without a replacement.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// A group, mitigation, data source or data component: an ID, a name and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// `G0016`, `M1042`, `DS0009`, `DC0032`.
    pub id: String,
    /// The object's name.
    pub name: String,
    /// Replaced by another object (see `replaced_by`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    /// The final replacement of a revoked object, after following `revoked-by` chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Withdrawn without a replacement.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

/// Whether a piece of software is malware or a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SoftwareKind {
    /// STIX `malware`.
    Malware,
    /// STIX `tool`.
    Tool,
}

/// A piece of software.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Software {
    /// `S0002`.
    pub id: String,
    /// The software's name.
    pub name: String,
    /// Malware or tool.
    pub kind: SoftwareKind,
    /// Replaced by another object (see `replaced_by`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub revoked: bool,
    /// The final replacement of a revoked object, after following `revoked-by` chains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Withdrawn without a replacement.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Dataset {
    /// The dataset in its committed form: deterministic, one object per line, ending in a
    /// newline.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 * 1024);
        out.push_str("{\n");
        for (key, value) in [
            ("format", &self.format),
            ("domain", &self.domain),
            ("version", &self.version),
            ("modified", &self.modified),
            ("attribution", &self.attribution),
        ] {
            let _ = writeln!(out, "\"{key}\":{},", json(value));
        }
        write_list(&mut out, "tactics", &self.tactics, false);
        write_list(&mut out, "techniques", &self.techniques, false);
        write_list(&mut out, "groups", &self.groups, false);
        write_list(&mut out, "software", &self.software, false);
        write_list(&mut out, "mitigations", &self.mitigations, false);
        write_list(&mut out, "data_sources", &self.data_sources, false);
        write_list(&mut out, "data_components", &self.data_components, true);
        out.push_str("}\n");
        out
    }
}

/// Serialises a value that cannot fail to serialise (strings and the record types above, all
/// made of strings, booleans and lists).
fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

fn write_list<T: Serialize>(out: &mut String, key: &str, items: &[T], last: bool) {
    let _ = write!(out, "\"{key}\":[");
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&json(item));
    }
    out.push_str(if items.is_empty() { "]" } else { "\n]" });
    out.push_str(if last { "\n" } else { ",\n" });
}

/// Orders ATT&CK IDs naturally: by letter prefix, then by each number (`T999` < `T1000`,
/// `T1218` < `T1218.011` < `T1219`), with the text itself as the final tie-break.
pub fn compare_ids(a: &str, b: &str) -> Ordering {
    id_key(a).cmp(&id_key(b)).then_with(|| a.cmp(b))
}

fn id_key(id: &str) -> (&str, Vec<u64>) {
    let split = id.find(|c: char| c.is_ascii_digit()).unwrap_or(id.len());
    let (prefix, rest) = id.split_at(split);
    let numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<u64>().unwrap_or(u64::MAX))
        .collect();
    (prefix, numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Dataset {
        Dataset {
            format: FORMAT.to_string(),
            domain: "enterprise-attack".to_string(),
            version: "1.0".to_string(),
            modified: "2020-01-01T00:00:00.000Z".to_string(),
            attribution: "© 2020 The MITRE Corporation.".to_string(),
            tactics: vec![Tactic {
                id: "TA0002".to_string(),
                name: "Execution".to_string(),
                shortname: "execution".to_string(),
            }],
            techniques: vec![Technique {
                id: "T1085".to_string(),
                name: "Rundll32".to_string(),
                parent: None,
                tactics: vec!["execution".to_string()],
                platforms: vec!["Windows".to_string()],
                revoked: true,
                replaced_by: Some("T1218.011".to_string()),
                deprecated: false,
            }],
            groups: Vec::new(),
            software: vec![Software {
                id: "S0002".to_string(),
                name: "Mimikatz \"quoted\"".to_string(),
                kind: SoftwareKind::Tool,
                revoked: false,
                replaced_by: None,
                deprecated: false,
            }],
            mitigations: Vec::new(),
            data_sources: Vec::new(),
            data_components: Vec::new(),
        }
    }

    #[test]
    fn json_form_is_one_object_per_line_and_round_trips() {
        let dataset = sample();
        let text = dataset.to_json();
        assert!(text.contains(
            "\n{\"id\":\"T1085\",\"name\":\"Rundll32\",\"tactics\":[\"execution\"],\"platforms\":[\"Windows\"],\"revoked\":true,\"replaced_by\":\"T1218.011\"}\n"
        ));
        assert!(text.contains("\"groups\":[],\n"));
        assert!(text.ends_with("]\n}\n"));
        let back: Dataset = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, dataset);
        assert_eq!(back.to_json(), text);
    }

    #[test]
    fn ids_sort_naturally() {
        let mut ids = vec![
            "T1219",
            "T1218.011",
            "T999",
            "T1218",
            "T1218.002",
            "TA0001",
            "T1218.1",
        ];
        ids.sort_by(|a, b| compare_ids(a, b));
        assert_eq!(
            ids,
            vec![
                "T999",
                "T1218",
                "T1218.1",
                "T1218.002",
                "T1218.011",
                "T1219",
                "TA0001"
            ]
        );
    }
}
