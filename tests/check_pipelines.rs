//! `sigwiki check` on processing pipeline files: `-p NAME|FILE` (repeatable), and pipeline YAML
//! files given by name among the inputs. A broken pipeline is an `invalid-pipeline` error at
//! its file, line and column, and exit code 1; good pipelines and built-in names pass.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(path: &str) -> PathBuf {
    root().join("tests/pipeline_golden").join(path)
}

fn run(args: &[&str]) -> Output {
    let mut cmd = Command::cargo_bin("sigwiki").expect("binary");
    cmd.args(args).env("NO_COLOR", "1").current_dir(root());
    cmd.output().expect("runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[test]
fn good_pipelines_pass() {
    let file = golden("transformations/conditions.yml");
    let out = run(&[
        "check",
        "-p",
        &text(&file),
        "-p",
        "ecs_windows",
        "-p",
        "sysmon",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        stdout(&out).contains(
            "checked 0 files and 3 pipelines (0 with errors): 0 with errors; 0 errors, 0 warnings"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_broken_pipeline_is_an_error_at_its_line() {
    let broken = golden("broken/unknown_transformation_type.yml");
    let out = run(&["check", "-p", &text(&broken)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let expected = format!(
        "{}:4:11: error[invalid-pipeline]: unknown transformation type `field_name_mapper`",
        broken.display()
    );
    assert!(stdout(&out).contains(&expected), "{}", stdout(&out));
}

#[test]
fn an_unknown_pipeline_name_is_an_error() {
    let out = run(&["check", "-p", "no_such_pipeline"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stdout(&out).contains(
            "no_such_pipeline:1:1: error[invalid-pipeline]: no such pipeline file, and no built-in pipeline of that name"
        ),
        "{}",
        stdout(&out)
    );
}

#[test]
fn pipeline_files_among_the_inputs_are_checked_as_pipelines() {
    let rule = golden("rules/process_creation.yml");
    let good = golden("transformations/field_name_mapping.yml");
    let broken = golden("broken/bad_regex.yml");
    let out = run(&["check", &text(&rule), &text(&good), &text(&broken)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let printed = stdout(&out);
    assert!(
        printed.contains(&format!(
            "{}:4:12: error[invalid-pipeline]: invalid regular expression",
            broken.display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("checked 1 file and 2 pipelines (1 with errors)"),
        "{printed}"
    );
    assert!(!printed.contains("process_creation.yml:"), "{printed}");
}

#[test]
fn json_output_holds_pipeline_diagnostics() {
    let broken = golden("broken/priority_not_a_number.yml");
    let out = run(&["check", "--format", "json", "-p", &text(&broken)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v[0]["code"], "invalid-pipeline", "{v}");
    assert_eq!(v[0]["line"], 2, "{v}");
}
