//! Fuzz target: any bytes, read as a rule file, built into a whole site in memory (rule page
//! as Markdown and HTML, index pages, coverage matrix, exports) with every query target and
//! the embedded ATT&CK, Data Needed and Atomic Red Team catalogs. It must never panic or fail;
//! no HTML page may carry live markup from the rule, and every JSON export must parse. Each
//! execution renders some forty pages, so this target is for the index pages and exports; the
//! rule's own page is fuzzed much faster by `convert_render`.

#![no_main]

#[path = "../../tests/html_scan/mod.rs"]
mod html_scan;

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sigwiki::attack::Catalog;
use sigwiki::convert::backends;
use sigwiki::enrich::{EnrichOptions, Enrichment};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};
use sigwiki::site::catalogs::Catalogs;
use sigwiki::site::{BuildOptions, Output, Templates, build_from};

/// The string the dictionary's injection payloads carry (see sigma.dict).
const MARKER: &str = "sigwiki-xss";

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
    let mut options = BuildOptions::new(Vec::new());
    options.targets = backends().to_vec();
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
            let problems = html_scan::scan_html(&String::from_utf8_lossy(bytes), MARKER);
            assert!(
                problems.is_empty(),
                "{path}: live markup from the rule: {problems:?}"
            );
        }
        if path.ends_with(".json") {
            assert!(
                serde_json::from_slice::<serde_json::Value>(bytes).is_ok(),
                "{path}: the export is not JSON"
            );
        }
    }
});
