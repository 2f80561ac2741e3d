//! A build killed midway leaves the previous site untouched, and the next build succeeds and
//! cleans up what the killed one left behind. The interrupted build runs with the test-only
//! hook `SIGWIKI_TEST_HOLD_BUILD` (see `sigwiki::site::output::HOLD_ENV`): it writes its first
//! rule page, creates the hold file and waits, so the signal lands midway however fast the
//! machine is, and the test needs nothing beyond the repository.
#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sigwiki() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("sigwiki"));
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Every file under `dir` with its bytes, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::files_under(dir)
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(dir).expect("inside");
            let bytes = std::fs::read(&path).expect("read");
            (relative.to_string_lossy().into_owned(), bytes)
        })
        .collect()
}

/// Builds the previous site, starts a build of `rules/` into the same folder, stops it with
/// `signal` while it holds after its first rule page, and checks the previous site and the
/// recovery.
fn interrupted_build_keeps_the_previous_site(signal: &str) {
    let scratch = tempfile::tempdir().expect("tempdir");
    let site = scratch.path().join("site");
    let staging = scratch.path().join(".site.building");
    let small = root().join("rules/sysmon_rundll32_net_connections.yml");
    let first = sigwiki()
        .args(["build", "-q", "-o"])
        .arg(&site)
        .arg(&small)
        .status()
        .expect("runs");
    assert!(first.success());
    let before = tree(&site);
    assert!(before.contains_key("index.html"));

    let hold = scratch.path().join("hold");
    let mut child = sigwiki()
        .args(["build", "-q", "--targets", "all", "-o"])
        .arg(&site)
        .arg(root().join("rules"))
        .env(sigwiki::site::output::HOLD_ENV, &hold)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Underway: the build holds after writing a rule page into its staging folder.
    let started = Instant::now();
    while !hold.exists() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the build ended ({status}) without reaching the hold point");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the build never reached the hold point"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let writing = std::fs::read_dir(staging.join("rules")).is_ok_and(|mut d| d.next().is_some());
    assert!(writing, "the held build has written a rule page");
    if signal == "KILL" {
        child.kill().expect("SIGKILL");
    } else {
        let sent = Command::new("kill")
            .args(["-s", signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -s {signal}");
    }
    let status = child.wait().expect("wait");
    assert!(
        !status.success(),
        "the build was stopped, not finished: {status}"
    );

    assert_eq!(tree(&site), before, "the previous site changed");
    assert!(
        staging.exists(),
        "the stopped build left its staging folder"
    );

    // The next build succeeds and removes the leftovers.
    let next = sigwiki()
        .args(["build", "-q", "-o"])
        .arg(&site)
        .arg(&small)
        .status()
        .expect("runs");
    assert!(next.success());
    assert_eq!(tree(&site), before, "same input, same site");
    let mut beside: Vec<String> = std::fs::read_dir(scratch.path())
        .expect("read")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "hold")
        .collect();
    beside.sort();
    assert_eq!(beside, ["site"], "temporary folders are cleaned up");
}

#[test]
fn sigkill_midway_leaves_the_previous_site() {
    interrupted_build_keeps_the_previous_site("KILL");
}

#[test]
fn sigterm_midway_leaves_the_previous_site() {
    interrupted_build_keeps_the_previous_site("TERM");
}

#[test]
fn sigint_midway_leaves_the_previous_site() {
    interrupted_build_keeps_the_previous_site("INT");
}

/// Two builds of the same hostile-and-valid input give byte-identical trees (the parallel page
/// rendering, sorted maps and the absence of timestamps make the output a function of the
/// input).
#[test]
fn two_builds_are_byte_identical() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let mut trees = Vec::new();
    for name in ["a", "b"] {
        let out = scratch.path().join(name);
        let status = sigwiki()
            .args([
                "build",
                "-q",
                "--targets",
                "all",
                "--site-url",
                "https://example.org/",
            ])
            .arg("-o")
            .arg(&out)
            .arg(root().join("rules"))
            .arg(root().join("tests/hostile"))
            .stderr(Stdio::null())
            .status()
            .expect("runs");
        assert_eq!(
            status.code(),
            Some(1),
            "the hostile rules fail, the rest build"
        );
        trees.push(tree(&out));
    }
    assert!(trees[0].len() > 100, "{} files", trees[0].len());
    assert_eq!(
        trees[0].keys().collect::<Vec<_>>(),
        trees[1].keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &trees[0] {
        assert!(trees[1][name] == *bytes, "{name} differs between builds");
    }
}
