//! Fuzz target: any bytes, read as one rule file, parsed, converted with every query backend
//! (as `sigwiki convert` prints a file) and rendered as that rule's page, Markdown and HTML
//! (`site::render_rule`, with every target and the embedded ATT&CK, Data Needed and Atomic Red
//! Team catalogs, loaded once per process). Nothing may panic; a file the parser accepts must
//! render; every target either converts it or refuses it with a diagnostic that points inside
//! the file; every query converted shows on the page; and the HTML page carries no live markup
//! (tags, event handlers, link schemes, script text) coming from the rule.
//!
//! The whole site (index pages, exports) is built from one rule per input by the `build_site`
//! target, which costs about seven times as much per input; see fuzz/README.md.

#![no_main]

#[path = "../../tests/html_scan/mod.rs"]
mod html_scan;

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigwiki::attack::Catalog;
use sigwiki::convert::{Preprocess, backends, convert_file_output};
use sigwiki::enrich::{EnrichOptions, Enrichment};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};
use sigwiki::site::catalogs::Catalogs;
use sigwiki::site::escape::markdown_fence;
use sigwiki::site::{BuildOptions, PreviewFormat, SiteError, Templates, render_rule};

/// The string the dictionary's injection payloads carry (see sigma.dict).
const MARKER: &str = "sigwiki-xss";

/// What every run shares: compiled templates, the catalogs and the options (loading the
/// catalogs per input would make each execution a hundred times slower).
struct Fixed {
    templates: Templates,
    enricher: Catalogs<'static>,
    options: BuildOptions,
}

fn fixed() -> &'static Fixed {
    static ENRICHMENT: OnceLock<Enrichment> = OnceLock::new();
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let enrichment = ENRICHMENT.get_or_init(|| {
            EnrichOptions::default()
                .load()
                .expect("embedded catalogs load")
        });
        let mut options = BuildOptions::new(Vec::new());
        options.targets = sigwiki::site::QueryTarget::every();
        options.site_url = Some("https://example.org/site/".to_string());
        Fixed {
            templates: Templates::load(None).expect("embedded templates compile"),
            enricher: Catalogs::new(
                Catalog::embedded(),
                &enrichment.data_needed,
                &enrichment.triggers,
            ),
            options,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixed = fixed();
    let text = String::from_utf8_lossy(data).into_owned();
    let file = parse_source(
        Path::new("rules/fuzz.yml"),
        Path::new("fuzz.yml"),
        text,
        &ParseOptions::default(),
    );
    let rules = RuleSet::new(vec![file]);
    let file = rules.files.first().expect("a rule set keeps its one file");
    let valid = !file.has_errors() && !file.documents.is_empty();
    // As in the parse_rule target: libyaml's line breaks, and the line after the last.
    let lines = 1 + file
        .source
        .matches(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .count();
    for backend in backends() {
        match convert_file_output(*backend, file, &rules, Preprocess::None) {
            Ok(_) => assert!(valid, "{}: converted a file with errors", backend.name()),
            Err(e) => {
                assert!(
                    !e.construct.is_empty() && !e.message.is_empty(),
                    "{}: refusal without a reason: {e:?}",
                    backend.name()
                );
                if let Some(line) = e.line {
                    assert!(
                        (1..=lines + 1).contains(&line),
                        "{}: refusal outside the file: {e}",
                        backend.name()
                    );
                }
            }
        }
    }
    let page = render_rule(
        file,
        &rules,
        PreviewFormat::Html,
        &fixed.options,
        &fixed.templates,
        &fixed.enricher,
    );
    let page = match page {
        Ok(page) => page,
        Err(SiteError::InvalidRule { .. }) if !valid => return,
        Err(e) => panic!("a rule the parser accepts does not render: {e}"),
    };
    assert!(valid, "a file with errors rendered");
    assert_eq!(page.queries.len(), backends().len(), "a target is missing");
    for query in &page.queries {
        match (&query.output, &query.error) {
            (Some(output), None) => assert!(
                page.markdown
                    .contains(&markdown_fence(output, query.language)),
                "{}: the converted query is not on the page",
                query.target
            ),
            (None, Some(error)) => assert!(!error.is_empty(), "{}: empty refusal", query.target),
            _ => panic!("{}: neither a query nor a refusal", query.target),
        }
    }
    let html = page.html.expect("an HTML page was asked for");
    let problems = html_scan::scan_html(&html, MARKER);
    assert!(
        problems.is_empty(),
        "live markup from the rule: {problems:?}"
    );
});
