//! The incremental build behind `sigwiki serve`: what a build computed is kept between builds,
//! and after a change only what depends on the changed files is computed and rendered again.
//!
//! Kept between builds:
//! - every rule file as parsed, before the rule set resolved references (so a file whose
//!   diagnostics came from another file is resolved afresh), with the modification time and
//!   size it was parsed at: only new and changed files are read and parsed again;
//! - each file's entry (its enrichment and regression results) and queries, each under a key
//!   that covers everything it is computed from: the file, the filters that tune it, the rules
//!   its correlations use, and whether a correlation uses it;
//! - for every output unit (a rule page, an index page, the site pages and exports together)
//!   the key it was last rendered under: a fingerprint of its whole template context and of
//!   the site-wide values. A unit is rendered again only when its key changed, so the result is
//!   the bytes a whole build gives, which `tests/site_incremental.rs` checks after a series of
//!   edits.
//!
//! An update publishes in two steps: the rule pages first (the page being edited is what the
//! browser waits for), then the index pages, site pages and exports, which are skipped when no
//! entry, failed file or redirect changed.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rayon::prelude::*;
use serde::Serialize;
use tera::Value;

use crate::sigma::{Diagnostic, DocumentRef, RuleFile, RuleSet, SigmaKind};

use super::SiteError;
use super::build::{self, BuildOptions, Builder, Indexes, SiteInfo};
use super::enrichment::Enricher;
use super::model::{self, QueryItem, RuleEntry};
use super::output::Output;
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
    /// The file.
    file: RuleFile,
    /// Fingerprint of its path, relative path and text: the parse is a function of these.
    hash: u64,
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
    /// Queries converted again (one per file, every target).
    pub converted: usize,
    /// Output units rendered again (a rule page, an index page, the site pages).
    pub rendered: usize,
    /// How long each step took.
    pub timings: Vec<(&'static str, Duration)>,
}

/// What an incremental build keeps between builds.
#[derive(Default)]
pub struct SiteCache {
    parsed: HashMap<PathBuf, Parsed>,
    /// The paths of `parsed`, made absolute, as change events name them.
    absolute: std::collections::HashSet<PathBuf>,
    skipped: Vec<Diagnostic>,
    entries: HashMap<PathBuf, (u64, RuleEntry)>,
    queries: HashMap<PathBuf, (u64, Arc<Vec<QueryItem>>)>,
    units: HashMap<String, Unit>,
    /// The key of the index pages, site pages and exports as a whole, when they are current.
    site_key: Option<u64>,
    /// Changed when data outside the rule files changed (regression test data), so the
    /// entries, which hold the regression results, are computed again.
    epoch: u64,
    /// The last update did not finish a whole build: the next one renders everything.
    incomplete: bool,
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

impl SiteCache {
    /// An empty cache: the first update builds everything.
    pub fn new() -> SiteCache {
        SiteCache::default()
    }

    /// Whether `path` (absolute) is a rule file of the last update.
    pub fn knows(&self, path: &Path) -> bool {
        self.absolute.contains(path)
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
        let whole = self.incomplete || self.units.is_empty();
        if whole {
            self.units.clear();
            self.site_key = None;
            self.incomplete = true;
        }
        let parsed = self.refresh(options)?;
        clock.lap("walk and parse");

        // The pristine files go into a new rule set, which resolves references afresh.
        let pristine: Vec<&Parsed> = self.parsed.values().collect();
        let files: Vec<RuleFile> = pristine.par_iter().map(|p| p.file.clone()).collect();
        let rules = RuleSet::new(files);
        clock.lap("resolve");

        // What each file is, after resolution: its text and its diagnostics, which include
        // those the rule set added and say which documents it dropped.
        let file_keys: Vec<u64> = rules
            .files
            .par_iter()
            .map(|file| {
                let hash = self.parsed.get(&file.path).map_or(0, |p| p.hash);
                let indices: Vec<usize> = file.documents.iter().map(|d| d.index).collect();
                Key::new("file")
                    .u64(hash)
                    .json(&file.diagnostics)
                    .json(&indices)
                    .finish()
            })
            .collect();
        let query_keys: Vec<u64> = (0..rules.files.len())
            .into_par_iter()
            .map(|i| query_key(&rules, &file_keys, i))
            .collect();

        let mut diagnostics = self.skipped.clone();
        let (planned, failed_files) = build::plan_pages(&rules, &mut diagnostics);
        let epoch = self.epoch_key(options);
        let entry_keys: Vec<u64> = planned
            .iter()
            .map(|(index, page)| {
                Key::new("entry")
                    .u64(query_keys[*index])
                    .u64(epoch)
                    .bytes(page.as_bytes())
                    .finish()
            })
            .collect();
        let entries = self.entries(&rules, planned, &entry_keys, options, enricher);
        for entry in &entries {
            diagnostics.extend(entry.diagnostics.iter().cloned());
        }
        diagnostics.sort();
        diagnostics.dedup();
        let relations = model::relations(&entries, &rules);
        let indexes = Indexes::new(&entries);
        clock.lap("entries, relations and indexes");

        let converted = self.convert(&rules, &entries, &query_keys, options);
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
        let builder = Builder {
            rules: &rules,
            entries: &entries,
            relations: &relations,
            indexes: &indexes,
            options,
            templates,
            enricher,
            output: &output,
            queries_of: Some(&queries_of),
            site_value: Value::from_serializable(&site),
        };

        let mut rendered = 0;
        let mut whole_site: BTreeMap<String, Option<Vec<u8>>> = BTreeMap::new();
        let counts = (entries.len(), failed_files.len());

        // Step one: the rule pages.
        let units: Vec<Result<Option<Rendered>, SiteError>> = (0..entries.len())
            .into_par_iter()
            .map(|i| {
                let Some(page) = builder.rule_page_context(i) else {
                    return Ok(None);
                };
                let name = format!("rule:{}", entries[i].page);
                let key = Key::new("rule page")
                    .u64(site_key)
                    .u64(entry_keys[i])
                    .json(&page)
                    .finish();
                if self.units.get(&name).is_some_and(|u| u.key == key) {
                    return Ok(None);
                }
                let out = Output::memory();
                Builder {
                    output: &out,
                    site_value: builder.site_value.clone(),
                    ..builder
                }
                .write_rule_page(&page)?;
                Ok(Some((name, key, out.commit()?)))
            })
            .collect();
        let units = units.into_iter().collect::<Result<Vec<_>, _>>()?;
        let present: Vec<String> = entries
            .iter()
            .map(|e| format!("rule:{}", e.page))
            .collect();
        rendered += units.iter().flatten().count();
        let delta = self.apply(units.into_iter().flatten().collect(), "rule:", &present);
        clock.lap("rule pages");
        if whole {
            whole_site.extend(delta);
        } else {
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
            .json(&entry_keys)
            .json(&failed_files)
            .json(&relations.redirects)
            .finish();
        if self.site_key != Some(pages_key) {
            self.site_key = None;
            let jobs = builder.index_jobs();
            let present: Vec<String> = jobs
                .iter()
                .map(|(path, _)| format!("list:{path}"))
                .collect();
            let units: Vec<Result<Option<Rendered>, SiteError>> = jobs
                .into_par_iter()
                .map(|(path, page)| {
                    let name = format!("list:{path}");
                    let key = Key::new("index page")
                        .u64(site_key)
                        .bytes(path.as_bytes())
                        .json(&page)
                        .finish();
                    if self.units.get(&name).is_some_and(|u| u.key == key) {
                        return Ok(None);
                    }
                    let out = Output::memory();
                    Builder {
                        output: &out,
                        site_value: builder.site_value.clone(),
                        ..builder
                    }
                    .list_page(&path, page)?;
                    Ok(Some((name, key, out.commit()?)))
                })
                .collect();
            let mut units = units
                .into_iter()
                .filter_map(Result::transpose)
                .collect::<Result<Vec<_>, _>>()?;
            let out = Output::memory();
            let site_builder = Builder {
                output: &out,
                site_value: builder.site_value.clone(),
                ..builder
            };
            site_builder.site_pages(&failed_files)?;
            super::regression::write_events(&out, &entries)?;
            units.push(("site".to_string(), pages_key, out.commit()?));
            rendered += units.len();
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
        Ok(UpdateReport {
            rule_pages: counts.0,
            failed: counts.1,
            diagnostics,
            parsed,
            converted,
            rendered,
            timings: clock.laps,
        })
    }

    /// Walks the inputs, re-reads the files that are new or whose modification time or size
    /// changed, and forgets the files that are gone. Returns how many files were parsed.
    fn refresh(&mut self, options: &BuildOptions) -> Result<usize, SiteError> {
        let walked = crate::walk::walk(&options.inputs)?;
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| (m.modified().ok(), m.len()))
                .unwrap_or((None, 0))
        };
        let known = &self.parsed;
        let fresh: Vec<(PathBuf, Option<Parsed>)> = walked
            .files
            .par_iter()
            .filter_map(|input| {
                let stamp = stamp(&input.path);
                match known.get(&input.path) {
                    // A file without a modification time is always read again.
                    Some(p) if p.stamp == stamp && stamp.0.is_some() => {
                        (p.file.relative == input.relative).then(|| (input.path.clone(), None))
                    }
                    _ => None,
                }
                .or_else(|| {
                    // Not a Sigma document: left out, as a build leaves it out.
                    let file = crate::load::parse_input(input, &options.parse).ok()?;
                    let hash = Key::new("source")
                        .path(&file.path)
                        .path(&file.relative)
                        .bytes(file.source.as_bytes())
                        .finish();
                    Some((
                        input.path.clone(),
                        Some(Parsed { stamp, file, hash }),
                    ))
                })
            })
            .collect();
        let mut parsed = 0;
        let mut next = HashMap::with_capacity(fresh.len());
        for (path, entry) in fresh {
            let entry = match entry {
                Some(new) => {
                    parsed += 1;
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
        if parsed > 0 || !self.parsed.is_empty() || self.absolute.len() != next.len() {
            self.absolute = next
                .keys()
                .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()))
                .collect();
        }
        self.parsed = next;
        self.skipped = walked.skipped;
        Ok(parsed)
    }

    /// The fingerprint of what regression results depend on beyond the rule files: the
    /// epoch, and the modification time and size of each `--events` file.
    fn epoch_key(&self, options: &BuildOptions) -> u64 {
        let mut key = Key::new("epoch").u64(self.epoch);
        for path in &options.events {
            let stamp = std::fs::metadata(path)
                .ok()
                .map(|m| (m.modified().ok(), m.len()));
            key = key.path(path).json(&stamp.map(|(t, len)| {
                (
                    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                        .map(|d| d.as_nanos()),
                    len,
                )
            }));
        }
        key.finish()
    }

    /// The entries of the planned pages: kept ones when their key is unchanged, the others
    /// computed (and their regression tests run) now.
    fn entries(
        &mut self,
        rules: &RuleSet,
        planned: Vec<(usize, model::PagePath)>,
        keys: &[u64],
        options: &BuildOptions,
        enricher: &dyn Enricher,
    ) -> Vec<RuleEntry> {
        let kept = &self.entries;
        let slots: Vec<Result<RuleEntry, (usize, model::PagePath)>> = planned
            .into_par_iter()
            .zip(keys.par_iter())
            .map(|((index, page), key)| {
                let file = &rules.files[index];
                match kept.get(&file.path) {
                    Some((k, entry)) if k == key => {
                        let mut entry = entry.clone();
                        entry.file = index;
                        Ok(entry)
                    }
                    _ => Err((index, page)),
                }
            })
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
        super::regression::attach(rules, &mut fresh, &options.events);
        let mut fresh = fresh.into_iter().peekable();
        let mut entries = Vec::with_capacity(slots.len());
        let mut memo = HashMap::with_capacity(slots.len());
        for (slot, key) in slots.into_iter().zip(keys) {
            let entry = match slot {
                Ok(entry) => entry,
                Err((index, _)) => match fresh.next_if(|e| e.file == index) {
                    Some(entry) => entry,
                    // A planned file always has a document, so it always has an entry.
                    None => continue,
                },
            };
            memo.insert(rules.files[entry.file].path.clone(), (*key, entry.clone()));
            entries.push(entry);
        }
        self.entries = memo;
        entries
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
                        let q = build::queries(
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
        let present: std::collections::HashSet<&str> =
            present.iter().map(String::as_str).collect();
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
