//! Fuzz target: any bytes, read as a rule file, through the whole parser and the rule set's
//! reference resolution. It must never panic, and what it reports must be well-formed.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sigwiki::sigma::{ParseOptions, RuleSet, SigmaKind, parse_source};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let file = parse_source(
        Path::new("fuzz.yml"),
        Path::new("fuzz.yml"),
        text,
        &ParseOptions::default(),
    );
    // libyaml counts CR, NEL, LS and PS as line breaks too (YAML 1.1), and places the end of a
    // stream without a final break on the line after the last.
    let lines = 1 + file.source.matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']).count();
    for d in &file.diagnostics {
        assert!(d.line >= 1 && d.column >= 1 && d.line <= lines + 1, "{d}");
    }
    if !file.has_errors() {
        assert!(!file.documents.is_empty(), "no error and no document");
    }
    // Walk what backends will walk: every condition, every value, every position.
    for document in &file.documents {
        if let SigmaKind::Rule(rule) = &document.kind {
            for condition in &rule.detection.conditions {
                let _ = condition.expr.to_string();
                let _ = file.position_of(&condition.path);
            }
            for item in rule.detection.field_matches() {
                let _ = item.key_text();
                for value in item.all_values() {
                    let _ = value.to_string();
                }
                let _ = file.position_of(&item.path);
            }
        }
    }
    let set = RuleSet::new(vec![file]);
    for (_, _, document) in set.documents() {
        let _ = document.kind.meta();
    }
});
