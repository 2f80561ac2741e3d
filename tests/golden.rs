//! Golden snapshots of the query targets: every golden rule (`tests/golden/rules/*.yml`, each
//! stressing one construct) converted with every backend of `sigwiki::convert::backends()`.
//!
//! One snapshot per rule (`tests/golden/snapshots/<rule stem>.snap`) holds the rule's text and,
//! under one heading per target in page order, what that target prints for the file or the
//! error it refuses it with (`ERROR: …`). Registering a backend therefore adds a section to every
//! existing snapshot rather than new files, and a reviewer sees all targets of one construct side
//! by side. Review changes with `cargo insta review` (or `INSTA_UPDATE=always cargo test --test
//! golden` and `git diff tests/golden/snapshots`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sigwiki::convert::{backends, convert_file};
use sigwiki::load::{Loaded, load};
use sigwiki::sigma::{ParseOptions, RuleFile};

/// The issue asks for at least 60 golden rules; the golden brief for at least 70.
const MINIMUM_GOLDEN_RULES: usize = 70;

/// Golden rules other tests and reviewers rely on, by stem: one per construct the issue and the
/// converter reference name (the hand-written assertions use the cidr, windash and bool ones).
#[rustfmt::skip]
const REQUIRED_RULES: &[&str] = &[
    // One special character class of every target language per rule.
    "escape_space", "escape_tab", "escape_newline", "escape_plus", "escape_minus",
    "escape_equals", "escape_double_ampersand", "escape_double_pipe", "escape_pipe",
    "escape_greater", "escape_less", "escape_bang", "escape_parens", "escape_braces",
    "escape_brackets", "escape_caret", "escape_tilde", "escape_colon", "escape_slash",
    "escape_quote", "escape_single_quote", "escape_quotes_mixed", "escape_backslash",
    "escape_backslash_escaped", "escape_backslash_wildcard", "escape_backslash_trailing",
    "escape_backslash_quote",
    // Wildcards and string modifiers.
    "wildcard_star", "wildcard_question", "escaped_wildcard_literal", "contains", "startswith",
    "endswith", "contains_all", "all_two_fields", "list_or", "single_item_list",
    // Value types.
    "number", "number_list", "number_as_string", "float", "bool_true", "bool_false", "null",
    "not_null", "empty_string", "unicode_value",
    // Keywords, regular expressions, networks, encodings.
    "keyword_single", "keyword_list", "keyword_all", "keyword_with_space", "re", "re_anchors",
    "re_flags_i", "re_slash", "re_list", "cidr_v4", "cidr_v4_odd_prefix", "cidr_v6", "cidr_list",
    "windash_single", "windash_list", "base64", "base64offset", "wide_base64offset", "utf16",
    // Other modifiers.
    "exists_true", "exists_false", "gt", "gte_lte_range", "fieldref", "cased",
    "expand_placeholder", "neq",
    // Conditions.
    "condition_and", "condition_or", "condition_not", "condition_precedence", "condition_parens",
    "condition_double_not", "one_of_pattern", "all_of_pattern", "one_of_them", "all_of_them",
    "not_one_of_filters", "list_of_maps", "condition_list",
    // Field names.
    "field_with_dash", "field_with_dot", "field_with_space",
    // Aggregations, correlations, filters.
    "aggregation_count", "near", "correlation_event_count", "correlation_value_count",
    "correlation_value_count_base", "correlation_temporal_ordered", "filter", "filter_base",
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn load_golden() -> Loaded {
    load(&[golden_dir().join("rules")], &ParseOptions::default()).expect("golden rules load")
}

/// The file name without `.yml`: the snapshot name.
fn stem(file: &RuleFile) -> String {
    file.relative
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .expect("rule files have a name")
}

/// The snapshot text of one rule file: its source, then every target's output or error.
fn render(file: &RuleFile, loaded: &Loaded) -> String {
    let mut out = String::new();
    writeln!(
        out,
        "### rule tests/golden/rules/{}",
        file.relative.display()
    )
    .expect("write");
    writeln!(out, "{}", file.source.trim_end()).expect("write");
    if backends().is_empty() {
        writeln!(out, "\n(no query backends registered)").expect("write");
    }
    for backend in backends() {
        writeln!(out, "\n### {}", backend.name()).expect("write");
        match convert_file(*backend, file, &loaded.rules) {
            // Only the final newlines go: a trailing space can be part of a query.
            Ok(text) => writeln!(out, "{}", text.trim_end_matches('\n')),
            Err(error) => writeln!(out, "ERROR: {error}"),
        }
        .expect("write");
    }
    out
}

#[test]
fn golden_rules_are_valid_and_numerous() {
    let loaded = load_golden();
    assert!(
        loaded.skipped.is_empty(),
        "golden rules skipped by the walk: {:?}",
        loaded.skipped
    );
    let files = &loaded.rules.files;
    assert!(
        files.len() >= MINIMUM_GOLDEN_RULES,
        "only {} golden rules, at least {MINIMUM_GOLDEN_RULES} wanted",
        files.len()
    );
    let broken: Vec<String> = files
        .iter()
        .flat_map(|f| f.diagnostics.iter().filter(|d| d.is_error()))
        .map(ToString::to_string)
        .collect();
    assert!(
        broken.is_empty(),
        "golden rules with errors:\n{}",
        broken.join("\n")
    );
    let stems: Vec<String> = files.iter().map(stem).collect();
    let missing: Vec<&&str> = REQUIRED_RULES
        .iter()
        .filter(|r| !stems.iter().any(|s| s == **r))
        .collect();
    assert!(
        missing.is_empty(),
        "required golden rules missing: {missing:?}"
    );
    let empty: Vec<String> = files
        .iter()
        .filter(|f| f.documents.is_empty())
        .map(stem)
        .collect();
    assert!(
        empty.is_empty(),
        "golden files without documents: {empty:?}"
    );
}

#[test]
fn golden_snapshots() {
    let loaded = load_golden();
    let mut files: Vec<&RuleFile> = loaded.rules.files.iter().collect();
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let mut differing = Vec::new();
    for file in files {
        let name = stem(file);
        let text = render(file, &loaded);
        // Every snapshot is compared (and a `.snap.new` written for each difference) before the
        // test fails, so one run shows every changed rule.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            insta::with_settings!({
                snapshot_path => "golden/snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
                input_file => file.path.clone(),
            }, {
                insta::assert_snapshot!(name.as_str(), text);
            });
        }));
        if outcome.is_err() {
            differing.push(name);
        }
    }
    assert!(
        differing.is_empty(),
        "{} golden snapshots differ: {}\nreview with `cargo insta review`",
        differing.len(),
        differing.join(", ")
    );
}

#[test]
fn every_snapshot_has_its_golden_rule() {
    let loaded = load_golden();
    let stems: Vec<String> = loaded.rules.files.iter().map(stem).collect();
    let snapshots = golden_dir().join("snapshots");
    let Ok(entries) = std::fs::read_dir(&snapshots) else {
        return;
    };
    let mut stale = Vec::new();
    for entry in entries {
        let name = entry.expect("snapshot folder reads").file_name();
        let name = name.to_string_lossy();
        if let Some(rule) = name.strip_suffix(".snap") {
            if !stems.iter().any(|s| s == rule) {
                stale.push(name.into_owned());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "snapshots without a golden rule (delete them): {stale:?}"
    );
}
