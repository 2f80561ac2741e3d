//! Fuzz target: any bytes, read as a rule file, converted with every query backend and built
//! into a whole site in memory (rule page as Markdown and HTML, index pages, exports) with the
//! embedded ATT&CK, Data Needed and Atomic Red Team catalogs. It must never panic, and no
//! rendered HTML page may carry a `<script` tag other than the templates' own.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigwiki::attack::Catalog;
use sigwiki::convert::{backends, convert_file};
use sigwiki::enrich::{EnrichOptions, Enrichment};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};
use sigwiki::site::catalogs::Catalogs;
use sigwiki::site::{BuildOptions, Output, Templates, build_from};

/// What every run shares: compiled templates and the catalogs (loading them per input would
/// make each execution a hundred times slower).
struct Fixed {
    templates: Templates,
    enricher: Catalogs<'static>,
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
        Fixed {
            templates: Templates::load(None).expect("embedded templates compile"),
            enricher: Catalogs::new(
                Catalog::embedded(),
                &enrichment.data_needed,
                &enrichment.triggers,
            ),
        }
    })
}

/// `<script` tags on a page: the base template has two (theme switch, page script).
fn script_tags(html: &str) -> usize {
    html.to_ascii_lowercase().matches("<script").count()
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
    if let Some(file) = rules.files.first() {
        for backend in backends() {
            let _ = convert_file(*backend, file, &rules);
        }
    }
    let mut options = BuildOptions::new(Vec::new());
    options.targets = sigwiki::site::QueryTarget::every();
    options.site_url = Some("https://example.org/site/".to_string());
    let report = build_from(
        &rules,
        Vec::new(),
        &options,
        &fixed.templates,
        &fixed.enricher,
        Output::memory(),
    )
    .expect("an in-memory build of one rule never fails");
    for (path, bytes) in &report.files {
        if path.ends_with(".html") {
            let html = String::from_utf8_lossy(bytes);
            assert!(script_tags(&html) <= 2, "{path}: rule text made a <script> tag");
        }
    }
});
