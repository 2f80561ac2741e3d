//! A checkout laid out like SigmaHQ/sigma, built as a new user would: at its root with no
//! arguments (every `rules*` folder) and with `.` (everything, where workflows, tool
//! configurations and regression `info.yml` files are left out without a diagnostic, hidden and
//! git-ignored entries are not walked, and `deprecated/` and `unsupported/` rules are marked and
//! kept out of the coverage). The tree is written by the test itself.

use std::path::Path;

use assert_cmd::Command;

fn sigwiki(root: &Path) -> Command {
    let mut cmd = Command::cargo_bin("sigwiki").expect("binary");
    cmd.current_dir(root).env("NO_COLOR", "1");
    cmd
}

fn rule(title: &str, id: &str, status: &str, technique: &str, image: &str) -> String {
    format!(
        "title: {title}\nid: {id}\nstatus: {status}\ndescription: d\nauthor: a\ndate: 2024-01-01\ntags:\n    - attack.execution\n    - attack.{technique}\nlogsource:\n    category: process_creation\n    product: windows\ndetection:\n    selection:\n        Image|endswith: '\\{image}'\n    condition: selection\nlevel: high\n"
    )
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(full, text).expect("write");
}

/// The fixture checkout: three rule folders, retired rules, and the other YAML of a real one.
fn checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let ids = |n: u32| format!("5a000000-0000-4000-8000-{n:012}");
    write(
        root,
        "rules/windows/process_creation/proc_a.yml",
        &rule("Main rule", &ids(1), "test", "t1059", "a.exe"),
    );
    write(
        root,
        "rules-emerging-threats/2024/proc_b.yml",
        &rule("Emerging rule", &ids(2), "test", "t1204", "b.exe"),
    );
    write(
        root,
        "rules-threat-hunting/windows/proc_c.yml",
        &rule("Hunting rule", &ids(3), "test", "t1204", "c.exe"),
    );
    write(
        root,
        "deprecated/windows/proc_old.yml",
        &rule(
            "Retired old rule",
            &ids(4),
            "deprecated",
            "t1053",
            "old.exe",
        ),
    );
    write(
        root,
        "unsupported/windows/proc_unsup.yml",
        &rule("Unconvertible rule", &ids(5), "test", "t1053", "u.exe"),
    );
    // The other YAML of a checkout.
    write(
        root,
        ".github/workflows/sigma-test.yml",
        "name: Sigma tests\non:\n    push:\n        branches: ['*']\njobs:\n    test:\n        runs-on: ubuntu-latest\n",
    );
    write(
        root,
        ".github/hidden_rule.yml",
        &rule("Hidden rule", &ids(6), "test", "t1059", "h.exe"),
    );
    write(
        root,
        "tests/thor.yml",
        "title: THOR configuration\norder: 20\nbackends:\n    - thor\nfieldmappings:\n    Image: Image\n",
    );
    write(
        root,
        "tests/sigma_cli_conf.yml",
        "name: conf\nexclusions:\n    5a000000-0000-4000-8000-000000000001: one\n    5a000000-0000-4000-8000-000000000001: twice\n",
    );
    write(
        root,
        "regression_data/rules/windows/proc_a/info.yml",
        "id: 5a000000-0000-4000-8000-000000000099\ndescription: N/A\ndate: 2025-01-01\nauthor: a\nrule_metadata:\n    - id: 5a000000-0000-4000-8000-000000000001\n      title: Main rule\nregression_tests_info:\n    - name: Positive Detection Test\n      type: evtx\n      path: regression_data/rules/windows/proc_a/x.evtx\n",
    );
    write(root, ".gitignore", "scratch/\n*.local.yml\n");
    write(
        root,
        "scratch/draft.yml",
        &rule("Ignored draft", &ids(7), "test", "t1059", "d.exe"),
    );
    write(
        root,
        "rules/windows/mine.local.yml",
        &rule("Ignored local rule", &ids(8), "test", "t1059", "l.exe"),
    );
    dir
}

fn pages(site: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(site.join("rules"))
        .into_iter()
        .map(|e| e.expect("readable"))
        .filter(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| {
            e.path()
                .strip_prefix(site)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    out.sort();
    out
}

#[test]
fn no_arguments_at_the_root_builds_every_rules_folder() {
    let dir = checkout();
    let site = dir.path().join("site-default");
    let output = sigwiki(dir.path())
        .args(["build", "-o"])
        .arg(&site)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error["), "{stderr}");
    assert_eq!(
        pages(&site),
        // Each folder's pages mirror the paths inside it, as `sigwiki build rules` always did.
        [
            "rules/2024/proc_b.md",
            "rules/windows/proc_c.md",
            "rules/windows/process_creation/proc_a.md",
        ],
        "{stderr}"
    );
}

#[test]
fn dot_builds_the_rules_and_leaves_the_other_yaml_out_silently() {
    let dir = checkout();
    let site = dir.path().join("site-dot");
    let output = sigwiki(dir.path())
        .args(["build", ".", "-o"])
        .arg(&site)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("0 rule files with errors"), "{stderr}");
    for not_a_rule in [
        "sigma-test.yml",
        "thor.yml",
        "sigma_cli_conf.yml",
        "info.yml",
    ] {
        assert!(!stderr.contains(not_a_rule), "{stderr}");
    }
    let built = pages(&site);
    assert_eq!(
        built,
        [
            "rules/deprecated/windows/proc_old.md",
            "rules/rules-emerging-threats/2024/proc_b.md",
            "rules/rules-threat-hunting/windows/proc_c.md",
            "rules/rules/windows/process_creation/proc_a.md",
            "rules/unsupported/windows/proc_unsup.md",
        ],
        "hidden, git-ignored and non-rule files get no page"
    );
    let old = std::fs::read_to_string(site.join("rules/deprecated/windows/proc_old.md"))
        .expect("deprecated page");
    assert!(old.starts_with("> **Deprecated rule.**"), "{old}");
    let unsupported = std::fs::read_to_string(site.join("rules/unsupported/windows/proc_unsup.md"))
        .expect("unsupported page");
    assert!(
        unsupported.starts_with("> **Unsupported rule.**"),
        "{unsupported}"
    );
    let main = std::fs::read_to_string(site.join("rules/rules/windows/process_creation/proc_a.md"))
        .expect("main page");
    assert!(!main.contains("Deprecated rule"), "{main}");
    // Retired rules are not counted: T1053 is tagged only by them.
    let layer = std::fs::read_to_string(site.join("navigator-layer.json")).expect("layer");
    assert!(layer.contains("T1059"), "{layer}");
    assert!(!layer.contains("T1053"), "{layer}");
    assert!(!layer.contains("Retired old rule"), "{layer}");
    assert!(!site.join("techniques").join("t1053.md").exists());

    // `-v` lists what was left out, as skipped, not as a diagnostic.
    let verbose = sigwiki(dir.path())
        .args(["build", ".", "-v", "-o"])
        .arg(&site)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&verbose.stderr);
    for not_a_rule in [
        "tests/thor.yml",
        "tests/sigma_cli_conf.yml",
        "regression_data/rules/windows/proc_a/info.yml",
    ] {
        assert!(
            stderr.contains(&format!("skipped ./{not_a_rule}: not a Sigma document")),
            "{not_a_rule}: {stderr}"
        );
    }
    assert!(!stderr.contains("sigma-test.yml"), "hidden: {stderr}");
}

#[test]
fn a_file_named_on_the_command_line_is_still_checked_strictly() {
    let dir = checkout();
    let output = sigwiki(dir.path())
        .args(["check", "tests/thor.yml", "tests/sigma_cli_conf.yml"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("tests/thor.yml:1:1: error[missing-field]"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tests/sigma_cli_conf.yml:4:5: error[duplicate-key]"),
        "{stdout}"
    );
}

#[test]
fn convert_at_the_root_reads_every_rules_folder_and_check_of_dot_passes() {
    let dir = checkout();
    let output = sigwiki(dir.path())
        .args(["convert", "-t", "lucene"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        ["Image:*\\\\a.exe", "Image:*\\\\b.exe", "Image:*\\\\c.exe"]
    );
    let check = sigwiki(dir.path())
        .args(["check", "."])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{stdout}");
    assert!(
        stdout.contains("checked 5 files: 0 with errors"),
        "{stdout}"
    );
}

#[test]
fn only_folders_from_the_input_root_down_retire_a_rule() {
    // The whole checkout sits under a folder named `unsupported/`: that says nothing about
    // its rules, which are walked from `rules/` or the checkout's root.
    let outer = tempfile::tempdir().expect("tempdir");
    let dir = checkout();
    let root = outer.path().join("unsupported/sigma");
    std::fs::create_dir_all(root.parent().expect("parent")).expect("mkdir");
    std::fs::rename(dir.path(), &root).expect("move the checkout");
    let site = outer.path().join("site");
    let output = sigwiki(&root)
        .args(["build", "rules", "deprecated", "unsupported", "-o"])
        .arg(&site)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let main = std::fs::read_to_string(site.join("rules/windows/process_creation/proc_a.md"))
        .expect("main page");
    assert!(!main.contains("Unsupported rule"), "{main}");
    // A walked folder named `unsupported` (here with a rule whose status is `test`) counts.
    let unsupported =
        std::fs::read_to_string(site.join("rules/windows/proc_unsup.md")).expect("page");
    assert!(
        unsupported.starts_with("> **Unsupported rule.**"),
        "{unsupported}"
    );
    let layer = std::fs::read_to_string(site.join("navigator-layer.json")).expect("layer");
    assert!(layer.contains("T1059"), "{layer}");
    assert!(!layer.contains("T1053"), "{layer}");
}
