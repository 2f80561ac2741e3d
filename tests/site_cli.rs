//! The site commands through the binary: build (exit codes, output, refusal to replace a
//! foreign folder), preview, init, templates dump, completions and man.

mod site_common;

use assert_cmd::Command;
use site_common::{crate_root, fixtures};

fn sigwiki() -> Command {
    let mut cmd = Command::cargo_bin("sigwiki").expect("binary");
    cmd.current_dir(crate_root()).env("NO_COLOR", "1");
    cmd
}

#[test]
fn build_exits_1_when_a_rule_fails_and_still_builds_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let output = sigwiki()
        .args(["build", "-q"])
        .arg(fixtures().join("rules"))
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.yml:7:30: error[undefined-identifier]"),
        "{stderr}"
    );
    assert!(out.join("rules/windows/failed_logon.html").is_file());
    assert!(out.join("errors.html").is_file());
}

#[test]
fn build_of_good_rules_exits_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    sigwiki()
        .args(["build", "rules", "--base-url", "sigwiki", "-o"])
        .arg(&out)
        .assert()
        .success();
    let not_found = std::fs::read_to_string(out.join("404.html")).expect("404");
    assert!(
        not_found.contains("href=\"/sigwiki/rules.html\""),
        "{not_found}"
    );
    assert!(
        !out.join("sitemap.xml").exists(),
        "no sitemap without --site-url"
    );
}

#[test]
fn build_refuses_to_replace_a_folder_it_did_not_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keep.txt"), "mine").expect("write");
    let output = sigwiki()
        .args(["build", "rules", "-o"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("will not replace this folder"));
    assert!(dir.path().join("keep.txt").is_file());
}

#[test]
fn unknown_targets_are_usage_errors() {
    let output = sigwiki()
        .args([
            "build",
            "rules",
            "--targets",
            "no-such-target",
            "-o",
            "/nonexistent/never",
        ])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unknown query target `no-such-target`")
    );
}

#[test]
fn preview_prints_the_markdown_and_html_page() {
    let output = sigwiki()
        .args(["preview", "rules/sysmon_rundll32_net_connections.yml"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let md = String::from_utf8_lossy(&output.stdout);
    assert!(
        md.starts_with("| Title | Rundll32 Internet Connection |\n|:---|:---|\n"),
        "{md}"
    );
    assert!(md.contains("### Sigma rule"));
    let output = sigwiki()
        .args([
            "preview",
            "--format",
            "html",
            "rules/sysmon_rundll32_net_connections.yml",
        ])
        .output()
        .expect("run");
    assert!(output.status.success());
    let html = String::from_utf8_lossy(&output.stdout);
    assert!(html.contains("<style>"), "stylesheet inlined");
    assert!(!html.contains("assets/style.css"));
    assert!(html.contains("<h1 id=\"rule-title\">Rundll32 Internet Connection</h1>"));
}

#[test]
fn preview_of_a_bad_rule_reports_its_errors() {
    let output = sigwiki()
        .arg("preview")
        .arg(fixtures().join("bad/broken.yml"))
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("broken.yml:7:30"));
    assert!(output.stdout.is_empty());
}

#[test]
fn init_writes_settings_and_templates_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    sigwiki().arg("init").arg(dir.path()).assert().success();
    let config = std::fs::read_to_string(dir.path().join("sigwiki.toml")).expect("config");
    assert!(config.contains("\ntemplates = \"templates\""), "{config}");
    for name in [
        "rule.md",
        "rule.html",
        "base.html",
        "list.md",
        "assets/style.css",
        "assets/site.js",
    ] {
        assert!(dir.path().join("templates").join(name).is_file(), "{name}");
    }
    sigwiki().arg("init").arg(dir.path()).assert().failure();
    sigwiki()
        .arg("init")
        .arg("--force")
        .arg(dir.path())
        .assert()
        .success();
    // The written templates build a site.
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::copy(
        crate_root().join("rules/sysmon_rundll32_net_connections.yml"),
        rules.join("r.yml"),
    )
    .expect("copy");
    sigwiki()
        .current_dir(dir.path())
        .arg("build")
        .assert()
        .success();
    assert!(dir.path().join("site/rules/r.html").is_file());
}

#[test]
fn templates_dump_lists_what_it_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = sigwiki()
        .args(["templates", "dump"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(output.status.success());
    let listed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        listed.lines().count(),
        sigwiki::site::templates::DEFAULTS.len()
    );
    for (name, text) in sigwiki::site::templates::DEFAULTS {
        assert_eq!(
            std::fs::read_to_string(dir.path().join(name)).expect("read"),
            *text
        );
    }
}

#[test]
fn completions_and_man_page() {
    let output = sigwiki()
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("sigwiki"));
    let output = sigwiki().arg("man").output().expect("run");
    assert!(output.status.success());
    let man = String::from_utf8_lossy(&output.stdout);
    assert!(man.contains(".TH sigwiki"), "{man}");
    assert!(man.contains("build"));
}

#[test]
fn default_targets_are_the_three_atc_sections_with_real_newlines() {
    let output = sigwiki()
        .args(["preview", "rules/sysmon_rundll32_net_connections.yml"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{output:?}");
    let md = String::from_utf8_lossy(&output.stdout);
    let kibana = md.find("### Kibana query\n").expect("Kibana section");
    let watcher = md.find("### X-Pack Watcher\n").expect("Watcher section");
    let graylog = md.find("### Graylog\n").expect("Graylog section");
    assert!(kibana < watcher && watcher < graylog, "{md}");
    assert!(md.contains(
        "### Kibana query\n\n```\n((EventID:\"3\" AND Image.keyword:*\\\\rundll32.exe) AND (NOT (DestinationIp.keyword:(10.* OR 192.168.* OR 172.*))))\n```\n"
    ), "{md}");
    assert!(
        md.contains("\n{\n  \"metadata\": {\n"),
        "the watch has real newlines: {md}"
    );
    assert!(!md.contains("<<EOF\\n"), "no Python repr escapes: {md}");
    assert!(md.contains("<<EOF\n{\n"), "{md}");
}

#[test]
fn build_reports_the_warnings_check_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let warning_lines = |text: &[u8]| -> Vec<String> {
        let mut lines: Vec<String> = String::from_utf8_lossy(text)
            .lines()
            .filter(|l| l.contains(": warning["))
            .map(str::to_string)
            .collect();
        lines.sort();
        lines.dedup();
        lines
    };
    let check = sigwiki().args(["check", "rules"]).output().expect("check");
    let build = sigwiki()
        .args(["build", "rules", "-v", "-o"])
        .arg(&out)
        .output()
        .expect("build");
    assert_eq!(build.status.code(), Some(0), "{build:?}");
    // `check` prints to stdout, `build -v` to stderr.
    let checked = warning_lines(&check.stdout);
    assert!(
        checked
            .iter()
            .any(|l| l.contains("warning[revoked-attack-tag]")),
        "{checked:?}"
    );
    assert_eq!(warning_lines(&build.stderr), checked);
    let page = std::fs::read_to_string(out.join("rules/sysmon_rundll32_net_connections.md"))
        .expect("page");
    assert!(page.contains("[revoked-attack-tag\\]"), "{page}");
}

#[test]
fn a_field_mapping_renames_the_fields_of_every_query_and_the_page_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    sigwiki()
        .args(["build", "-q", "rules", "--mapping", "winlogbeat", "-o"])
        .arg(&out)
        .assert()
        .success();
    let page = std::fs::read_to_string(out.join("rules/sysmon_rundll32_net_connections.md"))
        .expect("rule page");
    assert!(
        page.contains("> The queries use the field names of the `winlogbeat` field mapping."),
        "{page}"
    );
    assert!(
        page.contains("winlog.event_data.Image.keyword:*\\\\rundll32.exe"),
        "{page}"
    );
    assert!(!page.contains(" Image.keyword:"), "{page}");

    // Without a mapping, neither the note nor a mapped name.
    let plain = sigwiki()
        .args(["preview", "rules/sysmon_rundll32_net_connections.yml"])
        .output()
        .expect("run");
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        !plain.contains("field mapping") && !plain.contains("winlog."),
        "{plain}"
    );
}

#[test]
fn the_settings_file_names_a_built_in_mapping_or_a_file_beside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sigwiki.toml");
    let rule = crate_root().join("rules/sysmon_rundll32_net_connections.yml");
    let preview = || {
        let output = sigwiki()
            .arg("preview")
            .arg(&rule)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    std::fs::write(&config, "mapping = \"winlogbeat\"\n").expect("write");
    assert!(preview().contains("winlog.event_data.Image"));

    // A relative path is relative to the settings file.
    std::fs::create_dir(dir.path().join("maps")).expect("mkdir");
    std::fs::write(
        dir.path().join("maps/lab.yml"),
        "name: lab\nfields:\n  Image: process.path\n",
    )
    .expect("write");
    std::fs::write(&config, "mapping = \"maps/lab.yml\"\n").expect("write");
    let page = preview();
    assert!(
        page.contains("process.path.keyword:*\\\\rundll32.exe"),
        "{page}"
    );
    assert!(page.contains("`lab` field mapping"), "{page}");
}

#[test]
fn an_unknown_mapping_is_a_usage_error_that_builds_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("site");
    let output = sigwiki()
        .args(["build", "rules", "--mapping", "no-such-mapping", "-o"])
        .arg(&out)
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no-such-mapping") && stderr.contains("winlogbeat"),
        "{stderr}"
    );
    assert!(!out.exists());
}
