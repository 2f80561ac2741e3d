//! Exit codes of `check`, `convert` and `build`: 0 when every rule is good, 1 when some rules
//! failed (the rest still checked, converted or built), 2 for usage and I/O errors. Every
//! message about a rule names its file and line.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn good() -> PathBuf {
    root().join("rules/sysmon_rundll32_net_connections.yml")
}

fn bad() -> PathBuf {
    root().join("tests/hostile/level_script.yml")
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    let mut cmd = Command::cargo_bin("sigwiki").expect("binary");
    cmd.args(args).args(paths).env("NO_COLOR", "1");
    cmd.output().expect("runs")
}

fn code(output: &Output) -> Option<i32> {
    output.status.code()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_exits_0_1_or_2() {
    let ok = run(&["check"], &[&good()]);
    assert_eq!(code(&ok), Some(0), "{ok:?}");
    let some_failed = run(&["check"], &[&good(), &bad()]);
    assert_eq!(code(&some_failed), Some(1), "{some_failed:?}");
    assert!(
        stdout(&some_failed).contains("level_script.yml:14:8: error[invalid-level]"),
        "{}",
        stdout(&some_failed)
    );
    let missing = run(&["check"], &[Path::new("/no/such/rules")]);
    assert_eq!(code(&missing), Some(2), "{missing:?}");
    assert!(
        stderr(&missing).contains("/no/such/rules"),
        "{}",
        stderr(&missing)
    );
    let usage = run(&["check", "--no-such-flag"], &[]);
    assert_eq!(code(&usage), Some(2), "{usage:?}");
}

#[test]
fn convert_exits_0_1_or_2() {
    let ok = run(&["convert", "-t", "splunk"], &[&good()]);
    assert_eq!(code(&ok), Some(0), "{ok:?}");
    assert!(!stdout(&ok).is_empty());
    // One rule cannot be converted: its error names the file and line, the other still
    // converts.
    let wide = root().join("tests/hostile/wide_condition.yml");
    let some_failed = run(&["convert", "-t", "es-qs"], &[&good(), &wide]);
    assert_eq!(code(&some_failed), Some(1), "{some_failed:?}");
    assert!(
        stderr(&some_failed).contains("wide_condition.yml: error: line 13: condition:"),
        "{}",
        stderr(&some_failed)
    );
    assert!(stdout(&some_failed).contains("rundll32"), "{some_failed:?}");
    let unknown_target = run(&["convert", "-t", "no-such-target"], &[&good()]);
    assert_eq!(code(&unknown_target), Some(2), "{unknown_target:?}");
    let missing = run(&["convert", "-t", "splunk"], &[Path::new("/no/such/rules")]);
    assert_eq!(code(&missing), Some(2), "{missing:?}");
}

#[test]
fn build_exits_0_1_or_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let out_arg = out.to_string_lossy().into_owned();
    let ok = run(&["build", "-q", "-o", &out_arg], &[&good()]);
    assert_eq!(code(&ok), Some(0), "{ok:?}");
    let some_failed = run(&["build", "-o", &out_arg], &[&good(), &bad()]);
    assert_eq!(code(&some_failed), Some(1), "{some_failed:?}");
    assert!(
        stderr(&some_failed).contains("level_script.yml:14:8: error[invalid-level]"),
        "{}",
        stderr(&some_failed)
    );
    assert!(
        out.join("rules/sysmon_rundll32_net_connections.html")
            .is_file()
    );
    // I/O: the output is a folder sigwiki did not write; it is left alone.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("keep.txt"), "keep").expect("write");
    let refused = run(&["build", "-o", &foreign.to_string_lossy()], &[&good()]);
    assert_eq!(code(&refused), Some(2), "{refused:?}");
    assert!(stderr(&refused).contains("foreign"), "{}", stderr(&refused));
    assert!(foreign.join("keep.txt").is_file());
    let missing = run(&["build", "-o", &out_arg], &[Path::new("/no/such/rules")]);
    assert_eq!(code(&missing), Some(2), "{missing:?}");
    let usage = run(
        &["build", "--targets", "no-such-target", "-o", &out_arg],
        &[&good()],
    );
    assert_eq!(code(&usage), Some(2), "{usage:?}");
}

/// A FIFO given as the rule to preview is refused at once: opening it must not wait for a
/// writer that never comes.
#[cfg(unix)]
#[test]
fn a_fifo_given_directly_is_refused_without_blocking() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("pipe.yml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let output = Command::cargo_bin("sigwiki")
        .expect("binary")
        .arg("preview")
        .arg(&fifo)
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .expect("runs");
    assert_eq!(code(&output), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("pipe.yml") && stderr.contains("not a regular file"),
        "{stderr}"
    );
}
