//! Property tests: no input makes the parser panic, and what it reports is well-formed.
//!
//! Inputs are random YAML documents (nested maps, lists and scalars whose keys include Sigma
//! keywords and modifier chains), random rules whose detection and condition are random,
//! random condition strings built from identifiers, keywords, parentheses and pipes, and random
//! bytes. Case counts are bounded so the whole file runs in a few seconds under `cargo test`;
//! `PROPTEST_CASES` raises them for a longer hunt, and the `fuzz/` targets search further.

use std::path::Path;

use proptest::prelude::*;
use serde_yaml::{Mapping, Value as Yaml};
use sigwiki::sigma::condition::parse_condition;
use sigwiki::sigma::diagnostic::NodePath;
use sigwiki::sigma::{ParseOptions, Piece, RuleFile, RuleSet, SigmaString, parse_source};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn parse(text: String) -> RuleFile {
    parse_source(
        Path::new("prop.yml"),
        Path::new("prop.yml"),
        text,
        &ParseOptions::default(),
    )
}

/// An upper bound of the lines of `text` as YAML parsers count them: libyaml (YAML 1.1) breaks
/// lines at CR, LF, NEL, LS and PS, not only at `\n`.
fn yaml_lines(text: &str) -> usize {
    1 + text
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count()
}

/// Checks the invariants every parsed file keeps, whatever its input.
fn check_invariants(file: &RuleFile) {
    let lines = yaml_lines(&file.source);
    for d in &file.diagnostics {
        assert!(d.line >= 1 && d.column >= 1, "{d}");
        // libyaml places the end of a stream that lacks a final line break on the next line.
        assert!(d.line <= lines + 1, "{d} is past the end ({lines} lines)");
        assert!(!d.message.is_empty(), "{d}");
    }
    if file.diagnostics.iter().all(|d| !d.is_error()) {
        assert!(
            !file.documents.is_empty(),
            "no error but no document either: {:?}",
            file.source
        );
    }
    // Every document is reachable through a rule set, and resolving references never panics.
    let set = RuleSet::new(vec![file.clone()]);
    for (_, _, document) in set.documents() {
        let _ = document.kind.meta();
    }
}

const KEYS: &[&str] = &[
    "title",
    "id",
    "name",
    "status",
    "level",
    "date",
    "modified",
    "tags",
    "related",
    "type",
    "logsource",
    "category",
    "product",
    "service",
    "detection",
    "condition",
    "timeframe",
    "selection",
    "selection_img",
    "filter_main",
    "keywords",
    "correlation",
    "rules",
    "group-by",
    "timespan",
    "aliases",
    "generate",
    "field",
    "gte",
    "filter",
    "action",
    "Image",
    "Image|endswith",
    "CommandLine|contains|all",
    "CommandLine|windash|contains",
    "CommandLine|wide|base64offset|contains",
    "x|base64",
    "x|re",
    "x|re|i|m|s",
    "x|cidr",
    "x|exists",
    "x|gt",
    "x|hour|gte",
    "x|fieldref|neq",
    "x|expand",
    "x|cased",
    "x|neq",
    "x|utf16be|base64",
    "|all",
    "|contains",
    "a|b|c",
    "",
    "|",
    "x||",
];

const SCALARS: &[&str] = &[
    "",
    "*",
    "?",
    "\\",
    "\\*",
    "a*b?c",
    "10.0.0.0/8",
    "::1/200",
    "(a|b",
    "[a-",
    "%Servers%",
    "\\%x%y%",
    " -flag /x",
    "selection and not filter",
    "1 of selection*",
    "all of them",
    "event_count",
    "value_count",
    "temporal",
    "1h",
    "0d",
    "2026-02-30",
    "2017/11/04",
    "global",
    "reset",
    "repeat",
    "stable",
    "critical",
    "attack.t1059.001",
    "Attack.Bad Tag",
    "ünïcödé ✓",
    "line\nbreak",
];

fn scalar() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        Just(Yaml::Null),
        any::<bool>().prop_map(Yaml::Bool),
        any::<i64>().prop_map(|n| Yaml::Number(n.into())),
        any::<f64>().prop_map(|n| Yaml::Number(n.into())),
        prop::sample::select(SCALARS).prop_map(|s| Yaml::String(s.to_string())),
        "[ -~]{0,12}".prop_map(Yaml::String),
    ]
}

fn key() -> impl Strategy<Value = Yaml> {
    prop_oneof![
        8 => prop::sample::select(KEYS).prop_map(|k| Yaml::String(k.to_string())),
        1 => "[a-z_|*]{1,10}".prop_map(Yaml::String),
        1 => any::<i32>().prop_map(|n| Yaml::Number(n.into())),
        1 => any::<bool>().prop_map(Yaml::Bool),
    ]
}

fn yaml_value() -> impl Strategy<Value = Yaml> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Yaml::Sequence),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|entries| Yaml::Mapping(entries.into_iter().collect::<Mapping>())),
        ]
    })
}

/// A rule-shaped document: the required sections present, their content random.
fn rule_document() -> impl Strategy<Value = Yaml> {
    (
        yaml_value(),
        prop::collection::vec((key(), yaml_value()), 0..5),
        condition_text(),
        prop::collection::vec((key(), scalar()), 0..4),
    )
        .prop_map(|(logsource, identifiers, condition, extra)| {
            let mut detection: Mapping = identifiers.into_iter().collect();
            detection.insert("condition".into(), Yaml::String(condition));
            let mut doc = Mapping::new();
            doc.insert("title".into(), "Property rule".into());
            doc.insert("logsource".into(), logsource);
            doc.insert("detection".into(), Yaml::Mapping(detection));
            for (k, v) in extra {
                doc.insert(k, v);
            }
            Yaml::Mapping(doc)
        })
}

const CONDITION_TOKENS: &[&str] = &[
    "selection",
    "selection_img",
    "filter_main",
    "keywords",
    "undefined",
    "_hidden",
    "and",
    "or",
    "not",
    "AND",
    "Not",
    "1",
    "2",
    "all",
    "of",
    "them",
    "selection*",
    "filter_*",
    "*",
    "(",
    ")",
    "((",
    "))",
    "|",
    "count()",
    "count(x)",
    "by",
    "near",
    ">",
    ">=",
    "<",
    "==",
    "=",
    "!",
    ",",
    "5",
    "1.5",
    "x",
];

fn condition_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(CONDITION_TOKENS), 0..16)
            .prop_map(|tokens| tokens.join(" ")),
        1 => prop::collection::vec(prop::sample::select(CONDITION_TOKENS), 0..16)
            .prop_map(|tokens| tokens.concat()),
        1 => "[ -~]{0,40}",
    ]
}

/// Fragments of YAML syntax, to produce texts that are often (but not always) YAML.
const YAML_FRAGMENTS: &[&str] = &[
    "title: x\n",
    "detection:\n",
    "    selection:\n",
    "        Image|endswith: '\\a.exe'\n",
    "    condition: selection\n",
    "logsource:\n    product: windows\n",
    "---\n",
    "...\n",
    "action: global\n",
    "action: repeat\n",
    "- a\n",
    "  - b\n",
    "a: [1, 2\n",
    "a: {b: 1}\n",
    "a: &x [1]\nb: *x\n",
    "c: *nope\n",
    "k: 'unterminated\n",
    "k: \"esc \\u12\"\n",
    "\t",
    "? complex\n: key\n",
    "!!binary aGk=\n",
    "%YAML 1.2\n",
    "# comment\n",
    "key: |\n  block\n",
    "key: >\n  folded\n",
    "dup: 1\ndup: 2\n",
    "[[[[",
    "]]}}",
    ": :\n",
];

fn yaml_like_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(YAML_FRAGMENTS), 0..20)
        .prop_map(|fragments| fragments.concat())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_yaml_documents_never_panic(docs in prop::collection::vec(yaml_value(), 1..4)) {
        let text = docs
            .iter()
            .map(|d| serde_yaml::to_string(d).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n");
        check_invariants(&parse(text));
    }

    #[test]
    fn random_rules_never_panic(docs in prop::collection::vec(rule_document(), 1..3)) {
        let text = docs
            .iter()
            .map(|d| serde_yaml::to_string(d).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("---\n");
        check_invariants(&parse(text));
    }

    #[test]
    fn random_yaml_like_text_never_panics(text in yaml_like_text()) {
        check_invariants(&parse(text));
    }

    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        check_invariants(&parse(text));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check_invariants(&parse(String::from_utf8_lossy(&bytes).into_owned()));
    }
}

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn random_conditions_never_panic_and_point_inside_the_text(text in condition_text()) {
        let identifiers: Vec<String> = ["selection", "selection_img", "filter_main", "keywords", "_hidden"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let path = NodePath::root(0).key("detection").key("condition");
        match parse_condition(&text, &identifiers, &path, 64) {
            Ok(condition) => {
                for name in condition.expr.identifiers() {
                    prop_assert!(identifiers.iter().any(|i| i == name), "{name} in {text:?}");
                }
            }
            Err(problem) => {
                if let sigwiki::sigma::diagnostic::Where::Node(node) = &problem.at {
                    prop_assert!(node.offset.is_none_or(|o| o <= text.chars().count()));
                }
            }
        }
    }

    #[test]
    fn conditions_inside_rules_never_panic(text in condition_text()) {
        let rule = format!(
            "title: t\nlogsource:\n    product: windows\ndetection:\n    selection:\n        a: 1\n    filter_main:\n        b: 2\n    condition: {}\n",
            serde_yaml::to_string(&Yaml::String(text)).unwrap_or_default().trim_end()
        );
        check_invariants(&parse(rule));
    }
}

#[test]
fn pathological_inputs_are_refused_without_panicking() {
    let deep_flow = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let deep_block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let deep_condition = format!(
        "title: t\nlogsource:\n    product: x\ndetection:\n    s:\n        a: 1\n    condition: '{}s{}'\n",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let many_nots = format!(
        "title: t\nlogsource:\n    product: x\ndetection:\n    s:\n        a: 1\n    condition: {}s\n",
        "not ".repeat(5000)
    );
    let windash_bomb = format!(
        "title: t\nlogsource:\n    product: x\ndetection:\n    s:\n        a|windash: '{}'\n    condition: s\n",
        " -a".repeat(8)
    );
    // Line breaks other than `\n`, which libyaml counts as lines (found by the properties).
    let odd_breaks = ["{\r ".to_string(), "\u{a1}:\u{2028}a".to_string()];
    for text in [
        deep_flow,
        deep_block,
        deep_condition,
        many_nots,
        windash_bomb,
    ]
    .into_iter()
    .chain(odd_breaks)
    {
        check_invariants(&parse(text));
    }
}

/// The escape rules of the specification, written the plain way, one character at a time: the
/// reference for [`SigmaString::parse`], which copies literal runs whole.
fn reference_pieces(raw: &str, placeholders: bool) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut Vec<Piece>| {
        if !text.is_empty() {
            out.push(Piece::Text(std::mem::take(text)));
        }
    };
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => match chars.get(i + 1) {
                Some(&n @ ('*' | '?' | '\\')) => {
                    text.push(n);
                    i += 1;
                }
                Some('%') if placeholders => {
                    text.push('%');
                    i += 1;
                }
                _ => text.push('\\'),
            },
            '*' => {
                flush(&mut text, &mut out);
                out.push(Piece::AnyString);
            }
            '?' => {
                flush(&mut text, &mut out);
                out.push(Piece::AnyChar);
            }
            '%' if placeholders => {
                let end = chars[i + 1..].iter().position(|&c| c == '%');
                match end {
                    Some(end)
                        if end > 0
                            && !chars[i + 1..i + 1 + end].iter().any(|c| c.is_whitespace()) =>
                    {
                        flush(&mut text, &mut out);
                        out.push(Piece::Placeholder(
                            chars[i + 1..i + 1 + end].iter().collect(),
                        ));
                        i += end + 1;
                    }
                    _ => text.push('%'),
                }
            }
            c => text.push(c),
        }
        i += 1;
    }
    flush(&mut text, &mut out);
    out
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn sigma_strings_follow_the_escape_rules(raw in "[ab \\\\*?%é]{0,24}") {
        let plain = SigmaString::parse(&raw);
        let reference = reference_pieces(&raw, false);
        prop_assert_eq!(plain.pieces(), reference.as_slice());
        let expanded = SigmaString::parse_with_placeholders(&raw);
        let reference = reference_pieces(&raw, true);
        prop_assert_eq!(expanded.pieces(), reference.as_slice());
    }
}
