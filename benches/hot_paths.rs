//! Benchmarks of the hot paths (divan; run with `cargo bench --bench hot_paths`, filter with
//! `cargo bench --bench hot_paths -- corpus::convert_all`):
//!
//! - `rules::*`: the repository's own `rules/` folder, always present: parse one rule, convert
//!   it to each query target, render its page (Markdown, and HTML as `sigwiki preview` does),
//!   and a whole-site build into a temporary folder.
//! - `corpus::*`: the SigmaHQ corpus (`$SIGWIKI_SHARED/corpus/sigmahq` or
//!   `<crate root>/../shared/corpus/sigmahq`): load and parse every rule, convert every rule
//!   to each target, and a whole-site build with every target. Skipped with a message when the
//!   corpus is absent.
//!
//! Whole-process figures against the peer tools (sigma-cli, sigmac, rsigma) come from
//! `benches/compare.sh`, which writes `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use divan::{Bencher, black_box};
use sigwiki::attack::Catalog;
use sigwiki::convert::{self, Backend};
use sigwiki::enrich::{EnrichOptions, Enrichment};
use sigwiki::load::{self, Loaded};
use sigwiki::sigma::{ParseOptions, RuleSet, parse_source};
use sigwiki::site::catalogs::Catalogs;
use sigwiki::site::{self, BuildOptions, Output, PreviewFormat, Templates};

/// The rule of the single-rule benchmarks: a process-creation rule with several selections,
/// modifiers and ATT&CK tags, typical of the corpus.
const ONE_RULE: &str =
    "rules/windows/process_creation/proc_creation_win_powershell_encoded_download_cradle.yml";

/// Every query target, by name.
const TARGETS: &[&str] = &[
    "es-qs",
    "xpack-watcher",
    "graylog",
    "lucene",
    "splunk",
    "eql",
    "esql",
    "kusto",
];

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn corpus_dir() -> Option<PathBuf> {
    let shared = std::env::var_os("SIGWIKI_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join("../shared"));
    let corpus = shared.join("corpus/sigmahq");
    corpus.is_dir().then_some(corpus)
}

fn backend(name: &str) -> &'static dyn Backend {
    convert::backend(name).unwrap_or_else(|| panic!("sigwiki has no target `{name}`"))
}

fn all_backends() -> Vec<&'static dyn Backend> {
    TARGETS.iter().map(|name| backend(name)).collect()
}

/// The embedded catalogs, loaded once: what `sigwiki build` enriches with by default.
fn enrichment() -> &'static Enrichment {
    static ENRICHMENT: OnceLock<Enrichment> = OnceLock::new();
    ENRICHMENT.get_or_init(|| {
        EnrichOptions::default()
            .load()
            .expect("the embedded catalogs load")
    })
}

fn catalogs() -> Catalogs<'static> {
    let enrichment = enrichment();
    Catalogs::new(
        Catalog::embedded(),
        &enrichment.data_needed,
        &enrichment.triggers,
    )
}

fn templates() -> &'static Templates {
    static TEMPLATES: OnceLock<Templates> = OnceLock::new();
    TEMPLATES.get_or_init(|| Templates::load(None).expect("the embedded templates load"))
}

fn build_options(input: PathBuf) -> BuildOptions {
    let mut options = BuildOptions::new(vec![input]);
    options.targets = all_backends().into_iter().map(Into::into).collect();
    options
}

/// Builds the site of `input` into a fresh temporary folder, as `sigwiki build -o DIR` does.
fn build_to_disk(input: &Path, enricher: &Catalogs<'_>) -> usize {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let output = Output::disk(&dir.path().join("site")).expect("the output folder opens");
    let report = site::build(
        &build_options(input.to_path_buf()),
        templates(),
        enricher,
        output,
    )
    .expect("the site builds");
    report.files_written
}

mod rules {
    use super::*;

    fn one_rule() -> (PathBuf, PathBuf, String) {
        let path = crate_root().join(ONE_RULE);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let relative = PathBuf::from(path.file_name().expect("a file name"));
        (path, relative, text)
    }

    /// Parsing one rule from memory: YAML, detection, conditions, diagnostics.
    #[divan::bench]
    fn parse_one(bencher: Bencher) {
        let (path, relative, text) = one_rule();
        let options = ParseOptions::default();
        bencher
            .with_inputs(|| text.clone())
            .bench_values(|text| parse_source(&path, &relative, text, &options));
    }

    /// Converting one parsed rule to one target.
    #[divan::bench(args = TARGETS)]
    fn convert_one(bencher: Bencher, target: &str) {
        let (path, relative, text) = one_rule();
        let rules = RuleSet::new(vec![parse_source(
            &path,
            &relative,
            text,
            &ParseOptions::default(),
        )]);
        let file = rules.files.first().expect("one file");
        let backend = backend(target);
        bencher.bench(|| convert::convert_file(backend, black_box(file), &rules));
    }

    /// Rendering one rule page with every target, from the file on disk, as `sigwiki preview`
    /// does: parse, enrich, convert, template (and Markdown to HTML for `html`).
    #[divan::bench(args = ["markdown", "html"])]
    fn render_page(bencher: Bencher, format: &str) {
        let path = crate_root().join(ONE_RULE);
        let format = if format == "html" {
            PreviewFormat::Html
        } else {
            PreviewFormat::Markdown
        };
        let options = build_options(path.clone());
        let enricher = catalogs();
        bencher.bench(|| {
            site::preview(&path, format, &options, templates(), &enricher)
                .expect("the page renders")
        });
    }

    /// The whole site of `rules/` with every target, written to a temporary folder.
    #[divan::bench(sample_count = 20)]
    fn build(bencher: Bencher) {
        let input = crate_root().join("rules");
        let enricher = catalogs();
        bencher.bench(|| build_to_disk(&input, &enricher));
    }
}

mod corpus {
    use super::*;

    fn corpus() -> PathBuf {
        corpus_dir().expect("main() skips the corpus benchmarks without a corpus")
    }

    fn loaded() -> &'static Loaded {
        static LOADED: OnceLock<Loaded> = OnceLock::new();
        LOADED.get_or_init(|| {
            load::load(&[corpus()], &ParseOptions::default()).expect("the corpus loads")
        })
    }

    /// Walking, reading and parsing every corpus rule (in parallel, as every command does).
    #[divan::bench(sample_count = 10)]
    fn parse_all(bencher: Bencher) {
        let inputs = [corpus()];
        let options = ParseOptions::default();
        bencher.bench(|| load::load(&inputs, &options).expect("the corpus loads"));
    }

    /// Converting every parsed corpus rule to one target, on one thread.
    #[divan::bench(args = TARGETS, sample_count = 10)]
    fn convert_all(bencher: Bencher, target: &str) {
        let rules = &loaded().rules;
        let backend = backend(target);
        bencher.bench(|| {
            rules
                .files
                .iter()
                .filter(|file| convert::convert_file(backend, file, rules).is_ok())
                .count()
        });
    }

    /// The whole site of the corpus with every target, written to a temporary folder.
    #[divan::bench(sample_count = 3)]
    fn build(bencher: Bencher) {
        let input = corpus();
        let enricher = catalogs();
        bencher.bench(|| build_to_disk(&input, &enricher));
    }
}

fn main() {
    if corpus_dir().is_some() {
        divan::main();
    } else {
        println!(
            "skipped: corpus::* benchmarks: no corpus at $SIGWIKI_SHARED/corpus/sigmahq or ../shared/corpus/sigmahq"
        );
        divan::Divan::from_args().skip_regex("corpus::").main();
    }
}
