//! Golden tests of processing pipelines: one pipeline file per transformation type
//! (`tests/pipeline_golden/transformations/`), every built-in pipeline, and the placeholder
//! transformations, each run over the rules of `tests/pipeline_golden/rules/` (written for these
//! tests) and converted for the pySigma-family targets; the queries (or refusals) are compared
//! with `insta` snapshots in `tests/pipeline_golden/snapshots/`. The expected queries were
//! checked against what `sigma convert -t T -p FILE` (pySigma 1.5.1) prints for the same rule
//! and pipeline; where sigwiki deliberately differs, `tests/pipeline_golden/README.md` says why.
//!
//! `tests/pipeline_golden/broken/` holds pipeline files that cannot be used, each with an
//! `# expect: error` comment at the end of the line its error must point at; the messages are
//! pinned by snapshots too.

use std::path::{Path, PathBuf};

use sigwiki::convert::{Preprocess, backend, convert_file_preprocessed};
use sigwiki::load::{Loaded, load};
use sigwiki::pipeline::{Chain, Pipeline};
use sigwiki::sigma::ParseOptions;

/// The targets every golden pipeline is converted for.
const TARGETS: &[&str] = &["lucene", "splunk"];

/// The targets of the placeholder tests (query expressions render per target).
const PLACEHOLDER_TARGETS: &[&str] = &["lucene", "splunk", "eql", "esql"];

/// Targets built-in pipelines that name none are converted for.
const ANY_TARGETS: &[&str] = &["lucene", "splunk", "eql", "esql"];

fn folder(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pipeline_golden")
        .join(name)
}

fn yaml_files(name: &str) -> Vec<PathBuf> {
    let dir = folder(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    files
}

fn rules(name: &str) -> Loaded {
    let loaded = load(&[folder(name)], &ParseOptions::default()).expect("golden rules load");
    let broken: Vec<String> = loaded
        .rules
        .files
        .iter()
        .flat_map(|f| f.diagnostics.iter().filter(|d| d.is_error()))
        .map(ToString::to_string)
        .collect();
    assert!(broken.is_empty(), "golden rules with errors: {broken:?}");
    assert!(!loaded.rules.files.is_empty(), "no rules in {name}");
    loaded
}

/// Every rule of `set` through `chain` for each target: `rule (target): query` lines, or the
/// refusal.
fn render(chain: &Chain, set: &Loaded, targets: &[&str]) -> String {
    let mut files: Vec<_> = set.rules.files.iter().collect();
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    let mut out = String::new();
    for file in files {
        for target in targets {
            let backend = backend(target).expect("registered target");
            let result =
                convert_file_preprocessed(backend, file, &set.rules, Preprocess::Pipelines(chain));
            let text = match result {
                Ok(query) => query.trim_end().to_string(),
                Err(e) => format!("refused: {e}"),
            };
            out.push_str(&format!(
                "{} ({target}):\n{text}\n\n",
                file.relative.display()
            ));
        }
    }
    out
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        snapshot_path => "pipeline_golden/snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

fn load_pipeline(path: &Path) -> Pipeline {
    Pipeline::load(&path.to_string_lossy()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_transformation_type_has_a_golden_pipeline() {
    let texts: Vec<String> = yaml_files("transformations")
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect();
    let missing: Vec<&&str> = sigwiki::pipeline::load::SUPPORTED
        .iter()
        .filter(|t| {
            let written = format!("type: {t}\n");
            !texts.iter().any(|text| text.contains(&written))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "transformation types without a golden pipeline in tests/pipeline_golden/transformations/: {missing:?}"
    );
}

#[test]
fn transformations() {
    let set = rules("rules");
    for path in yaml_files("transformations") {
        let chain = Chain::new(vec![load_pipeline(&path)]);
        let stem = path.file_stem().expect("a name").to_string_lossy();
        snapshot(
            &format!("transformation_{stem}"),
            &render(&chain, &set, TARGETS),
        );
    }
}

#[test]
fn builtin_pipelines() {
    let set = rules("rules");
    for name in Pipeline::builtin_names() {
        let pipeline = Pipeline::builtin(name)
            .expect("listed")
            .unwrap_or_else(|e| panic!("built-in {name}: {e}"));
        let targets: Vec<&str> = if pipeline.allowed_backends.is_empty() {
            ANY_TARGETS.to_vec()
        } else {
            pipeline
                .allowed_backends
                .iter()
                .map(String::as_str)
                .filter(|t| backend(t).is_some())
                .collect()
        };
        assert!(!targets.is_empty(), "built-in {name} fits no target");
        let chain = Chain::new(vec![pipeline.clone()]);
        snapshot(&format!("builtin_{name}"), &render(&chain, &set, &targets));
    }
}

#[test]
fn chained_builtin_pipelines() {
    let set = rules("rules");
    for (specs, targets) in [
        (&["sysmon", "splunk_windows"][..], &["splunk"][..]),
        (
            &["windows-audit", "windows-logsources"][..],
            &["lucene"][..],
        ),
    ] {
        let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
        let chain = Chain::load(&specs).expect("built-ins load");
        snapshot(
            &format!("chain_{}", specs.join("+")),
            &render(&chain, &set, targets),
        );
    }
}

#[test]
fn placeholders() {
    let set = rules("placeholders/rules");
    let mut pipelines = yaml_files("placeholders");
    pipelines.retain(|p| p.is_file());
    assert!(!pipelines.is_empty());
    for path in pipelines {
        let chain = Chain::new(vec![load_pipeline(&path)]);
        let stem = path.file_stem().expect("a name").to_string_lossy();
        snapshot(
            &format!("placeholders_{stem}"),
            &render(&chain, &set, PLACEHOLDER_TARGETS),
        );
    }
}

/// The line of a file's `# expect: error` comment.
fn expected_line(text: &str, path: &Path) -> usize {
    let lines: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with("# expect: error"))
        .map(|(i, _)| i + 1)
        .collect();
    match lines.as_slice() {
        [one] => *one,
        _ => panic!(
            "{} needs exactly one `# expect: error` comment",
            path.display()
        ),
    }
}

#[test]
fn broken_pipelines() {
    let files = yaml_files("broken");
    assert!(files.len() >= 10, "too few broken pipeline fixtures");
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable");
        let line = expected_line(&text, &path);
        let relative =
            Path::new("tests/pipeline_golden/broken").join(path.file_name().expect("a file name"));
        let error = sigwiki::pipeline::load::parse(&text, &relative, "fixture")
            .map(|_| ())
            .expect_err(&format!("{} must be refused", path.display()));
        let position = error
            .position
            .unwrap_or_else(|| panic!("{}: the error has no position: {error}", path.display()));
        assert_eq!(
            position.line,
            line,
            "{}: the error points at line {}, the fixture expects {line}: {error}",
            path.display(),
            position.line
        );
        let stem = path.file_stem().expect("a name").to_string_lossy();
        snapshot(&format!("broken_{stem}"), &format!("{error}\n"));
    }
}
