//! The checks of a document's `tags`: the `namespace.name` form, the characters allowed, the
//! Sigma 1.x spellings Sigma 2 replaced, and the namespaces the specification defines.

use crate::sigma::diagnostic::{Code, NodePath, Problem};

const TAG_NAMESPACES: [&str; 7] = ["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];

pub(super) fn check_tags(tags: &[String], path: &NodePath, problems: &mut Vec<Problem>) {
    for (i, tag) in tags.iter().enumerate() {
        let at = path.index(i);
        let Some((namespace, rest)) = tag.split_once('.') else {
            problems.push(Problem::at(
                Code::InvalidTagFormat,
                &at,
                format!("tag `{tag}` has no namespace (expected `namespace.name`)"),
            ));
            continue;
        };
        let valid_chars = |s: &str, dots: bool| {
            !s.is_empty()
                && s.chars().all(|c| {
                    c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || c == '_'
                        || c == '-'
                        || (dots && c == '.')
                })
        };
        if !valid_chars(namespace, false) || !valid_chars(rest, true) {
            problems.push(Problem::at(
                Code::InvalidTagFormat,
                &at,
                format!("tag `{tag}` must use lower-case letters, digits, `_`, `-` and `.` only"),
            ));
            continue;
        }
        if let Some(v2) = v1_tag_replacement(namespace, rest) {
            problems.push(Problem::at(
                Code::Deprecated,
                &at,
                format!("tag `{tag}` is the Sigma 1.x form; Sigma 2 writes `{v2}`"),
            ));
            continue;
        }
        if !TAG_NAMESPACES.contains(&namespace) {
            problems.push(Problem::at(
                Code::NonStandardTag,
                &at,
                format!(
                    "tag namespace `{namespace}` is not one of the specification's (attack, car, cve, d3fend, detection, stp, tlp)"
                ),
            ));
        }
    }
}

/// The Sigma 2 spelling of a tag written in the 1.x form, if it is one: version 2.0 of the
/// specification replaced underscores by dashes in the `attack`, `cve` and `detection`
/// namespaces (`attack.defense_evasion`, `detection.threat_hunting`) and the dot of CVE
/// numbers by a dash (`cve.2021.44228`).
fn v1_tag_replacement(namespace: &str, rest: &str) -> Option<String> {
    match namespace {
        "attack" | "detection" if rest.contains('_') => {
            Some(format!("{namespace}.{}", rest.replace('_', "-")))
        }
        "cve" => {
            let (year, number) = rest.split_once('.')?;
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (year.len() == 4 && digits(year) && digits(number))
                .then(|| format!("cve.{year}-{number}"))
        }
        _ => None,
    }
}
