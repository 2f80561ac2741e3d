//! The incremental build of `sigwiki serve` gives the bytes of a whole build: a series of edits
//! (a changed title, a new rule, a deleted rule, a broken rule and its fix, a new correlation, a
//! changed filter, regression data appearing, a template change…) goes through the incremental
//! path, and after each one every file of the served site is compared with a whole in-memory
//! build of the same tree.

mod site_common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sigwiki::site::cache::{Delta, SiteCache, UpdateReport};
use sigwiki::site::serve::Served;
use sigwiki::site::{self, BuildOptions, Output, QueryTarget, Templates};
use site_common::{TestCatalog, crate_root, fixtures};

/// A rule tree in a temporary folder, edited step by step.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Modification times are set by hand, each later than the one before: a file system's
    /// clock may not tick between two quick writes of the same length.
    clock: SystemTime,
    /// Paths written or removed since the last update, as change events name them.
    touched: Vec<PathBuf>,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().to_path_buf();
        copy_tree(&crate_root().join("rules"), &root.join("rules"));
        copy_tree(&fixtures().join("rules"), &root.join("fixtures"));
        Tree {
            _dir: dir,
            root,
            clock: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            touched: Vec::new(),
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    fn write(&mut self, relative: &str, text: &str) {
        let path = self.path(relative);
        let parent = path.parent().expect("parent");
        if !parent.exists() {
            self.touched.push(parent.to_path_buf());
        }
        std::fs::create_dir_all(parent).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        self.touched.push(path.clone());
        self.clock += Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(self.clock))
            .expect("set mtime");
    }

    fn edit(&mut self, relative: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path(relative)).expect("read");
        assert!(text.contains(from), "{relative} has no `{from}`");
        self.write(relative, &text.replacen(from, to, 1));
    }

    fn remove(&mut self, relative: &str) {
        std::fs::remove_file(self.path(relative)).expect("remove");
        self.touched.push(self.path(relative));
    }

    fn options(&self) -> BuildOptions {
        let mut options = BuildOptions::new(vec![self.path("rules"), self.path("fixtures")]);
        options.targets = QueryTarget::every();
        options.site_url = Some("https://rules.example.org/".to_string());
        options.live_reload = true;
        options
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Two served sites: one whose cache finds the changes itself (walking the inputs), one that
/// is told the changed paths, as `serve` tells it.
struct Session {
    cache: SiteCache,
    served: Served,
    told: SiteCache,
    told_served: Served,
    templates_dir: Option<PathBuf>,
    templates: Templates,
    catalog: TestCatalog,
}

impl Session {
    fn new() -> Session {
        Session {
            cache: SiteCache::new(),
            served: Served::default(),
            told: SiteCache::new(),
            told_served: Served::default(),
            templates_dir: None,
            templates: Templates::load(None).expect("templates"),
            catalog: TestCatalog::new(),
        }
    }

    /// Runs an incremental update of both sites; returns the report of the one that walks,
    /// how many files it changed, and the report of the one told the paths.
    fn update(&mut self, tree: &mut Tree) -> (UpdateReport, usize, UpdateReport) {
        let options = tree.options();
        let served = &mut self.served;
        let mut changed = 0;
        let mut publish = |delta: Delta| {
            let before = served.version;
            served.publish(delta);
            changed += served.changed.values().filter(|v| **v > before).count();
        };
        let report = self
            .cache
            .update(&options, &self.templates, &self.catalog, &mut publish)
            .expect("update");
        let touched = std::mem::take(&mut tree.touched);
        self.told.changed(&touched);
        let served = &mut self.told_served;
        let mut publish = |delta: Delta| served.publish(delta);
        let told = self
            .told
            .update(&options, &self.templates, &self.catalog, &mut publish)
            .expect("update");
        (report, changed, told)
    }

    /// Reloads the templates, as `serve` does when the templates folder changes.
    fn reload_templates(&mut self) {
        self.templates = Templates::load(self.templates_dir.as_deref()).expect("templates");
        self.cache.invalidate_pages();
        self.told.invalidate_pages();
    }

    /// Compares the served site with a whole build of `tree`.
    fn check(&self, tree: &Tree, step: &str) {
        let options = tree.options();
        let whole = site::build(&options, &self.templates, &self.catalog, Output::memory())
            .expect("whole build");
        assert_same(&whole.files, &self.served.files, step);
        assert_same(
            &whole.files,
            &self.told_served.files,
            &format!("{step}, told the changed paths"),
        );
    }
}

fn assert_same(whole: &BTreeMap<String, Vec<u8>>, served: &BTreeMap<String, Vec<u8>>, step: &str) {
    let missing: Vec<&String> = whole.keys().filter(|k| !served.contains_key(*k)).collect();
    let extra: Vec<&String> = served.keys().filter(|k| !whole.contains_key(*k)).collect();
    let differ: Vec<&String> = whole
        .iter()
        .filter(|(k, v)| served.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k)
        .collect();
    if missing.is_empty() && extra.is_empty() && differ.is_empty() {
        return;
    }
    let first = differ.first().map(|path| {
        let a = String::from_utf8_lossy(&whole[*path]);
        let b = String::from_utf8_lossy(&served[*path]);
        let line = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(0);
        format!(
            "{path} line {}:\n  whole:  {}\n  served: {}",
            line + 1,
            a.lines().nth(line).unwrap_or(""),
            b.lines().nth(line).unwrap_or("")
        )
    });
    panic!(
        "after {step}: the served site differs from a whole build\n missing: {missing:?}\n extra: {extra:?}\n differ: {differ:?}\n{}",
        first.unwrap_or_default()
    );
}

const NEW_RULE: &str = "title: Scheduled Task Created From Temp
id: 0f6d3c52-8a47-4d8e-9c15-3b2a1e9f7d64
name: schtasks_from_temp
status: experimental
description: A scheduled task is created for a binary in a temporary folder.
author: Carol Example
date: 2025-01-02
tags:
    - attack.persistence
    - attack.t1053.005
logsource:
    category: process_creation
    product: windows
detection:
    selection:
        Image|endswith: '\\schtasks.exe'
        CommandLine|contains: '\\Temp\\'
    condition: selection
level: high
";

const CORRELATION: &str = "title: Many Scheduled Tasks From Temp
id: 6a0b9f14-52de-4c71-8e3a-f1d2c3b4a596
status: experimental
description: Five scheduled tasks from temporary folders on one host within ten minutes.
author: Carol Example
date: 2025-01-03
correlation:
    type: event_count
    rules:
        - schtasks_from_temp
    group-by:
        - ComputerName
    timespan: 10m
    condition:
        gte: 5
level: critical
";

const TESTED_RULE: &str = "title: Tested Failed Logon
id: 3e5f0a1b-9c8d-4e7f-a6b5-c4d3e2f1a0b9
status: test
description: A failed logon, with a regression test.
date: 2025-02-01
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
regression_tests_path: sigwiki_incremental_data/tested/info.yml
";

#[test]
fn incremental_updates_give_the_bytes_of_a_whole_build() {
    let mut tree = Tree::new();
    tree.write("rules/windows/tested.yml", TESTED_RULE);
    let mut session = Session::new();

    let (first, _, _) = session.update(&mut tree);
    assert!(first.rule_pages > 20, "{first:?}");
    session.check(&tree, "the first build");

    // Nothing changed: nothing is parsed, converted or rendered.
    let (report, changed, told) = session.update(&mut tree);
    assert_eq!(
        (report.parsed, report.converted, report.rendered, changed),
        (0, 0, 0, 0),
        "{report:?}"
    );
    assert_eq!((told.walked, told.parsed), (false, 0), "{told:?}");
    session.check(&tree, "an update without changes");

    let logon = "rules/windows/builtin/security/win_security_logon_failure_wrong_password.yml";
    let text = std::fs::read_to_string(tree.path(logon)).expect("read");
    let title = text
        .lines()
        .find_map(|l| l.strip_prefix("title: "))
        .expect("title")
        .to_string();
    tree.edit(
        logon,
        &format!("title: {title}"),
        "title: Wrong Password, Renamed",
    );
    let (report, _, told) = session.update(&mut tree);
    assert_eq!(report.parsed, 1, "{report:?}");
    assert!(report.rendered < first.rendered, "{report:?}");
    // Told the one changed file, the cache reads just that one.
    assert_eq!((told.walked, told.parsed), (false, 1), "{told:?}");
    session.check(&tree, "a changed title (a rule a correlation uses)");

    // A newer change waiting: the index pages are left to the next update, which renders
    // them.
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    session
        .cache
        .interrupt_with(waiting.clone(), std::time::Duration::ZERO);
    tree.edit(
        logon,
        "title: Wrong Password, Renamed",
        "title: Wrong Password, Interrupted",
    );
    let (report, _, _) = session.update(&mut tree);
    assert!(report.interrupted, "{report:?}");
    waiting.store(false, std::sync::atomic::Ordering::SeqCst);
    let (report, _, _) = session.update(&mut tree);
    assert!(!report.interrupted && report.rendered > 0, "{report:?}");
    session.check(&tree, "an update after an interrupted one");
    tree.edit(
        logon,
        "title: Wrong Password, Interrupted",
        "title: Wrong Password, Renamed",
    );
    session.update(&mut tree);

    // Titles other pages show: of a correlation (on the pages of the rules it uses) and of a
    // rule another one names in `related`.
    tree.edit(
        "rules/windows/builtin/security/win_security_password_spray_correlation.yml",
        "title: Password Spraying From One Source Address",
        "title: Password Spraying, Renamed",
    );
    session.update(&mut tree);
    session.check(&tree, "a changed correlation title");
    tree.edit(
        "fixtures/windows/failed_logon.yml",
        "title: Failed Logon",
        "title: Failed Logon (related)",
    );
    session.update(&mut tree);
    session.check(&tree, "a changed title of a related rule");

    // A detection change: new queries, for the rule and the correlation that uses it.
    tree.edit(
        logon,
        "detection:",
        "detection:\n    extra:\n        LogonType: 3",
    );
    tree.edit(logon, "condition: ", "condition: extra and ");
    session.update(&mut tree);
    session.check(&tree, "a changed detection");

    tree.write(
        "rules/windows/process_creation/schtasks_from_temp.yml",
        NEW_RULE,
    );
    let (_, _, told) = session.update(&mut tree);
    // A new file may or may not be a rule file the walk takes: the inputs are walked.
    assert!(told.walked, "{told:?}");
    session.check(&tree, "a new rule with a new tag, author and technique");

    tree.write("rules/windows/schtasks_burst.yml", CORRELATION);
    session.update(&mut tree);
    session.check(&tree, "a new correlation referencing the new rule");

    tree.remove("rules/windows/process_creation/schtasks_from_temp.yml");
    session.update(&mut tree);
    session.check(&tree, "the deleted rule a correlation used");

    tree.write(
        "rules/windows/process_creation/schtasks_from_temp.yml",
        NEW_RULE,
    );
    session.update(&mut tree);
    session.check(&tree, "the rule back");

    let nltest =
        "rules/windows/process_creation/proc_creation_win_nltest_domain_trust_discovery.yml";
    tree.edit(nltest, "detection:", "detection: [");
    let (report, _, _) = session.update(&mut tree);
    assert!(report.failed >= 1, "{report:?}");
    session.check(&tree, "a broken rule");

    tree.edit(nltest, "detection: [", "detection:");
    session.update(&mut tree);
    session.check(&tree, "the broken rule fixed");

    let filter = "rules/windows/filters/mf_shadow_copy_deletion_backup_agent.yml";
    tree.edit(filter, "Veeam.EndPoint.Service.exe", "BackupAgent.exe");
    session.update(&mut tree);
    session.check(&tree, "a changed filter");

    tree.edit(
        filter,
        "        - win_shadow_copy_deletion",
        "        - win_shadow_copy_deletion\n        - schtasks_from_temp",
    );
    session.update(&mut tree);
    session.check(&tree, "a filter tuning one more rule");

    // A second rule with the id of the new one: both get a duplicate-id diagnostic.
    tree.write(
        "fixtures/windows/duplicate.yml",
        &NEW_RULE.replace("name: schtasks_from_temp\n", "").replace(
            "title: Scheduled Task Created From Temp",
            "title: Duplicate Of The Scheduled Task Rule",
        ),
    );
    session.update(&mut tree);
    session.check(&tree, "a rule with a duplicate id");

    tree.remove("fixtures/windows/duplicate.yml");
    session.update(&mut tree);
    session.check(&tree, "the duplicate gone");

    // A new author whose page takes the slug of an existing author's page: every page
    // linking to that author now links elsewhere.
    tree.write(
        "fixtures/windows/slug.yml",
        &NEW_RULE
            .replace("name: schtasks_from_temp\n", "")
            .replace(
                "0f6d3c52-8a47-4d8e-9c15-3b2a1e9f7d64",
                "1a2b3c4d-5e6f-4a0b-8c1d-2e3f4a5b6c7d",
            )
            .replace("author: Carol Example", "author: sigwiki  contributors"),
    );
    session.update(&mut tree);
    session.check(&tree, "an author page slug moving");

    // The renamed rule's redirect stub goes with its `related` entry.
    tree.edit(
        "fixtures/windows/renamed_rule.yml",
        "      type: renamed",
        "      type: similar",
    );
    session.update(&mut tree);
    session.check(&tree, "a redirect gone");

    // Regression data appears: `serve` invalidates the results when a file that is no rule
    // changes.
    tree.write(
        "sigwiki_incremental_data/tested/info.yml",
        "regression_tests_info:\n    - name: Positive Detection Test\n      path: sigwiki_incremental_data/tested/events.json\n      match_count: 1\n",
    );
    tree.write(
        "sigwiki_incremental_data/tested/events.json",
        "{\"EventID\": 4625, \"Channel\": \"Security\"}\n",
    );
    session.cache.invalidate_regression();
    session.told.invalidate_regression();
    session.update(&mut tree);
    session.check(&tree, "regression data added");

    // A template change renders everything again.
    let templates = tree.path("templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    let list = std::fs::read_to_string(crate_root().join("templates/list.md"))
        .expect("list.md")
        .replacen("# ", "# Index: ", 1);
    std::fs::write(templates.join("list.md"), list).expect("write");
    session.templates_dir = Some(templates);
    session.reload_templates();
    session.update(&mut tree);
    session.check(&tree, "a template change");

    tree.edit(
        logon,
        "title: Wrong Password, Renamed",
        "title: Wrong Password Again",
    );
    session.update(&mut tree);
    session.check(&tree, "a title change after the template change");
}
