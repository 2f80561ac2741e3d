//! The whole-site build: load the rules, compute every rule's entry, the relations between
//! rules and the indexes once, then render the rule pages (in parallel, queries converted per
//! page and dropped once the page is written) beside the site pages and exports, then the
//! index pages, and swap the finished site in.
//!
//! A large rule set (more files than [`BuildOptions::compact_above`]) is built the same way
//! but held compactly, so that the memory of a build grows by little more than a compact
//! entry per rule: the load keeps stubs of plain detection rules instead of their parsed
//! detections and text ([`crate::load::load_compact`]), each rule's entry drops what only its
//! own page shows ([`model::compact`]), and the rule pages are rendered in chunks of
//! [`BuildOptions::chunk`] rules in page order, each chunk's files read again whole and its
//! `rules.json` elements written as it is done; the other exports are written as they are
//! made.
//!
//! The pieces live beside this module: [`super::options`] (what a build is asked to do),
//! [`super::render`] (what every page shares), [`super::rule_page`] and
//! [`super::index_pages`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::load::{Compact, Loaded};
use crate::sigma::{Diagnostic, RuleFile, RuleSet};

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
    /// YAML files of the input folders that are not Sigma documents, left out (`-v` lists
    /// them); empty for [`build_from`], which is handed a loaded rule set.
    pub not_rules: Vec<PathBuf>,
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
    build_keeping(options, templates, enricher, output).map(|(report, _)| report)
}

/// [`build`], handing the rule set back: the caller decides when to free it (a process about
/// to end need not free every parsed rule one by one).
pub fn build_keeping(
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
    output: Output,
) -> Result<(BuildReport, RuleSet), SiteError> {
    // With `--events` every rule is run on the events before its page is rendered, which needs
    // every detection at once: such builds (previews, `serve`) are small and held whole.
    let compact_above = if options.events.is_empty() {
        options.compact_above
    } else {
        usize::MAX
    };
    let shared = model::Shared::default();
    let (loaded, parsed) = measure("load and parse", || {
        crate::load::load_compact(&options.inputs, &options.parse, compact_above, |file| {
            // Boxed: the load moves its results from vector to vector, and an entry is large.
            model::entry(0, file, page_path(&file.relative), enricher).map(|mut entry| {
                model::compact(&mut entry, &shared);
                Box::new(entry)
            })
        })
    });
    let (mut report, rules) = match loaded? {
        Err(loaded) => {
            let Loaded {
                rules,
                skipped,
                not_rules,
            } = loaded;
            let report = build_from(&rules, skipped, options, templates, enricher, output)?;
            (
                BuildReport {
                    not_rules,
                    ..report
                },
                rules,
            )
        }
        Ok(compact) => build_compact(compact, &shared, options, templates, enricher, output)?,
    };
    report.timings.insert(0, parsed);
    Ok((report, rules))
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

    let progress = progress_bar(options, entries.len());
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
        not_rules: Vec::new(),
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

/// [`build_from`] for a rule set loaded compactly, `extracted` holding each file's compact
/// entry (see the module's documentation). The same files, byte for byte.
fn build_compact(
    compact: Compact<Option<Box<RuleEntry>>>,
    shared: &model::Shared,
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
    output: Output,
) -> Result<(BuildReport, RuleSet), SiteError> {
    let Compact {
        loaded,
        mut extracted,
        stubbed,
    } = compact;
    let Loaded {
        mut rules,
        skipped,
        not_rules,
    } = loaded;
    let mut clock = Clock::new();
    let mut diagnostics = skipped;
    for file in &rules.files {
        diagnostics.extend(file.diagnostics.iter().cloned());
    }
    let (planned, failed_files) = plan(&rules, &mut diagnostics);
    let mut entries: Vec<RuleEntry> = planned
        .into_iter()
        .filter_map(|(index, page)| {
            let mut entry = *extracted.get_mut(index)?.take()?;
            entry.file = index;
            entry.page = page;
            Some(entry)
        })
        .collect();
    drop(extracted);
    for entry in &mut entries {
        diagnostics.append(&mut entry.diagnostics);
    }
    diagnostics.sort();
    diagnostics.dedup();
    let relations = model::relations(&entries, &rules);
    let mut indexes = Indexes::new(&entries);
    indexes.restore(shared);
    clock.lap("enrich and index");
    let pages = Pages::new(
        templates,
        &output,
        &SiteInfo::new(options, enricher, !failed_files.is_empty()),
    );
    let progress = progress_bar(options, entries.len());
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| entries[a].page.cmp(&entries[b].page));
    let mut rules_json = output.stream("rules.json")?;
    let mut json = super::exports::RulesJson::new();
    let mut total = 1;
    for chunk in order.chunks(options.chunk.max(1)) {
        // The chunk's files whole again, in place of their stubs until its pages are done.
        let whole: Vec<(usize, RuleFile)> = chunk
            .par_iter()
            .filter_map(|&i| {
                let file = entries[i].file;
                let stub = rules.files.get(file)?;
                stubbed
                    .get(file)
                    .copied()
                    .unwrap_or(false)
                    .then(|| (file, crate::load::reload(stub, &options.parse)))
            })
            .collect();
        let stubs: Vec<(usize, RuleFile)> = whole
            .into_iter()
            .map(|(file, whole)| (file, std::mem::replace(&mut rules.files[file], whole)))
            .collect();
        // Their whole entries, and their regression tests run.
        let mut full: Vec<RuleEntry> = chunk
            .par_iter()
            .map(|&i| {
                let kept = &entries[i];
                rules
                    .files
                    .get(kept.file)
                    .and_then(|file| model::entry(kept.file, file, kept.page.clone(), enricher))
                    .unwrap_or_else(|| kept.clone())
            })
            .collect();
        super::regression::attach(&rules, &mut full, &options.events);
        for (&i, entry) in chunk.iter().zip(full) {
            entries[i] = entry;
        }
        let site = Site {
            rules: &rules,
            entries: &entries,
            relations: &relations,
            indexes: &indexes,
            options,
            enricher,
            queries_of: None,
        };
        total += chunk
            .par_iter()
            .map_init(Buffers::default, |buffers, &i| {
                let n = rule_page::write(&pages, site, i, buffers)?;
                if let Some(bar) = &progress {
                    bar.inc(1);
                }
                Ok::<usize, SiteError>(n)
            })
            .try_reduce(|| 0, |a, b| Ok(a + b))?;
        for &i in chunk {
            json.rule(&mut rules_json, &entries[i])
                .map_err(|e| rules_json.error(e))?;
            model::compact(&mut entries[i], shared);
            // Already among the build's diagnostics.
            entries[i].diagnostics = Vec::new();
        }
        for (file, stub) in stubs {
            rules.files[file] = stub;
        }
    }
    json.finish(&mut rules_json)
        .map_err(|e| rules_json.error(e))?;
    rules_json.finish()?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    clock.lap("rule pages");
    let site = Site {
        rules: &rules,
        entries: &entries,
        relations: &relations,
        indexes: &indexes,
        options,
        enricher,
        queries_of: None,
    };
    let index_pages = IndexPages::new(&pages, site);
    total += index_pages.site_pages_with(&failed_files, false)?
        + super::regression::write_events(&output, &entries)?;
    clock.lap("site pages and exports");
    total += index_pages.index_pages()?;
    clock.lap("index pages");
    let report = BuildReport {
        rule_pages: entries.len(),
        failed: failed_files.len(),
        files_written: total,
        diagnostics,
        files: BTreeMap::new(),
        timings: Vec::new(),
        not_rules,
    };
    drop(index_pages);
    drop(pages);
    let files = output.commit()?;
    clock.lap("swap in");
    Ok((
        BuildReport {
            files,
            timings: clock.laps,
            ..report
        },
        rules,
    ))
}

/// The progress bar of the rule pages, when asked for.
fn progress_bar(options: &BuildOptions, pages: usize) -> Option<ProgressBar> {
    options.progress.then(|| {
        let bar = ProgressBar::new(pages as u64);
        bar.set_style(
            ProgressStyle::with_template("{spinner} building pages {pos}/{len} {wide_bar}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
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
