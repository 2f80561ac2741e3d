//! Snapshot tests of the diagnostics for the fixture rules in `tests/fixtures/`.
//!
//! `invalid/` holds one file per kind of error (several per kind where the kind has variants),
//! `warnings/` valid rules that draw warnings. Each file's diagnostics, printed as `check`
//! prints them, are compared with an `insta` snapshot in `tests/snapshots/`.
//!
//! Snapshots alone would accept whatever the parser said when they were recorded, so every
//! fixture also states what it expects: a `# expect: error[code]` comment at the end of each line
//! a diagnostic must point at. The test checks that the diagnostics are exactly those (line,
//! severity and code); the snapshot pins the column and the message.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sigwiki::sigma::{Code, Diagnostic, ParseOptions, Severity};

/// Fixtures that cannot hold an `# expect:` comment, with their expectations.
const EXPECTATIONS_WITHOUT_COMMENTS: &[(&str, &[(usize, &str)])] =
    &[("empty_file_zero_bytes.yml", &[(1, "error[empty-file]")])];

/// The error kinds the foundation issue lists: each needs at least one invalid fixture.
const REQUIRED_ERROR_CODES: &[Code] = &[
    Code::YamlSyntax,
    Code::DuplicateKey,
    Code::EmptyFile,
    Code::InvalidType,
    Code::MissingField,
    Code::UndefinedIdentifier,
    Code::UnmatchedPattern,
    Code::UnbalancedParentheses,
    Code::ConditionSyntax,
    Code::UnknownModifier,
    Code::IllegalModifierChain,
    Code::InvalidRegex,
    Code::InvalidCidr,
    Code::InvalidStatus,
    Code::InvalidLevel,
    Code::InvalidDate,
    Code::InvalidRelated,
    Code::EmptyDetection,
    Code::InvalidValue,
    Code::InvalidAction,
    Code::InvalidCorrelation,
    Code::InvalidFilter,
    Code::UnresolvedReference,
    Code::DuplicateName,
    Code::NestingTooDeep,
];

/// The warning kinds that need a fixture.
const REQUIRED_WARNING_CODES: &[Code] = &[
    Code::NonStandardTag,
    Code::InvalidTagFormat,
    Code::MissingRecommendedField,
    Code::Deprecated,
    Code::Discouraged,
    Code::IdNotUuid,
    Code::TooLong,
    Code::DuplicateId,
    Code::NonStandardLogsource,
    Code::IneffectiveFilter,
];

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures(folder: &str) -> Vec<PathBuf> {
    let dir = crate_root().join("tests/fixtures").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

/// Checks one file alone, the way `sigwiki check FILE` does.
fn check(path: &Path) -> Vec<Diagnostic> {
    let loaded = sigwiki::load::load(&[path.to_path_buf()], &ParseOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut diagnostics = loaded.skipped;
    for file in &loaded.rules.files {
        diagnostics.extend(file.diagnostics.iter().cloned());
    }
    diagnostics
}

/// The diagnostics as `check` prints them, with paths relative to the crate root so the
/// snapshots do not depend on where the repository is.
fn render(diagnostics: &[Diagnostic]) -> String {
    let root = format!("{}/", crate_root().display());
    diagnostics
        .iter()
        .map(|d| format!("{d}\n").replace(&root, ""))
        .collect()
}

/// The `(line, "severity[code]")` pairs the fixture's comments ask for.
fn expectations(path: &Path) -> BTreeSet<(usize, String)> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let Some((_, expected)) = EXPECTATIONS_WITHOUT_COMMENTS
        .iter()
        .find(|(file, _)| *file == name)
    {
        return expected
            .iter()
            .map(|(line, what)| (*line, what.to_string()))
            .collect();
    }
    let text = std::fs::read_to_string(path).expect("fixture is UTF-8");
    let mut out = BTreeSet::new();
    for (i, line) in text.lines().enumerate() {
        if let Some((_, wanted)) = line.split_once("expect: ") {
            for item in wanted.split(',') {
                out.insert((i + 1, item.trim().to_string()));
            }
        }
    }
    out
}

fn found(diagnostics: &[Diagnostic]) -> BTreeSet<(usize, String)> {
    diagnostics
        .iter()
        .map(|d| (d.line, format!("{}[{}]", d.severity, d.code)))
        .collect()
}

fn snapshot(folder: &str, path: &Path, diagnostics: &[Diagnostic]) {
    let name = format!(
        "{folder}__{}",
        path.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("fixture")
    );
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("sigwiki check tests/fixtures/{folder}/{}", path.file_name().and_then(|n| n.to_str()).unwrap_or("")),
    }, {
        insta::assert_snapshot!(name, render(diagnostics));
    });
}

#[test]
fn invalid_fixtures_report_the_expected_errors_at_the_expected_lines() {
    let files = fixtures("invalid");
    assert!(
        files.len() >= 30,
        "only {} invalid fixtures; the issue asks for at least 30",
        files.len()
    );
    let mut codes = BTreeSet::new();
    for path in &files {
        let diagnostics = check(path);
        assert!(
            diagnostics.iter().any(Diagnostic::is_error),
            "{}: an invalid fixture must produce an error:\n{}",
            path.display(),
            render(&diagnostics)
        );
        let expected = expectations(path);
        assert!(
            !expected.is_empty(),
            "{}: the fixture has no `# expect:` comment",
            path.display()
        );
        assert_eq!(
            found(&diagnostics),
            expected,
            "{}: diagnostics differ from the `# expect:` comments:\n{}",
            path.display(),
            render(&diagnostics)
        );
        codes.extend(diagnostics.iter().map(|d| d.code));
        snapshot("invalid", path, &diagnostics);
    }
    for code in REQUIRED_ERROR_CODES {
        assert_eq!(code.default_severity(), Severity::Error, "{code}");
        assert!(codes.contains(code), "no invalid fixture produces {code}");
    }
}

#[test]
fn warned_fixtures_are_valid_and_report_the_expected_warnings() {
    let files = fixtures("warnings");
    let mut codes = BTreeSet::new();
    for path in &files {
        let diagnostics = check(path);
        assert!(
            !diagnostics.is_empty() && diagnostics.iter().all(|d| !d.is_error()),
            "{}: a warned fixture must produce warnings and no error:\n{}",
            path.display(),
            render(&diagnostics)
        );
        assert_eq!(
            found(&diagnostics),
            expectations(path),
            "{}: diagnostics differ from the `# expect:` comments:\n{}",
            path.display(),
            render(&diagnostics)
        );
        codes.extend(diagnostics.iter().map(|d| d.code));
        snapshot("warnings", path, &diagnostics);
    }
    for code in REQUIRED_WARNING_CODES {
        assert!(codes.contains(code), "no warned fixture produces {code}");
    }
}

#[test]
fn one_bad_rule_does_not_stop_the_others() {
    // The invalid fixtures checked together with the example rules: every invalid file still
    // reports its own errors, and every example rule is still parsed and usable.
    let invalid = fixtures("invalid");
    let mut inputs = invalid.clone();
    inputs.push(crate_root().join("rules"));
    let loaded = sigwiki::load::load(&inputs, &ParseOptions::default()).expect("inputs load");
    let rules = crate_root().join("rules");
    for file in &loaded.rules.files {
        if file.path.starts_with(&rules) {
            assert!(
                !file.has_errors() && !file.documents.is_empty(),
                "{}: {:?}",
                file.path.display(),
                file.diagnostics
            );
        } else {
            assert!(file.has_errors(), "{}", file.path.display());
        }
    }
    let invalid_seen = loaded
        .rules
        .files
        .iter()
        .filter(|f| !f.path.starts_with(&rules))
        .count();
    assert_eq!(invalid_seen, invalid.len());
}
