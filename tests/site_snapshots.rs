//! Snapshots of the Markdown and HTML pages of the reference rule and of a correlation rule,
//! built with the hand-made test catalog (so the ATT&CK, Data Needed and Trigger cells are
//! filled) and no query target.

mod site_common;

use sigwiki::site::{self, BuildOptions, Output, Templates};
use site_common::{TestCatalog, crate_root, fixtures};

fn built() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = BuildOptions::new(vec![
        crate_root().join("rules/sysmon_rundll32_net_connections.yml"),
        fixtures().join("rules"),
    ]);
    let templates = Templates::load(None).expect("templates");
    site::build(
        &options,
        &templates,
        &TestCatalog::new(),
        Output::disk(&dir.path().join("site")).expect("output"),
    )
    .expect("build");
    dir
}

fn page(dir: &tempfile::TempDir, path: &str) -> String {
    std::fs::read_to_string(dir.path().join("site").join(path)).expect("page")
}

#[test]
fn reference_rule_pages() {
    let dir = built();
    insta::assert_snapshot!(
        "reference_md",
        page(&dir, "rules/sysmon_rundll32_net_connections.md")
    );
    insta::assert_snapshot!(
        "reference_html",
        page(&dir, "rules/sysmon_rundll32_net_connections.html")
    );
}

#[test]
fn correlation_rule_pages() {
    let dir = built();
    insta::assert_snapshot!(
        "correlation_md",
        page(&dir, "rules/windows/failed_logon_burst.md")
    );
    insta::assert_snapshot!(
        "correlation_html",
        page(&dir, "rules/windows/failed_logon_burst.html")
    );
}
