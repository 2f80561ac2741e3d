//! The syntax of Sigma tags: what a tag names (a tactic by shortname or ID, an ATT&CK object by
//! kind and ID, a tag of another namespace), before anything is looked up in a catalog.
//!
//! Forms accepted (case and surrounding whitespace are ignored, since the parser already reports
//! them as format problems):
//! - `attack.t1059`, `attack.t1059.001` — techniques and sub-techniques;
//! - `attack.execution`, `attack.defense-evasion` (Sigma 2) and `attack.defense_evasion`
//!   (Sigma 1) — tactics by shortname; `attack.ta0005` — a tactic by ID;
//! - `attack.g0016`, `attack.s0002`, `attack.m1042`, `attack.ds0009`, `attack.dc0032`.

use serde::Serialize;

use super::catalog::ObjectKind;

/// What a tag names, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagTarget {
    /// `attack.<word>`: a tactic shortname in ATT&CK's spelling (`_` turned into `-`).
    TacticName(String),
    /// `attack.taNNNN`: a tactic by ID (upper case).
    TacticId(String),
    /// `attack.tNNNN`, `attack.gNNNN`, …: an object by kind and ID (upper case).
    Object(ObjectKind, String),
    /// An `attack.*` tag of no known form; the text after `attack.`.
    UnrecognizedAttack(String),
    /// A tag of another namespace (or of none).
    Other {
        /// The namespace.
        namespace: TagNamespace,
        /// The namespace as written (lower case; empty when the tag has none).
        prefix: String,
        /// The text after the first `.` (the whole tag when it has no namespace).
        value: String,
    },
}

/// The namespaces of Sigma's tags appendix, for tags that are not resolved against ATT&CK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagNamespace {
    /// An `attack.*` tag of no known form.
    Attack,
    /// MITRE Cyber Analytics Repository.
    Car,
    /// CVE identifiers.
    Cve,
    /// MITRE D3FEND.
    D3fend,
    /// Detection kinds (`detection.threat-hunting`, …).
    Detection,
    /// Summiting the Pyramid.
    Stp,
    /// Traffic Light Protocol.
    Tlp,
    /// Any other namespace, or none.
    Nonstandard,
}

/// Parses one tag. Never fails: anything unrecognised is reported as such.
pub fn parse_tag(tag: &str) -> TagTarget {
    let lower = tag.trim().to_lowercase();
    let Some((prefix, value)) = lower.split_once('.') else {
        return TagTarget::Other {
            namespace: TagNamespace::Nonstandard,
            prefix: String::new(),
            value: lower,
        };
    };
    let (prefix, value) = (prefix.trim(), value.trim());
    let namespace = match prefix {
        "attack" => return parse_attack(value),
        "car" => TagNamespace::Car,
        "cve" => TagNamespace::Cve,
        "d3fend" => TagNamespace::D3fend,
        "detection" => TagNamespace::Detection,
        "stp" => TagNamespace::Stp,
        "tlp" => TagNamespace::Tlp,
        _ => TagNamespace::Nonstandard,
    };
    TagTarget::Other {
        namespace,
        prefix: prefix.to_string(),
        value: value.to_string(),
    }
}

fn parse_attack(value: &str) -> TagTarget {
    let letters = value
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (kind, number) = value.split_at(letters);
    let is_id = !kind.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.chars().all(|c| c.is_ascii_digit() || c == '.');
    if is_id {
        let id = format!("{}{number}", kind.to_ascii_uppercase());
        let kind = match kind {
            "ta" => return TagTarget::TacticId(id),
            "t" => ObjectKind::Technique,
            "g" => ObjectKind::Group,
            "s" => ObjectKind::Software,
            "m" => ObjectKind::Mitigation,
            "ds" => ObjectKind::DataSource,
            "dc" => ObjectKind::DataComponent,
            _ => return TagTarget::UnrecognizedAttack(value.to_string()),
        };
        return TagTarget::Object(kind, id);
    }
    let is_word = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    if is_word {
        TagTarget::TacticName(value.replace('_', "-"))
    } else {
        TagTarget::UnrecognizedAttack(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_in_any_case_and_with_surrounding_whitespace() {
        let technique = |id: &str| TagTarget::Object(ObjectKind::Technique, id.to_string());
        assert_eq!(parse_tag("attack.t1059"), technique("T1059"));
        assert_eq!(parse_tag("ATTACK.T1059.001"), technique("T1059.001"));
        assert_eq!(parse_tag("  attack.t1059.001 \t"), technique("T1059.001"));
        assert_eq!(parse_tag("attack. t1059"), technique("T1059"));
        assert_eq!(
            parse_tag("attack.ta0005"),
            TagTarget::TacticId("TA0005".into())
        );
        assert_eq!(
            parse_tag("attack.G0016"),
            TagTarget::Object(ObjectKind::Group, "G0016".into())
        );
        assert_eq!(
            parse_tag("attack.s0002"),
            TagTarget::Object(ObjectKind::Software, "S0002".into())
        );
        assert_eq!(
            parse_tag("attack.m1042"),
            TagTarget::Object(ObjectKind::Mitigation, "M1042".into())
        );
        assert_eq!(
            parse_tag("attack.ds0005"),
            TagTarget::Object(ObjectKind::DataSource, "DS0005".into())
        );
        assert_eq!(
            parse_tag("attack.dc0032"),
            TagTarget::Object(ObjectKind::DataComponent, "DC0032".into())
        );
        // Malformed IDs still parse as IDs; the lookup reports them.
        assert_eq!(parse_tag("attack.t1059."), technique("T1059."));
        assert_eq!(
            parse_tag("attack.t1059.001.002"),
            technique("T1059.001.002")
        );
    }

    #[test]
    fn parses_tactic_names_of_both_sigma_styles() {
        let name = |n: &str| TagTarget::TacticName(n.to_string());
        assert_eq!(parse_tag("attack.defense_evasion"), name("defense-evasion"));
        assert_eq!(parse_tag("attack.defense-evasion"), name("defense-evasion"));
        assert_eq!(
            parse_tag("Attack.Command_And_Control"),
            name("command-and-control")
        );
        assert_eq!(parse_tag("attack.stealth"), name("stealth"));
    }

    #[test]
    fn keeps_other_namespaces_typed() {
        assert_eq!(
            parse_tag("cve.2021-44228"),
            TagTarget::Other {
                namespace: TagNamespace::Cve,
                prefix: "cve".into(),
                value: "2021-44228".into()
            }
        );
        assert_eq!(
            parse_tag("detection.emerging-threats"),
            TagTarget::Other {
                namespace: TagNamespace::Detection,
                prefix: "detection".into(),
                value: "emerging-threats".into()
            }
        );
        for (tag, namespace) in [
            ("car.2016-04-005", TagNamespace::Car),
            ("d3fend.d3-am", TagNamespace::D3fend),
            ("stp.3a", TagNamespace::Stp),
            ("tlp.clear", TagNamespace::Tlp),
            ("custom.thing", TagNamespace::Nonstandard),
        ] {
            assert!(
                matches!(parse_tag(tag), TagTarget::Other { namespace: n, .. } if n == namespace),
                "{tag}"
            );
        }
        assert_eq!(
            parse_tag("nonamespace"),
            TagTarget::Other {
                namespace: TagNamespace::Nonstandard,
                prefix: String::new(),
                value: "nonamespace".into()
            }
        );
    }
}
