//! The whole-site build: load the rules, compute every rule's entry, the relations between
//! rules and the indexes once, then render the rule pages (in parallel, queries converted per
//! page and dropped once the page is written) beside the site pages and exports, then the
//! index pages, and swap the finished site in.
//!
//! The pieces live beside this module: [`super::options`] (what a build is asked to do),
//! [`super::render`] (what every page shares), [`super::rule_page`] and
//! [`super::index_pages`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::sigma::{Diagnostic, RuleSet};

use super::SiteError;
use super::enrichment::Enricher;
use super::index_pages::IndexPages;
use super::indexes::Indexes;
use super::model::{self, FailedFile, PagePath, RuleEntry};
use super::output::Output;
use super::render::{Buffers, Pages, Site, SiteInfo};
use super::rule_page;
use super::templates::Templates;

pub use super::model::page_path;
pub use super::options::BuildOptions;

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Rule files that got a page.
    pub rule_pages: usize,
    /// Rule files that failed (no page; listed on the error page).
    pub failed: usize,
    /// Files written (pages, exports, assets).
    pub files_written: usize,
    /// Every diagnostic, errors and warnings, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// The site, for a build to memory (empty for a build to disk).
    pub files: BTreeMap<String, Vec<u8>>,
    /// How long each phase took, in order (`-v` prints them).
    pub timings: Vec<Timing>,
}

/// How long one phase of a build took.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The phase.
    pub phase: &'static str,
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time of every thread of the process, where the system tells it (Linux).
    pub cpu: Option<Duration>,
}

/// Runs `f` as the phase `phase` of a build: its result and how long it took.
pub fn measure<T>(phase: &'static str, f: impl FnOnce() -> T) -> (T, Timing) {
    let mut clock = Clock::new();
    let result = f();
    clock.lap(phase);
    let timing = clock.laps.pop().unwrap_or(Timing {
        phase,
        wall: Duration::ZERO,
        cpu: None,
    });
    (result, timing)
}

/// Loads the rules under `options.inputs` and builds the site into `output`.
pub fn build(
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
    output: Output,
) -> Result<BuildReport, SiteError> {
    let (loaded, parsed) = measure("load and parse", || {
        crate::load::load(&options.inputs, &options.parse)
    });
    let loaded = loaded?;
    let mut report = build_from(
        &loaded.rules,
        loaded.skipped,
        options,
        templates,
        enricher,
        output,
    )?;
    report.timings.insert(0, parsed);
    Ok(report)
}

/// Builds the site of an already loaded rule set.
pub fn build_from(
    rules: &RuleSet,
    skipped: Vec<Diagnostic>,
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
    output: Output,
) -> Result<BuildReport, SiteError> {
    let mut clock = Clock::new();
    let mut diagnostics = skipped;
    for file in &rules.files {
        diagnostics.extend(file.diagnostics.iter().cloned());
    }
    let (planned, failed_files) = plan(rules, &mut diagnostics);
    let mut entries: Vec<RuleEntry> = planned
        .into_par_iter()
        .filter_map(|(index, page)| {
            rules
                .files
                .get(index)
                .and_then(|file| model::entry(index, file, page, enricher))
        })
        .collect();
    for entry in &entries {
        diagnostics.extend(entry.diagnostics.iter().cloned());
    }
    diagnostics.sort();
    diagnostics.dedup();
    super::regression::attach(rules, &mut entries, &options.events);
    let relations = model::relations(&entries, rules);
    let indexes = Indexes::new(&entries);
    clock.lap("enrich, regression tests and index");
    let site = Site {
        rules,
        entries: &entries,
        relations: &relations,
        indexes: &indexes,
        options,
        enricher,
        queries_of: None,
    };
    let pages = Pages::new(
        templates,
        &output,
        &SiteInfo::new(options, enricher, !failed_files.is_empty()),
    );
    let index_pages = IndexPages::new(&pages, site);

    let progress = if options.progress {
        let bar = ProgressBar::new(entries.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} building pages {pos}/{len} {wide_bar}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    // The site pages and exports are written one after the other; beside the rule pages, whose
    // many small jobs fill in around them, they cost no wall time of their own.
    let (rule_files, site_files) = rayon::join(
        || {
            (0..entries.len())
                .into_par_iter()
                .map_init(Buffers::default, |buffers, i| {
                    let n = rule_page::write(&pages, site, i, buffers)?;
                    if let Some(bar) = &progress {
                        bar.inc(1);
                    }
                    Ok::<usize, SiteError>(n)
                })
                .try_reduce(|| 0, |a, b| Ok(a + b))
        },
        || -> Result<usize, SiteError> {
            Ok(index_pages.site_pages(&failed_files)?
                + super::regression::write_events(&output, &entries)?)
        },
    );
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let mut total = rule_files? + site_files?;
    clock.lap("rule pages, site pages and exports");
    total += index_pages.index_pages()?;
    clock.lap("index pages");
    let report = BuildReport {
        rule_pages: entries.len(),
        failed: failed_files.len(),
        files_written: total,
        diagnostics,
        files: BTreeMap::new(),
        timings: Vec::new(),
    };
    drop(index_pages);
    drop(pages);
    let files = output.commit()?;
    clock.lap("swap in");
    Ok(BuildReport {
        files,
        timings: clock.laps,
        ..report
    })
}

/// Which files get pages, and where; the others, sorted by file, for the error page. A file
/// whose page would take the place of an earlier file's page (the same path but for case)
/// fails with a diagnostic added to `diagnostics`.
pub(crate) fn plan(
    rules: &RuleSet,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<(usize, PagePath)>, Vec<FailedFile>) {
    let mut pages_taken: HashMap<String, usize> = HashMap::new();
    let mut planned: Vec<(usize, PagePath)> = Vec::new();
    let mut failed_files: Vec<FailedFile> = Vec::new();
    for (index, file) in rules.files.iter().enumerate() {
        let errors: Vec<&Diagnostic> = file.diagnostics.iter().filter(|d| d.is_error()).collect();
        if !errors.is_empty() || file.documents.is_empty() {
            failed_files.push(FailedFile::new(file, errors));
            continue;
        }
        let page = page_path(&file.relative);
        let key = page.to_ascii_lowercase();
        if let Some(&other) = pages_taken.get(&key) {
            let message = format!(
                "its page {page} would replace the page of {}; rename one of the files",
                rules.files[other].path.display()
            );
            let d = Diagnostic::for_file(&file.path, crate::sigma::Code::Io, message);
            failed_files.push(FailedFile::new(file, vec![&d]));
            diagnostics.push(d);
            continue;
        }
        pages_taken.insert(key, index);
        planned.push((index, page));
    }
    failed_files.sort_by(|a, b| a.file.cmp(&b.file));
    (planned, failed_files)
}

/// The phases of a build as they end.
struct Clock {
    last: std::time::Instant,
    last_cpu: Option<Duration>,
    laps: Vec<Timing>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            last: std::time::Instant::now(),
            last_cpu: cpu_time(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, phase: &'static str) {
        let now = std::time::Instant::now();
        let cpu = cpu_time();
        self.laps.push(Timing {
            phase,
            wall: now - self.last,
            cpu: cpu.zip(self.last_cpu).map(|(c, l)| c.saturating_sub(l)),
        });
        self.last = now;
        self.last_cpu = cpu;
    }
}

/// The CPU time of every thread of this process so far, from `/proc/self/task/*/schedstat`
/// (nanoseconds on the CPU, user and kernel); `None` where there is no such file. Wall time
/// on a shared machine says more about the neighbours than about a phase; CPU time does not.
fn cpu_time() -> Option<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = 0u64;
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}
