//! The hostile suite: every rule is untrusted input. `tests/hostile/` holds hostile or broken
//! rule files (script injection in every field, Markdown table breakers, `javascript:` links,
//! path-like ids, alias bombs, deep nesting, bad encodings…); the inputs that cannot live in git
//! (a 10 MB file, a non-UTF-8 file name, symbolic link loops, a FIFO…) are generated here in a
//! temporary folder. The whole set is built as one site and every case is checked against its
//! lines in `tests/hostile/EXPECTATIONS`: the exact diagnostic (code and line), or the escaped
//! rendering in the built Markdown, HTML, JSON or CSV. A scan of every generated HTML page then
//! fails on any live markup coming from a rule (see [`scan_html`]).

mod common;
mod html_scan;
mod site_common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use html_scan::scan_html;
use sigwiki::sigma::Diagnostic;
use sigwiki::site::build::page_path;
use sigwiki::site::{self, BuildOptions, Output, Templates};
use site_common::{TestCatalog, crate_root};

/// The marker every injection payload carries.
const MARKER: &str = "sigwiki-xss";

fn hostile_dir() -> PathBuf {
    crate_root().join("tests/hostile")
}

/// A valid rule, for the generated cases that need one; its id is made from its title.
fn valid_rule(title: &str) -> String {
    let hash = title.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let id = format!("0b7c2f0e-1d3a-4c5b-8e9f-{:012x}", hash & 0xffff_ffff_ffff);
    format!(
        "title: {title}\nid: {id}\nstatus: test\ndescription: generated\n\
         author: sigwiki hostile suite\ndate: 2024-01-01\nlogsource:\n    category: process_creation\n    \
         product: windows\ndetection:\n    selection:\n        Image: x\n    condition: selection\nlevel: low\n"
    )
}

/// The generated cases, by the name their expectations use. Each is created in `input`.
fn generate(input: &Path, outside: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut add = |name: &str| names.push(name.to_string());
    // 10 MB of valid YAML comments: refused by size before it is parsed.
    let big = "# padding padding padding padding padding padding padding padding padding pad\n"
        .repeat(10 * 1024 * 1024 / 80 + 1);
    std::fs::write(input.join("gen_10mb.yml"), big).expect("write");
    add("gen_10mb.yml");
    // A file name with markup in it: the page path is made safe, the name shown escaped.
    let markup_name = "gen_<img src=x onerror=alert(\"sigwiki-xss\")>.yml";
    std::fs::write(
        input.join(markup_name),
        valid_rule("markup in the file name"),
    )
    .expect("write");
    add(markup_name);
    // Two files whose pages would collide on a case-insensitive file system.
    std::fs::write(input.join("gen_Collide.yml"), valid_rule("collide upper")).expect("write");
    std::fs::write(input.join("gen_collide.yml"), valid_rule("collide lower")).expect("write");
    add("gen_Collide.yml");
    add("gen_collide.yml");
    // A hidden file: its page name loses the leading dot.
    std::fs::write(input.join(".gen_hidden.yml"), valid_rule("hidden file")).expect("write");
    add(".gen_hidden.yml");
    // A rule inside a folder whose name needs escaping.
    let folder = input.join("gen dir <b>");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::fs::write(folder.join("inner.yml"), valid_rule("in an odd folder")).expect("write");
    add("gen dir <b>/inner.yml");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::fs::symlink;
        // A file name that is not UTF-8.
        let name = std::ffi::OsStr::from_bytes(b"gen_invalid_\xff_name.yml");
        std::fs::write(input.join(name), valid_rule("bad name")).expect("write");
        add("gen_invalid_\u{fffd}_name.yml");
        // A folder linking to its parent: a loop.
        std::fs::create_dir_all(input.join("gen_loop")).expect("mkdir");
        symlink("..", input.join("gen_loop/up")).expect("symlink");
        add("gen_loop/up");
        // A link to a rule outside the input folder.
        symlink(outside.join("secret.yml"), input.join("gen_outside.yml")).expect("symlink");
        add("gen_outside.yml");
        // A link to a folder outside the input folder.
        symlink(outside, input.join("gen_outside_dir")).expect("symlink");
        add("gen_outside_dir");
        // A link to nothing.
        symlink(input.join("no-such-file.yml"), input.join("gen_broken.yml")).expect("symlink");
        add("gen_broken.yml");
        // A link to a rule inside the input: followed.
        symlink(
            input.join("title_script.yml"),
            input.join("gen_inside_link.yml"),
        )
        .expect("link");
        add("gen_inside_link.yml");
        // A FIFO named like a rule: reading it would block forever.
        let fifo = input.join("gen_fifo.yml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            add("gen_fifo.yml");
        }
    }
    names
}

/// One line of `EXPECTATIONS`.
#[derive(Debug)]
struct Expectation {
    line: usize,
    case: String,
    kind: String,
    needle: String,
}

fn expectations() -> Vec<Expectation> {
    let text = std::fs::read_to_string(hostile_dir().join("EXPECTATIONS")).expect("EXPECTATIONS");
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // `case<TAB>kind<TAB>needle`: tabs, because cases and needles hold spaces.
        let mut fields = line.splitn(3, '\t');
        let case = fields.next().unwrap_or_default().to_string();
        let kind = fields.next().unwrap_or_default().to_string();
        let needle = fields.next().unwrap_or_default().to_string();
        assert!(
            !case.is_empty() && !kind.is_empty(),
            "EXPECTATIONS line {}: expected `case<TAB>kind<TAB>needle`",
            i + 1
        );
        out.push(Expectation {
            line: i + 1,
            case,
            kind,
            needle,
        });
    }
    out
}

/// The hostile files kept in git.
fn stored_cases() -> Vec<String> {
    let mut cases: Vec<String> = std::fs::read_dir(hostile_dir())
        .expect("tests/hostile")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    cases.sort();
    cases
}

struct Built {
    /// Holds `input`, `outside` and `site`.
    root: tempfile::TempDir,
    out: PathBuf,
    generated: Vec<String>,
    diagnostics: Vec<Diagnostic>,
}

/// Builds the site of every hostile input, stored and generated, with every query target.
fn build() -> Built {
    let root = tempfile::tempdir().expect("tempdir");
    let input = root.path().join("input");
    let outside = root.path().join("outside");
    std::fs::create_dir_all(&input).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    std::fs::write(
        outside.join("secret.yml"),
        valid_rule("sigwiki-outside-secret"),
    )
    .expect("w");
    for case in stored_cases() {
        std::fs::copy(hostile_dir().join(&case), input.join(&case)).expect("copy");
    }
    let generated = generate(&input, &outside);
    let out = root.path().join("site");
    let mut options = BuildOptions::new(vec![input.clone()]);
    options.targets = sigwiki::site::QueryTarget::every();
    options.site_url = Some("https://example.org/".to_string());
    let templates = Templates::load(None).expect("templates");
    let report = site::build(
        &options,
        &templates,
        &TestCatalog::new(),
        Output::disk(&out).expect("output"),
    )
    .expect("the build succeeds: bad rules are reported, not fatal");
    // The 10 MB input is not needed any more.
    let _ = std::fs::remove_file(input.join("gen_10mb.yml"));
    Built {
        root,
        out,
        generated,
        diagnostics: report.diagnostics,
    }
}

/// Whether diagnostic `d` is about `case` (a path relative to the input folder).
fn is_about(d: &Diagnostic, case: &str) -> bool {
    let file = d.file.to_string_lossy().replace('\\', "/");
    file.ends_with(&format!("/{case}"))
}

fn read_lossy(path: &Path) -> Option<String> {
    std::fs::read(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Checks one expectation; `Err` says what differs.
fn check(built: &Built, e: &Expectation) -> Result<(), String> {
    let page = page_path(Path::new(&e.case));
    let (negated, kind) = match e.kind.strip_prefix('!') {
        Some(k) => (true, k),
        None => (false, e.kind.as_str()),
    };
    let mine: Vec<&Diagnostic> = built
        .diagnostics
        .iter()
        .filter(|d| is_about(d, &e.case))
        .collect();
    let file = match kind {
        "diag" => {
            // `severity[code]:line`, and optionally ` ~ text` the message must contain.
            let (head, text) = match e.needle.split_once(" ~ ") {
                Some((h, t)) => (h, Some(t)),
                None => (e.needle.as_str(), None),
            };
            let found = mine.iter().any(|d| {
                format!("{}[{}]:{}", d.severity, d.code, d.line) == head
                    && text.is_none_or(|t| d.message.contains(t))
            });
            return if found != negated {
                Ok(())
            } else {
                Err(format!(
                    "diagnostic `{}` {}; the case has: {:#?}",
                    e.needle,
                    if negated { "present" } else { "missing" },
                    mine.iter().map(|d| d.to_string()).collect::<Vec<_>>()
                ))
            };
        }
        "errors" => {
            let errors: Vec<String> = mine
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            let count: usize = e.needle.parse().map_err(|_| "errors needs a count")?;
            return if errors.len() == count {
                Ok(())
            } else {
                Err(format!(
                    "{} errors, expected {count}: {errors:#?}",
                    errors.len()
                ))
            };
        }
        "page" => {
            let exists = built.out.join(format!("{page}.html")).is_file()
                && built.out.join(format!("{page}.md")).is_file();
            return if exists != negated {
                Ok(())
            } else {
                Err(format!("page {page}: exists is {exists}"))
            };
        }
        "md" => format!("{page}.md"),
        "html" => format!("{page}.html"),
        "json" => "rules.json".to_string(),
        "csv" => "analytics.csv".to_string(),
        "errors.html" => "errors.html".to_string(),
        other => match other.strip_prefix("file:") {
            Some(path) => path.to_string(),
            None => return Err(format!("unknown kind `{other}`")),
        },
    };
    let text = read_lossy(&built.out.join(&file)).ok_or_else(|| format!("{file} missing"))?;
    if text.contains(&e.needle) != negated {
        Ok(())
    } else {
        Err(format!(
            "{file} {} `{}`",
            if negated { "contains" } else { "lacks" },
            e.needle
        ))
    }
}

#[test]
fn every_hostile_case_has_its_exact_outcome() {
    let built = build();
    let expectations = expectations();
    let mut failures = Vec::new();
    for e in &expectations {
        if let Err(why) = check(&built, e) {
            failures.push(format!("EXPECTATIONS:{} {}: {why}", e.line, e.case));
        }
    }
    // Every case, stored or generated, is pinned by at least one expectation.
    let pinned: BTreeSet<&str> = expectations.iter().map(|e| e.case.as_str()).collect();
    let cases: Vec<String> = stored_cases()
        .into_iter()
        .chain(built.generated.clone())
        .collect();
    for case in &cases {
        if !pinned.contains(case.as_str()) {
            let diagnostics: Vec<String> = built
                .diagnostics
                .iter()
                .filter(|d| is_about(d, case))
                .map(|d| format!("{}[{}]:{} {}", d.severity, d.code, d.line, d.message))
                .collect();
            failures.push(format!(
                "{case}: no line in EXPECTATIONS; its diagnostics: {diagnostics:#?}"
            ));
        }
    }
    for case in &pinned {
        if !cases.iter().any(|c| c == case) {
            failures.push(format!("EXPECTATIONS names `{case}`, which is not a case"));
        }
    }
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} expectations failed:\n{}",
        failures.len(),
        expectations.len(),
        failures.join("\n")
    );
}

#[test]
fn every_message_names_its_file_and_a_line() {
    let built = build();
    for d in &built.diagnostics {
        assert!(
            d.file.starts_with(built.root.path().join("input")),
            "names its file: {d}"
        );
        assert!(d.line >= 1 && d.column >= 1, "has a position: {d}");
    }
}

#[test]
fn nothing_is_written_outside_the_output_folder() {
    let built = build();
    // The build's temporary folders are gone, and nothing else appeared beside the site.
    let mut beside: Vec<String> = std::fs::read_dir(built.root.path())
        .expect("read")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    beside.sort();
    assert_eq!(beside, ["input", "outside", "site"]);
    let outside: Vec<_> = std::fs::read_dir(built.root.path().join("outside"))
        .expect("read")
        .collect();
    assert_eq!(outside.len(), 1, "only the secret rule is outside");
    // Path-like ids, names and related ids never became paths.
    for evil in [
        "sigwiki-evil-id",
        "sigwiki-evil-abs",
        "sigwiki-evil-related",
    ] {
        assert!(!std::env::temp_dir().join(evil).exists(), "{evil}");
    }
    for file in common::files_under(&built.out) {
        let relative = file.strip_prefix(&built.out).expect("inside");
        let name = relative.to_string_lossy();
        assert!(
            !name.contains("evil-id") && !name.contains("evil-abs") && !name.contains("evil-name"),
            "an id or name became a path: {name}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)),
            "unsafe file name: {name}"
        );
        // The rule outside the input folder was not read.
        let text = read_lossy(&file).unwrap_or_default();
        assert!(!text.contains("sigwiki-outside-secret"), "{name}");
    }
}

#[test]
fn the_scanner_finds_live_markup() {
    let live = [
        "<p><script>alert(\"sigwiki-xss\")</script></p>",
        "<img src=x onerror=alert(\"sigwiki-xss\")>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\" JaVa&#x53;cript:alert(1)\">x</a>",
        "<a href='data:text/html,x'>x</a>",
        "<a rel=\"icon\" href=\"data:image/svg+xml,x\">x</a>",
        "<link rel=\"stylesheet\" href=\"data:image/svg+xml,x\">",
        "<div onclick=\"x\">y</div>",
        "<iframe src=\"https://example.org\"></iframe>",
        "<meta http-equiv=\"refresh\" content=\"0; url=javascript:alert(1)\">",
    ];
    for html in live {
        assert!(!scan_html(html, MARKER).is_empty(), "missed: {html}");
    }
    let escaped = [
        "<p>&lt;script&gt;alert(\"sigwiki-xss\")&lt;/script&gt;</p>",
        "<td>&lt;img src=x onerror=alert(\"sigwiki-xss\")&gt;</td>",
        "<li>javascript:alert(\"sigwiki-xss\")</li>",
        "<a href=\"https://example.org/a%22onmouseover=%22x\">https://example.org/a\"onmouseover=\"x</a>",
        "<a href=\"../rules/x.html#frag\">x</a>",
        "<pre><code>if a < b then</code></pre>",
        "<link rel=\"icon\" href=\"data:image/svg+xml,%3Csvg%3E\">",
    ];
    for html in escaped {
        assert_eq!(scan_html(html, MARKER), Vec::<String>::new(), "{html}");
    }
}

#[test]
fn no_html_page_carries_live_rule_markup() {
    let built = build();
    let mut problems = Vec::new();
    let mut pages = 0;
    for file in common::files_under(&built.out) {
        if file.extension().is_none_or(|e| e != "html") {
            continue;
        }
        pages += 1;
        let html = read_lossy(&file).unwrap_or_default();
        for problem in scan_html(&html, MARKER) {
            problems.push(format!("{}: {problem}", file.display()));
        }
    }
    assert!(pages > 50, "{pages} pages");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Pieces random field text is made of: markup, Markdown and table syntax, URL schemes,
/// template syntax, quotes, control and bidi characters.
fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let piece = prop::sample::select(vec![
        "<script>alert(\"sigwiki-xss\")</script>",
        "<img src=x onerror=alert(\"sigwiki-xss\")>",
        "javascript:alert(\"sigwiki-xss\")",
        "JaVaScRiPt:",
        "data:text/html,",
        "https://example.org/",
        "\"",
        "'",
        "`",
        "```",
        "|",
        "[x](",
        ")",
        "](javascript:x)",
        "<",
        ">",
        "&",
        "&lt;",
        "<!--",
        "-->",
        "{{ 7*7 }}",
        "{%",
        "\n",
        "\n# ",
        "\n- ",
        "\u{0}",
        "\u{1b}",
        "\u{202e}",
        "\\",
        "*",
        "_",
        "=",
        "+",
        "@",
        " ",
        "a",
        "sigwiki-xss",
    ]);
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// The cells of a CSV text (RFC 4180: quoted cells may hold commas, quotes and line breaks).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// A JSON string is a YAML double-quoted scalar: any text can go into the rule this way.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(32),
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Whatever text a rule's fields hold, its site (every page, every target) carries no live
    /// markup from it, and the exports stay well-formed.
    #[test]
    fn random_field_text_never_becomes_markup(
        title in hostile_text(),
        description in hostile_text(),
        author in hostile_text(),
        reference in hostile_text(),
        tag in hostile_text(),
        value in hostile_text(),
        custom in hostile_text(),
    ) {
        use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};
        let text = format!(
            "title: {}\nid: 0b7c2f0e-1d3a-4c5b-8e9f-a0b1c2d3e4f5\nstatus: test\ndescription: {}\n\
             author: {}\nreferences:\n    - {}\ntags:\n    - {}\nx-custom: {}\ndate: 2024-01-01\n\
             logsource:\n    category: process_creation\n    product: windows\ndetection:\n    \
             selection:\n        CommandLine|contains: {}\n    condition: selection\nlevel: low\n",
            quoted(&title),
            quoted(&description),
            quoted(&author),
            quoted(&reference),
            quoted(&tag),
            quoted(&custom),
            quoted(&value),
        );
        let file = parse_source(Path::new("prop.yml"), Path::new("prop.yml"), text, &ParseOptions::default());
        let rules = RuleSet::new(vec![file]);
        let mut options = BuildOptions::new(Vec::new());
        options.targets = sigwiki::site::QueryTarget::every();
        let templates = Templates::load(None).expect("templates");
        let report = site::build_from(&rules, Vec::new(), &options, &templates, &TestCatalog::new(), Output::memory())
            .expect("builds");
        for (path, bytes) in &report.files {
            let text = String::from_utf8_lossy(bytes);
            if path.ends_with(".html") {
                let problems = scan_html(&text, MARKER);
                proptest::prop_assert!(problems.is_empty(), "{path}: {problems:?}");
            }
            if path.ends_with(".json") {
                proptest::prop_assert!(serde_json::from_slice::<serde_json::Value>(bytes).is_ok(), "{path}");
            }
            if path == "analytics.csv" {
                let rows = csv_rows(&text);
                let width = rows.first().map_or(0, Vec::len);
                for row in &rows {
                    proptest::prop_assert_eq!(row.len(), width, "{:?}", row);
                    for cell in row {
                        proptest::prop_assert!(
                            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                            "formula cell {:?}", cell
                        );
                    }
                }
            }
        }
    }
}
