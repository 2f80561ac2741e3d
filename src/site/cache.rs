//! The incremental build behind `sigwiki serve`: what a build computed is kept between builds,
//! and after a change only what depends on the changed files is computed and rendered again.
//!
//! Kept between builds:
//! - every rule file as parsed, before the rule set resolved references (so a file whose
//!   diagnostics came from another file is resolved afresh), with the modification time and
//!   size it was parsed at: only new and changed files are read and parsed again, and when
//!   `serve` names the changed files, the inputs are not even walked;
//! - the last rule set, whose files are reused when resolving added nothing to them;
//! - each file's entry (its enrichment and regression results) and queries, each under a key
//!   that covers everything it is computed from: the file, the filters that tune it, the rules
//!   its correlations use, and whether a correlation uses it;
//! - for every output unit (a rule page, an index page, the site pages and exports together)
//!   the key it was last rendered under. A rule page's key covers what its context is built
//!   from: its entry, its queries, the index pages it links to, the titles and pages of the
//!   rules it is related to, the filters that tune it and the rules it tunes, and the
//!   site-wide values. An index page's key is a fingerprint of its whole context. A unit is
//!   rendered again only when its key changed, so the result is the bytes a whole build
//!   gives, which `tests/site_incremental.rs` checks after a series of edits.
//!
//! An update publishes in two steps: the rule pages first (the page being edited is what the
//! browser waits for), then the index pages, site pages and exports, which are skipped when no
//! entry, failed file or redirect changed, and left to the next update when a newer change is
//! already waiting.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use serde::Serialize;

use crate::sigma::{Diagnostic, DocumentRef, RuleFile, RuleSet, SigmaKind};
use crate::walk::InputFile;

use super::SiteError;
use super::build::{self, BuildOptions};
use super::enrichment::Enricher;
use super::index_pages::IndexPages;
use super::indexes::Indexes;
use super::model::{self, QueryItem, RuleEntry};
use super::output::Output;
use super::render::{Buffers, Pages, Site, SiteInfo};
use super::rule_page;
use super::templates::Templates;

/// A 64-bit fingerprint of what a value is computed from.
struct Key(DefaultHasher);

impl Key {
    fn new(domain: &str) -> Key {
        let mut hasher = DefaultHasher::new();
        hasher.write(domain.as_bytes());
        hasher.write_u8(0xff);
        Key(hasher)
    }

    fn u64(mut self, value: u64) -> Key {
        self.0.write_u64(value);
        self
    }

    fn bytes(mut self, bytes: &[u8]) -> Key {
        // The length first, so consecutive fields cannot run into each other.
        self.0.write_usize(bytes.len());
        self.0.write(bytes);
        self
    }

    fn opt(mut self, text: Option<&String>) -> Key {
        match text {
            Some(text) => {
                self.0.write_u8(1);
                self.bytes(text.as_bytes())
            }
            None => {
                self.0.write_u8(0);
                self
            }
        }
    }

    fn path(self, path: &Path) -> Key {
        self.bytes(path.as_os_str().as_encoded_bytes())
    }

    /// Adds the JSON form of `value`. Everything a template sees is serialised, so the JSON
    /// form of a context is all that its rendering depends on.
    fn json(mut self, value: &impl Serialize) -> Key {
        let mut sink = HashWriter(&mut self.0);
        // Writing into a hasher cannot fail; a value that cannot be serialised fails the same
        // way when it is rendered, and its key then just differs from any earlier one.
        if serde_json::to_writer(&mut sink, value).is_err() {
            self.0.write_u8(1);
        }
        self.0.write_u8(0xfe);
        self
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

struct HashWriter<'a>(&'a mut DefaultHasher);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A rule file as parsed, before the rule set resolved it.
struct Parsed {
    /// Modification time and size when it was read.
    stamp: (Option<SystemTime>, u64),
    /// How the walk found it.
    input: InputFile,
    /// The file.
    file: RuleFile,
    /// Fingerprint of its path, relative path and text: the parse is a function of these.
    hash: u64,
}

/// A rule file's entry kept between builds.
struct KeptEntry {
    /// The key it was computed under.
    key: u64,
    /// Fingerprint of all of it, what the pages that show it see.
    content: u64,
    entry: RuleEntry,
}

/// What was last rendered for an output unit.
struct Unit {
    key: u64,
    /// The site files it wrote.
    outputs: Vec<String>,
}

/// Files an update changed: new contents, or `None` for a file no longer in the site.
#[derive(Debug, Default)]
pub struct Delta {
    /// Path in the site → contents.
    pub files: BTreeMap<String, Option<Vec<u8>>>,
    /// The files are the whole site: every file not among them is gone.
    pub replace: bool,
    /// Rule files that got a page.
    pub rule_pages: usize,
    /// Rule files with errors (no page).
    pub failed: usize,
}

/// What an update did.
#[derive(Debug, Default)]
pub struct UpdateReport {
    /// Rule files that got a page.
    pub rule_pages: usize,
    /// Rule files with errors.
    pub failed: usize,
    /// Every diagnostic, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Rule files read and parsed again.
    pub parsed: usize,
    /// Whether the inputs were walked (else only the files named by [`SiteCache::changed`]
    /// were looked at).
    pub walked: bool,
    /// Entries computed again.
    pub entries: usize,
    /// Files whose queries were converted again (every target).
    pub converted: usize,
    /// Output units rendered again (a rule page, an index page, the site pages).
    pub rendered: usize,
    /// The second step was skipped or abandoned for a newer change.
    pub interrupted: bool,
    /// How long each step took.
    pub timings: Vec<(&'static str, Duration)>,
}

/// Changed paths reported since the last update.
#[derive(Debug, Default)]
struct Hint {
    /// A path the walk must look at (a new rule file, a folder): walk the inputs.
    walk: bool,
    /// Known rule files to read again.
    files: HashSet<PathBuf>,
}

/// What an incremental build keeps between builds.
#[derive(Default)]
pub struct SiteCache {
    parsed: HashMap<PathBuf, Parsed>,
    /// The paths of `parsed` made absolute, as change events name them → the path as walked.
    absolute: HashMap<PathBuf, PathBuf>,
    skipped: Vec<Diagnostic>,
    hint: Option<Hint>,
    /// The last rule set: its files are reused when they and what resolving them added are
    /// unchanged, rather than cloned from `parsed`.
    resolved: Option<RuleSet>,
    entries: HashMap<PathBuf, KeptEntry>,
    queries: HashMap<PathBuf, (u64, Arc<Vec<QueryItem>>)>,
    units: HashMap<String, Unit>,
    /// The key of the index pages, site pages and exports as a whole, when they are current.
    site_key: Option<u64>,
    /// Changed when data outside the rule files changed (regression test data), so the
    /// entries, which hold the regression results, are computed again.
    epoch: u64,
    /// The last update did not finish a whole build: the next one renders everything.
    incomplete: bool,
    /// Set when a newer change is waiting: an update then skips or stops its second step.
    interrupt: Option<Arc<AtomicBool>>,
    /// How long to wait between the two steps of an update.
    pause: Duration,
}

impl std::fmt::Debug for SiteCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SiteCache")
            .field("files", &self.parsed.len())
            .field("units", &self.units.len())
            .finish_non_exhaustive()
    }
}

/// Where a step's time goes.
struct Clock {
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }
}

/// A unit rendered in an update: its name, key and files.
type Rendered = (String, u64, BTreeMap<String, Vec<u8>>);

/// The rule set of an update and what was computed from it.
struct State {
    rules: RuleSet,
    file_keys: Vec<u64>,
    query_keys: Vec<u64>,
    failed_files: Vec<model::FailedFile>,
    entries: Vec<RuleEntry>,
    entry_keys: Vec<u64>,
    contents: Vec<u64>,
}

impl SiteCache {
    /// An empty cache: the first update builds everything.
    pub fn new() -> SiteCache {
        SiteCache::default()
    }

    /// Whether `path` (absolute) is a rule file of the last update.
    pub fn knows(&self, path: &Path) -> bool {
        self.absolute.contains_key(path)
    }

    /// Reports changed paths (absolute, as change events name them). Until the next update,
    /// the cache trusts these to be all the changes: when they are all known rule files (or
    /// files no walk would take, like an editor's swap files), the next update reads just
    /// those again, without walking the inputs. A file named here is read again even if its
    /// modification time and size look unchanged.
    pub fn changed(&mut self, paths: &[PathBuf]) {
        let hint = self.hint.get_or_insert_with(Hint::default);
        for path in paths {
            match self.absolute.get(path) {
                Some(walked) => {
                    hint.files.insert(walked.clone());
                }
                None => {
                    let folder_or_rule = crate::walk::is_rule_file(path)
                        || path.extension().is_none()
                        || path.is_dir();
                    hint.walk |= folder_or_rule;
                }
            }
        }
    }

    /// A flag that, once set, tells an update that a newer change is waiting: it then skips
    /// or abandons its second step (the index pages, site pages and exports), which the next
    /// update renders. The first step, and a whole build, always finish.
    ///
    /// `pause` is how long the second step waits after the first was published: the browser
    /// showing the edited page reloads it right then, and the index pages would otherwise take
    /// every core while that request is being answered.
    pub fn interrupt_with(&mut self, flag: Arc<AtomicBool>, pause: Duration) {
        self.interrupt = Some(flag);
        self.pause = pause;
    }

    /// Data the rule files do not show changed (regression test data, events files): the
    /// entries, which hold what the rules matched, are computed again on the next update.
    pub fn invalidate_regression(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Forgets every rendered unit, so the next update renders the whole site (after a
    /// template change).
    pub fn invalidate_pages(&mut self) {
        self.units.clear();
        self.site_key = None;
        self.incomplete = true;
    }

    /// Brings the site up to date with the files under `options.inputs`: reads the new and
    /// changed rule files, renders the units whose inputs changed and hands each step's changed
    /// files to `publish` (the rule pages first, then the rest). When the cache is empty or was
    /// invalidated, the whole site is rendered and published once, as a replacement.
    ///
    /// On an error nothing more is published and the units not published stay as they were,
    /// so the next update renders them again.
    pub fn update(
        &mut self,
        options: &BuildOptions,
        templates: &Templates,
        enricher: &dyn Enricher,
        publish: &mut dyn FnMut(Delta),
    ) -> Result<UpdateReport, SiteError> {
        let mut clock = Clock::new();
        let mut report = UpdateReport::default();
        let whole = self.incomplete || self.units.is_empty();
        if whole {
            self.units.clear();
            self.site_key = None;
            self.incomplete = true;
        }
        let reparsed = match self.hint.take() {
            Some(hint) if !hint.walk && !self.parsed.is_empty() => {
                self.reread(&hint.files, options)
            }
            _ => {
                report.walked = true;
                self.refresh(options)?
            }
        };
        report.parsed = reparsed.len();
        clock.lap("walk and parse");
        let mut state = self.resolve(&reparsed, options, enricher, &mut report, &mut clock);
        let result = self.render(
            &mut state,
            whole,
            options,
            templates,
            enricher,
            publish,
            &mut report,
            &mut clock,
        );
        // Kept for the next update whether or not this one finished.
        let State {
            rules,
            entries,
            entry_keys,
            contents,
            ..
        } = state;
        self.entries = entries
            .into_iter()
            .zip(entry_keys)
            .zip(contents)
            .filter_map(|((entry, key), content)| {
                let path = rules.files.get(entry.file)?.path.clone();
                Some((
                    path,
                    KeptEntry {
                        key,
                        content,
                        entry,
                    },
                ))
            })
            .collect();
        self.resolved = Some(rules);
        clock.lap("keep");
        result?;
        report.timings = clock.laps;
        Ok(report)
    }

    /// The rule set (its files reused from the last one where possible), the keys of what is
    /// computed from it, and the entries.
    fn resolve(
        &mut self,
        reparsed: &HashSet<PathBuf>,
        options: &BuildOptions,
        enricher: &dyn Enricher,
        report: &mut UpdateReport,
        clock: &mut Clock,
    ) -> State {
        // A resolved file is its parse plus what the rule set added to it: when nothing was
        // added (as many diagnostics, as many documents) it is the parse as it was, and is
        // reused as it is; otherwise the parse is cloned and resolved again.
        let files: Vec<RuleFile> = match self.resolved.take() {
            None => self.parsed.values().map(|p| p.file.clone()).collect(),
            Some(set) => {
                let mut files = Vec::with_capacity(self.parsed.len());
                for file in set.files {
                    // A file that is gone is left out; one read again comes from its new parse.
                    let Some(parsed) = self.parsed.get(&file.path) else {
                        continue;
                    };
                    if reparsed.contains(&file.path) {
                        continue;
                    }
                    if file.diagnostics.len() == parsed.file.diagnostics.len()
                        && file.documents.len() == parsed.file.documents.len()
                    {
                        files.push(file);
                    } else {
                        files.push(parsed.file.clone());
                    }
                }
                // New files are among those read again.
                files.extend(
                    reparsed
                        .iter()
                        .filter_map(|path| self.parsed.get(path))
                        .map(|p| p.file.clone()),
                );
                files
            }
        };
        let rules = RuleSet::new(files);
        clock.lap("resolve");

        // What each file is, after resolution: its text and its diagnostics, which include
        // those the rule set added and say which documents it dropped.
        let file_keys: Vec<u64> = rules
            .files
            .par_iter()
            .map(|file| {
                let hash = self.parsed.get(&file.path).map_or(0, |p| p.hash);
                let mut key = Key::new("file").u64(hash).json(&file.diagnostics);
                for document in &file.documents {
                    key = key.u64(document.index as u64);
                }
                key.finish()
            })
            .collect();
        let query_keys: Vec<u64> = (0..rules.files.len())
            .into_par_iter()
            .map(|i| query_key(&rules, &file_keys, i))
            .collect();

        let mut diagnostics = self.skipped.clone();
        for file in &rules.files {
            diagnostics.extend(file.diagnostics.iter().cloned());
        }
        let (planned, failed_files) = build::plan(&rules, &mut diagnostics);
        let epoch = self.epoch_key(options);
        let entry_keys: Vec<u64> = planned
            .iter()
            .map(|(index, page)| {
                let file = &rules.files[*index];
                // Regression results (the one input of an entry besides its file and the
                // filters tuning it) exist only for tested rules, or with `--events`.
                let tested = !options.events.is_empty()
                    || file
                        .documents
                        .iter()
                        .any(|d| crate::eval::regression::regression_path(&d.kind).is_some());
                Key::new("entry")
                    .u64(query_keys[*index])
                    .u64(if tested { epoch } else { 0 })
                    .bytes(page.as_bytes())
                    .finish()
            })
            .collect();

        clock.lap("keys");
        // Kept entries are moved out of the cache, new ones computed.
        let mut kept = std::mem::take(&mut self.entries);
        let slots: Vec<Result<(RuleEntry, u64), (usize, model::PagePath)>> = planned
            .into_iter()
            .zip(&entry_keys)
            .map(
                |((index, page), key)| match kept.remove(&rules.files[index].path) {
                    Some(k) if k.key == *key => {
                        let mut entry = k.entry;
                        entry.file = index;
                        Ok((entry, k.content))
                    }
                    _ => Err((index, page)),
                },
            )
            .collect();
        let mut fresh: Vec<RuleEntry> = slots
            .par_iter()
            .filter_map(|slot| match slot {
                Ok(_) => None,
                Err((index, page)) => {
                    model::entry(*index, &rules.files[*index], page.clone(), enricher)
                }
            })
            .collect();
        super::regression::attach(&rules, &mut fresh, &options.events);
        report.entries = fresh.len();
        let mut fresh = fresh.into_iter().peekable();
        let mut entries = Vec::with_capacity(slots.len());
        let mut keys = Vec::with_capacity(slots.len());
        let mut contents = Vec::with_capacity(slots.len());
        for (slot, key) in slots.into_iter().zip(&entry_keys) {
            let (entry, content) = match slot {
                Ok(kept) => kept,
                Err((index, _)) => match fresh.next_if(|e| e.file == index) {
                    Some(entry) => {
                        let content = entry_content(&entry, epoch);
                        (entry, content)
                    }
                    // A planned file always has a document, so it always has an entry.
                    None => continue,
                },
            };
            entries.push(entry);
            keys.push(*key);
            contents.push(content);
        }
        for entry in &entries {
            diagnostics.extend(entry.diagnostics.iter().cloned());
        }
        diagnostics.sort();
        diagnostics.dedup();
        report.diagnostics = diagnostics;
        report.rule_pages = entries.len();
        report.failed = failed_files.len();
        clock.lap("entries");
        State {
            rules,
            file_keys,
            query_keys,
            failed_files,
            entries,
            entry_keys: keys,
            contents,
        }
    }

    /// Renders what changed and publishes it.
    #[allow(clippy::too_many_arguments)]
    fn render(
        &mut self,
        state: &mut State,
        whole: bool,
        options: &BuildOptions,
        templates: &Templates,
        enricher: &dyn Enricher,
        publish: &mut dyn FnMut(Delta),
        report: &mut UpdateReport,
        clock: &mut Clock,
    ) -> Result<(), SiteError> {
        let State {
            rules,
            file_keys,
            query_keys,
            failed_files,
            entries,
            contents,
            ..
        } = state;
        let (rules, entries): (&RuleSet, &[RuleEntry]) = (rules, entries);
        let relations = model::relations(entries, rules);
        let indexes = Indexes::new(entries);
        clock.lap("relations and indexes");

        report.converted = self.convert(rules, entries, query_keys, options);
        let queries: HashMap<usize, Arc<Vec<QueryItem>>> = rules
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                self.queries
                    .get(&f.path)
                    .filter(|(key, _)| *key == query_keys[i])
                    .map(|(_, q)| (i, Arc::clone(q)))
            })
            .collect();
        let queries_of = |file: usize| queries.get(&file).map(|q| q.as_ref().clone());
        clock.lap("queries");

        let site = SiteInfo::new(options, enricher, !failed_files.is_empty());
        let site_key = Key::new("site")
            .json(&site)
            .json(&options.mapping_shown())
            .u64(u64::from(enricher.matrix().is_some()))
            .finish();
        let output = Output::memory();
        let site_view = Site {
            rules,
            entries,
            relations: &relations,
            indexes: &indexes,
            options,
            enricher,
            queries_of: Some(&queries_of),
        };
        let pages = Pages::new(templates, &output, &site);
        let index_pages = IndexPages::new(&pages, site_view);
        let counts = (entries.len(), failed_files.len());
        let mut whole_site: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();

        // Step one: the rule pages.
        let mut by_file: Vec<Option<usize>> = vec![None; rules.files.len()];
        for (i, entry) in entries.iter().enumerate() {
            by_file[entry.file] = Some(i);
        }
        let neighbours = PageInputs {
            rules,
            entries,
            relations: &relations,
            indexes: &indexes,
            file_keys,
            query_keys,
            by_file: &by_file,
        };
        let units: Vec<Result<Option<Rendered>, SiteError>> = (0..entries.len())
            .into_par_iter()
            .map(|i| {
                let name = format!("rule:{}", entries[i].page);
                let key = neighbours.key(i, site_key, contents[i]);
                if self.units.get(&name).is_some_and(|u| u.key == key) {
                    return Ok(None);
                }
                let out = Output::memory();
                let written = rule_page::write(
                    &pages.with_output(&out),
                    site_view,
                    i,
                    &mut Buffers::default(),
                )?;
                if written == 0 {
                    return Ok(None);
                }
                Ok(Some((name, key, out.commit()?)))
            })
            .collect();
        let units = units
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<Vec<_>, _>>()?;
        let present: Vec<String> = entries.iter().map(|e| format!("rule:{}", e.page)).collect();
        report.rendered += units.len();
        let delta = self.apply(units, "rule:", &present);
        clock.lap("rule pages");
        if whole {
            whole_site.extend(delta);
        } else if !delta.is_empty() {
            publish(Delta {
                files: delta,
                replace: false,
                rule_pages: counts.0,
                failed: counts.1,
            });
        }

        // Step two: the index pages, the site pages and the exports, which see the entries,
        // the failed files and the redirects only.
        let pages_key = Key::new("site pages")
            .u64(site_key)
            .json(contents)
            .json(failed_files)
            .json(&relations.redirects)
            .finish();
        let interrupted = || {
            !whole
                && self
                    .interrupt
                    .as_ref()
                    .is_some_and(|flag| flag.load(Ordering::SeqCst))
        };
        if self.site_key != Some(pages_key) && !whole && !self.pause.is_zero() {
            let until = Instant::now() + self.pause;
            while !interrupted() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        if self.site_key != Some(pages_key) && interrupted() {
            self.site_key = None;
            report.interrupted = true;
        } else if self.site_key != Some(pages_key) {
            self.site_key = None;
            let jobs = index_pages.index_jobs();
            let present: Vec<String> = jobs
                .iter()
                .map(|(path, _, _)| format!("list:{path}"))
                .collect();
            let units: Vec<Result<Option<Rendered>, SiteError>> = jobs
                .into_par_iter()
                .map(|(path, page, rows)| {
                    if interrupted() {
                        return Ok(None);
                    }
                    let name = format!("list:{path}");
                    let key = Key::new("index page")
                        .u64(site_key)
                        .bytes(path.as_bytes())
                        .json(&page)
                        .json(&rows)
                        .finish();
                    if self.units.get(&name).is_some_and(|u| u.key == key) {
                        return Ok(None);
                    }
                    let out = Output::memory();
                    index_pages.list_page(
                        &pages.with_output(&out),
                        &path,
                        (page, rows),
                        &mut Buffers::default(),
                    )?;
                    Ok(Some((name, key, out.commit()?)))
                })
                .collect();
            let mut units = units
                .into_iter()
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?;
            if interrupted() {
                // Some pages may be missing: none is recorded, the next update renders them.
                report.interrupted = true;
                return Ok(());
            }
            let out = Output::memory();
            let site_pages = pages.with_output(&out);
            IndexPages::new(&site_pages, site_view).site_pages(failed_files)?;
            super::regression::write_events(&out, entries)?;
            units.push(("site".to_string(), pages_key, out.commit()?));
            report.rendered += units.len();
            let delta = self.apply(units, "list:", &present);
            self.site_key = Some(pages_key);
            whole_site.extend(delta);
            clock.lap("index and site pages");
        }
        if whole {
            whole_site.retain(|_, v| v.is_some());
            publish(Delta {
                files: whole_site,
                replace: true,
                rule_pages: counts.0,
                failed: counts.1,
            });
            self.incomplete = false;
        } else if !whole_site.is_empty() {
            publish(Delta {
                files: whole_site,
                replace: false,
                rule_pages: counts.0,
                failed: counts.1,
            });
        }
        Ok(())
    }

    /// Walks the inputs, re-reads the files that are new or whose modification time or size
    /// changed, and forgets the files that are gone. Returns the files parsed.
    fn refresh(&mut self, options: &BuildOptions) -> Result<HashSet<PathBuf>, SiteError> {
        let walked = crate::walk::walk(&options.inputs)?;
        let known = &self.parsed;
        let fresh: Vec<(PathBuf, Option<Parsed>)> = walked
            .files
            .into_par_iter()
            .filter_map(|input| {
                let stamp = stamp(&input.path);
                match known.get(&input.path) {
                    // A file without a modification time is always read again.
                    Some(p) if p.stamp == stamp && stamp.0.is_some() && p.input == input => {
                        Some((input.path, None))
                    }
                    _ => parse(input, stamp, options).map(|(path, p)| (path, Some(p))),
                }
            })
            .collect();
        let mut parsed = HashSet::new();
        let mut next = HashMap::with_capacity(fresh.len());
        for (path, entry) in fresh {
            let entry = match entry {
                Some(new) => {
                    parsed.insert(path.clone());
                    new
                }
                None => match self.parsed.remove(&path) {
                    Some(old) => old,
                    None => continue,
                },
            };
            next.insert(path, entry);
        }
        // What is left of the old files is the files that are gone.
        let gone = !self.parsed.is_empty();
        self.parsed = next;
        if !parsed.is_empty() || gone {
            self.index_paths();
        }
        self.skipped = walked.skipped;
        Ok(parsed)
    }

    /// Reads the known rule files `paths` again (without a walk); a file that is gone, or is
    /// no Sigma document any more, is forgotten. Returns the files parsed.
    fn reread(&mut self, paths: &HashSet<PathBuf>, options: &BuildOptions) -> HashSet<PathBuf> {
        let mut parsed = HashSet::new();
        let mut forgot = false;
        for path in paths {
            let Some(old) = self.parsed.remove(path) else {
                continue;
            };
            let stamp = stamp(path);
            let exists = stamp.0.is_some() || std::fs::symlink_metadata(path).is_ok();
            match exists.then(|| parse(old.input, stamp, options)).flatten() {
                Some((path, new)) => {
                    parsed.insert(path.clone());
                    self.parsed.insert(path, new);
                }
                None => forgot = true,
            }
        }
        if forgot {
            self.index_paths();
        }
        parsed
    }

    fn index_paths(&mut self) {
        self.absolute = self
            .parsed
            .keys()
            .map(|p| {
                (
                    std::path::absolute(p).unwrap_or_else(|_| p.clone()),
                    p.clone(),
                )
            })
            .collect();
    }

    /// The fingerprint of what regression results depend on beyond the rule files: the
    /// epoch, and the modification time and size of each `--events` file.
    fn epoch_key(&self, options: &BuildOptions) -> u64 {
        let mut key = Key::new("epoch").u64(self.epoch);
        for path in &options.events {
            let (time, len) = stamp(path);
            let nanos = time
                .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            key = key.path(path).bytes(&nanos.to_le_bytes()).u64(len);
        }
        key.finish()
    }

    /// Converts the queries of the files that need them (those with a page and those a
    /// filter with a page tunes) and whose key changed. Returns how many files were converted.
    fn convert(
        &mut self,
        rules: &RuleSet,
        entries: &[RuleEntry],
        keys: &[u64],
        options: &BuildOptions,
    ) -> usize {
        let mut needed = vec![false; rules.files.len()];
        for entry in entries {
            needed[entry.file] = true;
            for document in 0..rules.files[entry.file].documents.len() {
                let at = DocumentRef {
                    file: entry.file,
                    document,
                };
                for tuned in rules.tuned_by(at) {
                    needed[tuned.file] = true;
                }
            }
        }
        let kept = &self.queries;
        let done: Vec<(PathBuf, u64, Arc<Vec<QueryItem>>, bool)> = (0..rules.files.len())
            .into_par_iter()
            .filter(|&i| needed[i])
            .map(|i| {
                let file = &rules.files[i];
                match kept.get(&file.path) {
                    Some((key, q)) if *key == keys[i] => {
                        (file.path.clone(), keys[i], Arc::clone(q), false)
                    }
                    _ => {
                        let q = rule_page::queries(
                            file,
                            rules,
                            &options.targets,
                            options.mapping.as_deref(),
                        );
                        (file.path.clone(), keys[i], Arc::new(q), true)
                    }
                }
            })
            .collect();
        let converted = done.iter().filter(|d| d.3).count();
        self.queries = done
            .into_iter()
            .map(|(path, key, q, _)| (path, (key, q)))
            .collect();
        converted
    }

    /// Records the rendered `units` and returns the changed files: theirs, and `None` for the
    /// files of units (named with `prefix`) that are not `present` any more and for the
    /// files a rendered unit no longer writes.
    fn apply(
        &mut self,
        units: Vec<Rendered>,
        prefix: &str,
        present: &[String],
    ) -> BTreeMap<String, Option<Vec<u8>>> {
        let mut delta: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        let present: HashSet<&str> = present.iter().map(String::as_str).collect();
        let gone: Vec<String> = self
            .units
            .keys()
            .filter(|name| name.starts_with(prefix) && !present.contains(name.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(unit) = self.units.remove(&name) {
                for path in unit.outputs {
                    delta.insert(path, None);
                }
            }
        }
        for (name, _, files) in &units {
            if let Some(old) = self.units.get(name) {
                for path in &old.outputs {
                    if !files.contains_key(path) {
                        delta.insert(path.clone(), None);
                    }
                }
            }
        }
        for (name, key, files) in units {
            let outputs = files.keys().cloned().collect();
            for (path, bytes) in files {
                delta.insert(path, Some(bytes));
            }
            self.units.insert(name, Unit { key, outputs });
        }
        delta
    }
}

fn stamp(path: &Path) -> (Option<SystemTime>, u64) {
    std::fs::metadata(path)
        .map(|m| (m.modified().ok(), m.len()))
        .unwrap_or((None, 0))
}

/// Parses a walked file; `None` when it is not a Sigma document (left out, as a build leaves
/// it out).
fn parse(
    input: InputFile,
    stamp: (Option<SystemTime>, u64),
    options: &BuildOptions,
) -> Option<(PathBuf, Parsed)> {
    let file = crate::load::parse_input(&input, &options.parse).ok()?;
    let hash = Key::new("source")
        .path(&file.path)
        .path(&file.relative)
        .bytes(file.source.as_bytes())
        .finish();
    Some((
        input.path.clone(),
        Parsed {
            stamp,
            input,
            file,
            hash,
        },
    ))
}

/// The fingerprint of everything in an entry, for the pages that show entries: its JSON form
/// and the fields that form leaves out.
fn entry_content(entry: &RuleEntry, epoch: u64) -> u64 {
    let sources: Vec<Option<&PathBuf>> =
        entry.regression.iter().map(|r| r.source.as_ref()).collect();
    let copied = sources.iter().any(Option::is_some);
    Key::new("entry content")
        .json(entry)
        .json(&entry.enrichment)
        .json(&entry.retired)
        .json(&entry.diagnostics)
        .json(&sources)
        // A copied events file is read again when the regression data may have changed.
        .u64(if copied { epoch } else { 0 })
        .finish()
}

/// What a rule page reads besides its own entry and queries, to tell whether it changed
/// without building its context: mirrors what [`rule_page::rule_page`] and its filter
/// sections look at.
struct PageInputs<'a> {
    rules: &'a RuleSet,
    entries: &'a [RuleEntry],
    relations: &'a model::Relations,
    indexes: &'a Indexes,
    file_keys: &'a [u64],
    query_keys: &'a [u64],
    by_file: &'a [Option<usize>],
}

impl PageInputs<'_> {
    /// The key of the page of entry `i`.
    fn key(&self, i: usize, site_key: u64, content: u64) -> u64 {
        let entry = &self.entries[i];
        let file = &self.rules.files[entry.file];
        let pages = &self.indexes.pages;
        let mut key = Key::new("rule page")
            .u64(site_key)
            .u64(content)
            .u64(self.query_keys[entry.file]);
        // The index pages it links to.
        for author in &entry.authors {
            key = key.opt(pages.authors.get(author));
        }
        for tactic in &entry.enrichment.tactics {
            key = key.opt(pages.tactics.get(&tactic.id));
        }
        for technique in &entry.enrichment.techniques {
            key = key.opt(pages.techniques.get(&technique.effective().id));
        }
        for data in &entry.enrichment.data_needed {
            key = key.opt(pages.data_needed.get(&data.id));
        }
        for tag in &entry.enrichment.other_tags {
            key = key.opt(pages.tags.get(&tag.tag.to_ascii_lowercase()));
        }
        for logsource in &entry.logsources {
            key = key.opt(pages.logsources.get(logsource));
        }
        // The rules it is related to: their titles and pages.
        let relations = self.relations;
        for list in [&relations.uses, &relations.used_by, &relations.related] {
            key = key.u64(u64::MAX);
            for relation in list.get(i).map_or(&[][..], Vec::as_slice) {
                let other = relation.other.and_then(|o| self.entries.get(o));
                key = key
                    .bytes(relation.label.as_bytes())
                    .bytes(relation.reference.as_bytes())
                    .opt(other.map(|o| &o.title))
                    .opt(other.map(|o| &o.page));
            }
        }
        // The filters that tune it, and the rules it tunes as a filter, with their queries.
        key = key.u64(u64::MAX);
        for document in &file.documents {
            for filter in self.rules.filters_of(file, document) {
                key = key
                    .u64(self.file_keys[filter.file])
                    .u64(filter.document as u64)
                    .opt(self.page_of(filter.file));
            }
        }
        key = key.u64(u64::MAX);
        for document in 0..file.documents.len() {
            let at = DocumentRef {
                file: entry.file,
                document,
            };
            for tuned in self.rules.tuned_by(at) {
                let other = self.by_file[tuned.file].and_then(|o| self.entries.get(o));
                key = key
                    .u64(self.file_keys[tuned.file])
                    .u64(self.query_keys[tuned.file])
                    .opt(other.map(|o| &o.title))
                    .opt(other.map(|o| &o.page));
            }
        }
        key.finish()
    }

    fn page_of(&self, file: usize) -> Option<&String> {
        self.by_file[file]
            .and_then(|o| self.entries.get(o))
            .map(|e| &e.page)
    }
}

/// The key of the queries of file `i`: what converting it reads from the rule set. That is
/// the file itself; per document, the filters that tune it and whether a correlation uses it
/// or hides it; and for a correlation, each rule it names, as the rule set resolves the name,
/// with the filters that tune that rule.
fn query_key(rules: &RuleSet, file_keys: &[u64], i: usize) -> u64 {
    let file = &rules.files[i];
    let filters = |key: Key, file: &RuleFile, document: &crate::sigma::Document| {
        rules
            .filters_of(file, document)
            .iter()
            .fold(key, |key, f| {
                key.u64(file_keys[f.file])
                    .u64(rules.document(*f).index as u64)
            })
            .u64(u64::MAX)
    };
    let mut key = Key::new("queries").u64(file_keys[i]);
    for document in &file.documents {
        key = filters(key.u64(document.index as u64), file, document)
            .u64(u64::from(rules.is_used_by_correlation(file, document)))
            .u64(u64::from(
                rules.is_generated_only_by_correlation(file, document),
            ));
        if let SigmaKind::Correlation(c) = &document.kind {
            for reference in &c.correlation.rules {
                key = match rules.lookup(&reference.reference) {
                    Some(at) => {
                        let target = &rules.files[at.file];
                        let document = rules.document(at);
                        filters(
                            key.u64(file_keys[at.file]).u64(document.index as u64),
                            target,
                            document,
                        )
                        .u64(u64::from(rules.is_used_by_correlation(target, document)))
                    }
                    None => key.u64(u64::MAX - 1),
                };
            }
        }
    }
    key.finish()
}
