//! A build killed midway leaves the previous site untouched, and the next build succeeds and
//! cleans up what the killed one left behind. The interrupted build reads the shared SigmaHQ
//! corpus when present (`$SIGWIKI_SHARED` or `../shared`), else the repository's `rules/`
//! copied enough times to take a few seconds, so the test also runs on a fresh clone.
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

/// A rule folder big enough that its build is still writing pages when it is stopped.
fn big_input(scratch: &Path) -> PathBuf {
    if let Some(shared) = common::shared_dir() {
        return shared.join("corpus/sigmahq");
    }
    eprintln!("note: no shared corpus; the interrupted build reads rules/ copied 150 times");
    let input = scratch.join("big");
    let rules: Vec<PathBuf> = std::fs::read_dir(root().join("rules"))
        .expect("rules/")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    for copy in 0..150 {
        let folder = input.join(format!("copy{copy:03}"));
        std::fs::create_dir_all(&folder).expect("mkdir");
        for rule in &rules {
            let name = rule.file_name().expect("name");
            std::fs::copy(rule, folder.join(name)).expect("copy");
        }
    }
    input
}

/// Builds the previous site, starts a build of `big` into the same folder, stops it with
/// `signal` once it is writing pages, and checks the previous site and the recovery.
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

    let big = big_input(scratch.path());
    let mut child = sigwiki()
        .args(["build", "-q", "--targets", "all", "-o"])
        .arg(&site)
        .arg(&big)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Underway: the staging folder holds rule pages.
    let started = Instant::now();
    loop {
        let writing =
            std::fs::read_dir(staging.join("rules")).is_ok_and(|mut d| d.next().is_some());
        if writing {
            break;
        }
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the build ended ({status}) before it was stopped; the input is too small");
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the build never started writing pages"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
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
        .filter(|n| n != "big")
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
