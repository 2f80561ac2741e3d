//! The site in a real browser (issue 5): builds the site of `rules/` for the base path
//! `/sigwiki/`, serves it over HTTP on 127.0.0.1 as GitHub Pages would, and drives headless
//! Chromium through the DevTools protocol: the home page and its search box, the rules table with
//! its filters and full-text search, a rule page with its query tabs and copy button, the header
//! search, the ATT&CK matrix down to a technique and its rule, and the 404 page. No page may log a
//! console error, throw an uncaught exception, or fail to load a resource. A PNG screenshot of
//! every step goes to `<target>/browser-artifacts/` (or `$SIGWIKI_ARTIFACTS_DIR`).
//!
//! Without Chromium (Debian package `chromium`, or `$SIGWIKI_CHROMIUM`) the test prints
//! `skipped: …` and passes, unless `SIGWIKI_REQUIRE_BROWSER=1`.

mod browser_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use browser_support::{Browser, Result, StaticServer, Tab, find_chromium};
use serde_json::{Value, json};

/// The path the site is published under: pages must not assume they sit at the server root.
const BASE: &str = "/sigwiki/";
/// The reference rule.
const RULE_TITLE: &str = "Rundll32 Internet Connection";
const RULE_PAGE: &str = "rules/sysmon_rundll32_net_connections.html";
/// A word only in the reference rule's description (not in the table), so finding the rule by it
/// proves the search reads `rules.json`.
const DESCRIPTION_WORD: &str = "communicates";
/// The whole browser session, from starting Chromium to the last check.
const SESSION_TIMEOUT: Duration = Duration::from_secs(60);

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn artifacts_dir() -> PathBuf {
    match std::env::var_os("SIGWIKI_ARTIFACTS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| crate_root().join("target"))
            .join("browser-artifacts"),
    }
}

fn build_site(out: &Path) {
    let output = Command::new(env!("CARGO_BIN_EXE_sigwiki"))
        .current_dir(crate_root())
        .env("NO_COLOR", "1")
        .args(["build", "-q", "rules", "--base-url", BASE, "-o"])
        .arg(out)
        .output()
        .expect("run sigwiki build");
    assert!(
        output.status.success(),
        "sigwiki build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Removes the screenshots of an earlier run (`NN-step.png`, `failure.png`), and nothing else.
fn remove_old_screenshots(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let numbered = name.len() > 3
            && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
            && name.as_bytes()[2] == b'-';
        if name.ends_with(".png") && (numbered || name == "failure.png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[test]
fn site_works_in_headless_chromium() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("SIGWIKI_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "SIGWIKI_REQUIRE_BROWSER=1 but no chromium was found (install Debian package chromium or set SIGWIKI_CHROMIUM)"
        );
        println!("skipped: no chromium (install Debian package chromium)");
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let site = dir.path().join("site");
    build_site(&site);
    let rules: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(site.join("rules.json")).expect("rules.json"),
    )
    .expect("rules.json is JSON");
    let artifacts = artifacts_dir();
    std::fs::create_dir_all(&artifacts).expect("artifacts folder");
    remove_old_screenshots(&artifacts);
    let server = StaticServer::start(site, BASE);
    let root = format!("http://{}{BASE}", server.address);

    let deadline = Instant::now() + SESSION_TIMEOUT;
    let browser = Browser::launch(&chromium, deadline).unwrap_or_else(|e| panic!("{e}"));
    let tab = Tab::open(&browser.websocket_url, 1280, 900, deadline)
        .unwrap_or_else(|e| panic!("{e}\n--- chromium stderr ---\n{}", browser.log_tail()));
    let mut run = Run {
        tab,
        root,
        rules,
        artifacts: artifacts.clone(),
        screenshots: Vec::new(),
    };
    let result = run.all_steps();
    if result.is_err() {
        let path = artifacts.join("failure.png");
        if run.tab.screenshot(&path).is_ok() {
            run.screenshots.push(path);
        }
    }
    for path in &run.screenshots {
        println!("screenshot: {}", path.display());
    }
    if let Err(error) = result {
        panic!(
            "{error}\n--- chromium stderr (last lines) ---\n{}",
            browser.log_tail()
        );
    }
    println!(
        "browser test passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

/// The state of one browser session.
struct Run {
    tab: Tab,
    /// `http://127.0.0.1:PORT/sigwiki/`.
    root: String,
    /// The built `rules.json`.
    rules: Vec<Value>,
    artifacts: PathBuf,
    screenshots: Vec<PathBuf>,
}

/// JavaScript giving the first-column texts of the visible rows of the rules table.
const VISIBLE_ROWS: &str = "[...document.querySelectorAll('#rules-table tbody tr')].filter(r => !r.hidden).map(r => r.cells[0].querySelector('a').textContent.trim())";

impl Run {
    fn all_steps(&mut self) -> Result<()> {
        self.home_page()?;
        self.search_from_home()?;
        self.rules_table()?;
        self.rule_page()?;
        self.header_search()?;
        self.matrix()?;
        self.not_found_page()?;
        Ok(())
    }

    /// Ends a step: saves its screenshot and fails on any console error, exception or failed
    /// load since the last step.
    fn checkpoint(&mut self, name: &str) -> Result<()> {
        let path = self
            .artifacts
            .join(format!("{:02}-{name}.png", self.screenshots.len() + 1));
        self.tab.screenshot(&path)?;
        self.screenshots.push(path);
        let problems = self.tab.take_problems()?;
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "step '{name}' at {}: the page reported problems:\n  {}",
                self.tab.url().unwrap_or_default(),
                problems.join("\n  ")
            ))
        }
    }

    fn expect_url(&mut self, want: &str) -> Result<()> {
        let url = self.tab.url()?;
        if url == want {
            Ok(())
        } else {
            Err(format!("expected to be at {want}, but the page is {url}"))
        }
    }

    fn visible_rows(&mut self) -> Result<Vec<String>> {
        let rows = self.tab.eval(VISIBLE_ROWS)?;
        Ok(rows
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect())
    }

    /// The page's stylesheet applied (it zeroes the body margin; the browser's default is 8px).
    fn expect_styled(&mut self) -> Result<()> {
        let margin = self
            .tab
            .eval_string("getComputedStyle(document.body).marginTop")?;
        if margin == "0px" {
            Ok(())
        } else {
            Err(format!(
                "the stylesheet is not applied (body margin {margin})"
            ))
        }
    }

    fn home_page(&mut self) -> Result<()> {
        let root = self.root.clone();
        self.tab.navigate(&root)?;
        self.expect_styled()?;
        let heading = self
            .tab
            .eval_string("document.getElementById('home-title').textContent.trim()")?;
        let title = self.tab.eval_string("document.title")?;
        if heading.is_empty() || !title.contains(&heading) {
            return Err(format!(
                "home page: heading {heading:?} and title {title:?}"
            ));
        }
        let count = self
            .tab
            .eval_string("document.getElementById('count-rules').textContent.trim()")?;
        if count != self.rules.len().to_string() {
            return Err(format!(
                "home page counts {count} rules, rules.json has {}",
                self.rules.len()
            ));
        }
        self.checkpoint("home")
    }

    /// Types into the home page's search box and submits: the rules table opens filtered.
    fn search_from_home(&mut self) -> Result<()> {
        self.tab.type_into("#home-search-input", "rundll32")?;
        self.tab.press_enter_to_navigate()?;
        self.expect_url(&format!("{}rules.html?q=rundll32", self.root))?;
        self.tab.wait_until(
            &format!(
                "document.getElementById('filter-q').value === 'rundll32' && {VISIBLE_ROWS}.includes({})",
                json!(RULE_TITLE)
            ),
            "the search results",
        )?;
        let rows = self.visible_rows()?;
        if rows.len() >= self.rules.len() {
            return Err(format!(
                "searching 'rundll32' left all {} rules shown",
                rows.len()
            ));
        }
        let count = self
            .tab
            .eval_string("document.getElementById('rules-count').textContent")?;
        let want = format!(
            "{} rule{}",
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        if count != want {
            return Err(format!("the count says {count:?}, {want:?} are shown"));
        }
        self.checkpoint("home-search-results")
    }

    /// The rules table: every rule, a level filter, reset, and the full-text search (which
    /// finds a rule by a word of its description, from rules.json); then a click opens a rule.
    fn rules_table(&mut self) -> Result<()> {
        let url = format!("{}rules.html", self.root);
        self.tab.navigate(&url)?;
        self.expect_styled()?;
        let total = self.rules.len();
        let rows = self.visible_rows()?;
        if rows.len() != total {
            return Err(format!(
                "the rules table shows {} rows, rules.json has {total}",
                rows.len()
            ));
        }
        let high = self
            .rules
            .iter()
            .filter(|r| r["level"].as_str() == Some("high"))
            .count();
        self.tab.eval(
            "(() => { const s = document.getElementById('filter-level'); s.value = 'high'; s.dispatchEvent(new Event('change', {bubbles: true})); })()",
        )?;
        let shown = self.tab.eval(
            "[...document.querySelectorAll('#rules-table tbody tr')].filter(r => !r.hidden).map(r => r.dataset.level)",
        )?;
        let want: Vec<&str> = vec!["high"; high];
        if shown != json!(want) {
            return Err(format!(
                "level filter 'high': expected {high} high rules, the rows shown have levels {shown}"
            ));
        }
        self.checkpoint("rules-filtered-high")?;
        self.tab.click("#filter-reset")?;
        self.tab.wait_until(
            &format!("{VISIBLE_ROWS}.length === {total} && document.getElementById('filter-level').value === ''"),
            "the reset filters",
        )?;
        self.tab.type_into("#filter-q", DESCRIPTION_WORD)?;
        self.tab.wait_until(
            &format!(
                "JSON.stringify({VISIBLE_ROWS}) === JSON.stringify([{}])",
                json!(RULE_TITLE)
            ),
            "the full-text search to find the rule by its description",
        )?;
        let empty_hidden = self
            .tab
            .eval("document.getElementById('rules-empty').hidden")?;
        if empty_hidden != Value::Bool(true) {
            return Err("the 'no rule matches' note shows next to a result".to_string());
        }
        self.checkpoint("rules-full-text-search")?;
        self.tab.click_to_navigate(&format!(
            "#rules-table tbody tr:not([hidden]) a[href=\"{RULE_PAGE}\"]"
        ))?;
        self.expect_url(&format!("{}{RULE_PAGE}", self.root))
    }

    /// The reference rule page: its title, the Detection Rules section with one tab per query
    /// target, a query in each, and the copy button.
    fn rule_page(&mut self) -> Result<()> {
        self.expect_rule_page()?;
        let tabs = self.tab.eval(
            "[...document.querySelectorAll('.targets .tablist .tab')].map(t => [t.id, t.getAttribute('aria-controls'), t.textContent])",
        )?;
        let tabs: Vec<(String, String, String)> = tabs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t[0].as_str()?.to_string(),
                    t[1].as_str()?.to_string(),
                    t[2].as_str()?.to_string(),
                ))
            })
            .collect();
        if tabs.len() < 2 {
            return Err(format!("expected a tab per query target, found {tabs:?}"));
        }
        let visible_sections = "[...document.querySelectorAll('.targets section.target')].filter(s => !s.hidden && s.getBoundingClientRect().height > 0).map(s => s.id)";
        for (tab_id, section, label) in &tabs {
            self.tab.click(&format!("#{tab_id}"))?;
            let shown = self.tab.eval(visible_sections)?;
            if shown != json!([section]) {
                return Err(format!(
                    "after clicking the tab {label:?} the visible sections are {shown}"
                ));
            }
            let code = self.tab.eval_string(&format!(
                "document.querySelector('#{section} pre code').textContent"
            ))?;
            if !code.to_lowercase().contains("rundll32") {
                return Err(format!("the {label} tab shows no rundll32 query: {code:?}"));
            }
        }
        // Back to a query target (not the Sigma source) for the screenshot and the copy button.
        let (tab_id, section, _) = &tabs[1];
        self.tab.click(&format!("#{tab_id}"))?;
        self.tab.click(&format!("#{section} button.copy"))?;
        self.tab.wait_until(
            &format!("document.querySelector('#{section} button.copy').textContent === 'Copied'"),
            "the copy button to confirm",
        )?;
        self.checkpoint("rule-page")
    }

    fn expect_rule_page(&mut self) -> Result<()> {
        self.expect_url(&format!("{}{RULE_PAGE}", self.root))?;
        self.expect_styled()?;
        let heading = self
            .tab
            .eval_string("document.getElementById('rule-title').textContent")?;
        let title = self.tab.eval_string("document.title")?;
        if heading != RULE_TITLE || !title.starts_with(RULE_TITLE) {
            return Err(format!(
                "rule page: heading {heading:?}, title {title:?}, expected {RULE_TITLE:?}"
            ));
        }
        let detection = self.tab.eval(
            "(() => { const h = document.getElementById('detection-rules'); return !!h && h.getBoundingClientRect().height > 0; })()",
        )?;
        if detection != Value::Bool(true) {
            return Err("rule page: no visible Detection Rules section".to_string());
        }
        Ok(())
    }

    /// The header search box of a page one folder down submits to the rules table.
    fn header_search(&mut self) -> Result<()> {
        self.tab.type_into("#site-search-input", "public ip")?;
        self.tab.press_enter_to_navigate()?;
        self.expect_url(&format!("{}rules.html?q=public+ip", self.root))?;
        self.tab.wait_until(
            &format!("{VISIBLE_ROWS}.includes({})", json!(RULE_TITLE)),
            "the header search results",
        )?;
        let rows = self.visible_rows()?;
        if rows.len() >= self.rules.len() {
            return Err("searching 'public ip' left every rule shown".to_string());
        }
        self.checkpoint("header-search-results")
    }

    /// The coverage matrix: a covered cell opens its technique page listing rules; the reference
    /// rule's sub-technique, inside its technique's cell, leads to the technique page and on to
    /// the rule.
    fn matrix(&mut self) -> Result<()> {
        let url = format!("{}coverage.html", self.root);
        self.tab.navigate(&url)?;
        self.expect_styled()?;
        let columns = self
            .tab
            .eval_number("document.querySelectorAll('#matrix .matrix-column').length")?;
        let covered = self.tab.eval_number(
            "[...document.querySelectorAll('#matrix .cell')].filter(c => Number(c.dataset.count) > 0).length",
        )?;
        if columns < 10.0 || covered < 1.0 {
            return Err(format!(
                "the matrix has {columns} tactic columns and {covered} covered cells"
            ));
        }
        self.checkpoint("matrix")?;

        // A covered technique without sub-techniques: its cell is a plain link.
        let technique = self.tab.eval_string(
            "document.querySelector('#matrix .cell > a').parentNode.dataset.technique",
        )?;
        self.tab.click_to_navigate("#matrix .cell > a")?;
        self.expect_url(&format!("{}techniques/{technique}.html", self.root))?;
        let listed = self
            .tab
            .eval_number("document.querySelectorAll('#page-body a[href^=\"../rules/\"]').length")?;
        if listed < 1.0 {
            return Err(format!("the page of {technique} lists no rule"));
        }
        self.checkpoint("matrix-cell-technique")?;

        // The reference rule's sub-technique: open its technique's cell, follow it.
        let rule = self
            .rules
            .iter()
            .find(|r| r["html"].as_str() == Some(RULE_PAGE))
            .ok_or("the reference rule is not in rules.json")?;
        let sub = rule["techniques"][0]
            .as_str()
            .ok_or("the reference rule has no technique")?
            .to_string();
        let parent = sub.split('.').next().unwrap_or_default().to_string();
        self.tab.navigate(&url)?;
        let cell = format!("#matrix .cell[data-technique=\"{parent}\"]");
        self.tab
            .click(&format!("{cell} > details > summary > .n"))?;
        self.tab.wait_until(
            &format!("document.querySelector('{cell} > details').open"),
            "the cell to open",
        )?;
        let link = format!("{cell} li[data-technique=\"{sub}\"] > a");
        self.tab.eval(&format!(
            "document.querySelector('{link}').scrollIntoView({{block: 'center', inline: 'center'}})"
        ))?;
        // Every count sits inside its own row of the matrix (a float escaping its box overlaps
        // the next row).
        let escaped = self.tab.eval(
            "[...document.querySelectorAll('#matrix .n')].filter(n => {
               const box = n.getBoundingClientRect();
               if (box.width === 0 || !n.checkVisibility()) return false;
               const row = n.closest('li') || n.closest('.cell');
               const outer = row.getBoundingClientRect();
               return box.top < outer.top - 0.5 || box.bottom > outer.bottom + 0.5;
             }).map(n => (n.closest('li') || n.closest('.cell')).dataset.technique)",
        )?;
        if escaped != json!([]) {
            return Err(format!(
                "the counts of these matrix rows are drawn outside them: {escaped}"
            ));
        }
        self.checkpoint("matrix-cell-open")?;
        self.tab.click_to_navigate(&link)?;
        self.expect_url(&format!("{}techniques/{sub}.html", self.root))?;
        let rule_link = format!("#page-body a[href=\"../{RULE_PAGE}\"]");
        self.checkpoint("matrix-subtechnique")?;
        self.tab.click_to_navigate(&rule_link)?;
        self.expect_rule_page()?;
        self.checkpoint("rule-from-matrix")
    }

    /// An unknown address gets the site's 404 page, styled and linking into the site, although
    /// it is served from another folder depth (it uses the base path).
    fn not_found_page(&mut self) -> Result<()> {
        let url = format!("{}no/such/page.html", self.root);
        self.tab.expect_error_status_of(Some(&url));
        self.tab.navigate(&url)?;
        self.expect_styled()?;
        let heading = self.tab.eval_string(
            "(document.getElementById('not-found-title') || {textContent: ''}).textContent",
        )?;
        if heading != "Page not found" {
            return Err(format!("the 404 page's heading is {heading:?}"));
        }
        let link = self
            .tab
            .eval_string("document.querySelector('#not-found-text a').href")?;
        if link != format!("{}rules.html", self.root) {
            return Err(format!("the 404 page links to {link}"));
        }
        let result = self.checkpoint("not-found");
        self.tab.expect_error_status_of(None);
        result
    }
}
