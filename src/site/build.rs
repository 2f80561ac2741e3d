//! The whole-site build: load the rules, compute every rule's entry and the relations between
//! rules, render the rule pages (in parallel, queries converted per page and dropped once the
//! page is written), then the index pages, the coverage matrix and the exports.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use tera::{Context, Value};

use crate::convert::mapping::FieldMapping;
use crate::sigma::{Diagnostic, ParseOptions, RuleFile, RuleSet, SigmaKind};

use super::coverage;
use super::enrichment::{DataNeeded, Enricher, TechniqueRef, Trigger};
use super::exports;
use super::markdown;
use super::model::{
    self, CorrelationItem, CustomField, DataNeededItem, Fact, Group, Link, ListPage, LogSourceItem,
    LogSourceKey, PagePath, QueryItem, RelationItem, Relations, RuleEntry, RulePage, RuleRow,
    Slugs, TacticItem, TagItem, TechniqueItem, root_of,
};
use super::output::Output;
use super::targets::QueryTarget;
use super::templates::Templates;
use super::{SiteError, enrichment};

/// What a build is asked to do.
pub struct BuildOptions {
    /// Rule files and folders.
    pub inputs: Vec<PathBuf>,
    /// The site's title.
    pub title: String,
    /// The path the site is served under, with leading and trailing `/` (`/`, `/repo/`).
    pub base_url: String,
    /// The absolute URL of the published site, with a trailing `/`.
    pub site_url: Option<String>,
    /// Query target entries (a target and its pipelines), in page order.
    pub targets: Vec<QueryTarget>,
    /// Rule parsing options.
    pub parse: ParseOptions,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Add the live-reload script (`sigwiki serve`).
    pub live_reload: bool,
    /// The field mapping applied before every conversion (`--mapping`), if any.
    pub mapping: Option<Arc<FieldMapping>>,
    /// Events files every rule page shows its matches in (`--events`).
    pub events: Vec<PathBuf>,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("inputs", &self.inputs)
            .field("title", &self.title)
            .field("base_url", &self.base_url)
            .field("site_url", &self.site_url)
            .field(
                "targets",
                &self
                    .targets
                    .iter()
                    .map(QueryTarget::spec)
                    .collect::<Vec<_>>(),
            )
            .field("mapping", &self.mapping.as_ref().map(|m| &m.name))
            .finish_non_exhaustive()
    }
}

impl BuildOptions {
    /// Options with defaults: no targets, base URL `/`.
    pub fn new(inputs: Vec<PathBuf>) -> BuildOptions {
        BuildOptions {
            inputs,
            title: "Detection rules".to_string(),
            base_url: "/".to_string(),
            site_url: None,
            targets: Vec::new(),
            parse: ParseOptions::default(),
            progress: false,
            live_reload: false,
            mapping: None,
            events: Vec::new(),
        }
    }

    /// The name of the field mapping some queries are written with: `mapping`, when a target
    /// entry without pipelines uses it (entries with pipelines do not).
    pub fn mapping_shown(&self) -> Option<String> {
        let mapping = self.mapping.as_ref()?;
        self.targets
            .iter()
            .any(|t| t.chain.is_none())
            .then(|| mapping.name.clone())
    }
}

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
    pub timings: Vec<(&'static str, std::time::Duration)>,
}

/// Loads the rules under `options.inputs` and builds the site into `output`.
pub fn build(
    options: &BuildOptions,
    templates: &Templates,
    enricher: &dyn Enricher,
    output: Output,
) -> Result<BuildReport, SiteError> {
    let start = std::time::Instant::now();
    let loaded = crate::load::load(&options.inputs, &options.parse)?;
    let parsed = start.elapsed();
    let mut report = build_from(
        &loaded.rules,
        loaded.skipped,
        options,
        templates,
        enricher,
        output,
    )?;
    report.timings.insert(0, ("load and parse", parsed));
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
    let (planned, failed_files) = plan_pages(rules, &mut diagnostics);

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
    let site = SiteInfo::new(options, enricher, !failed_files.is_empty());
    let builder = Builder {
        rules,
        entries: &entries,
        relations: &relations,
        indexes: &indexes,
        options,
        templates,
        enricher,
        output: &output,
        queries_of: None,
        site_value: Value::from_serializable(&site),
    };

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
    let written: usize = (0..entries.len())
        .into_par_iter()
        .map(|i| {
            let n = builder.rule_page(i)?;
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            Ok(n)
        })
        .collect::<Result<Vec<usize>, SiteError>>()?
        .into_iter()
        .sum();
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    clock.lap("rule pages");
    let mut total = written;
    total += builder.index_pages()?;
    clock.lap("index pages");
    total += builder.site_pages(&failed_files)?;
    total += super::regression::write_events(&output, &entries)?;
    clock.lap("site pages and exports");
    let report = BuildReport {
        rule_pages: entries.len(),
        failed: failed_files.len(),
        files_written: total,
        diagnostics,
        files: BTreeMap::new(),
        timings: Vec::new(),
    };
    let files = output.commit()?;
    clock.lap("swap in");
    Ok(BuildReport {
        files,
        timings: clock.laps,
        ..report
    })
}

/// Which files of `rules` get pages, and where, and which fail (sorted by file). Every
/// diagnostic of the files, and one per page collision, goes into `diagnostics`. Shared with
/// the incremental build of `sigwiki serve` ([`super::cache`]).
pub(crate) fn plan_pages(
    rules: &RuleSet,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<(usize, PagePath)>, Vec<FailedFile>) {
    for file in &rules.files {
        diagnostics.extend(file.diagnostics.iter().cloned());
    }
    // Which files get pages, and where.
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

struct Clock {
    last: std::time::Instant,
    laps: Vec<(&'static str, std::time::Duration)>,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            last: std::time::Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }
}

/// The page path of a rule file: `rules/` + its relative path without extension, each segment
/// kept when it is a plain name and made safe otherwise.
pub fn page_path(relative: &Path) -> PagePath {
    let mut parts: Vec<String> = relative
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    if let Some(last) = parts.last_mut() {
        let stem = Path::new(last.as_str())
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        *last = stem;
    }
    let safe: Vec<String> = parts
        .iter()
        .map(|p| {
            let plain = !p.is_empty()
                && !p.starts_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if plain {
                p.clone()
            } else {
                model::path_segment(p)
            }
        })
        .collect();
    if safe.is_empty() {
        "rules/rule".to_string()
    } else {
        format!("rules/{}", safe.join("/"))
    }
}

/// `id` in lower case when it is a UUID (`8-4-4-4-12` hex digits), else `None`.
fn canonical_uuid(id: &str) -> Option<String> {
    let groups: Vec<&str> = id.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let ok = groups.len() == shape.len()
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    ok.then(|| id.to_ascii_lowercase())
}

/// A rule file without a page, for the error page.
#[derive(Debug, Clone, Serialize)]
pub struct FailedFile {
    /// The file as given or found.
    pub file: String,
    /// Its errors.
    pub errors: Vec<FailedDiagnostic>,
}

/// One error of a failed file.
#[derive(Debug, Clone, Serialize)]
pub struct FailedDiagnostic {
    /// Line.
    pub line: usize,
    /// Column.
    pub column: usize,
    /// Stable code.
    pub code: String,
    /// Explanation.
    pub message: String,
}

impl FailedFile {
    fn new(file: &RuleFile, errors: Vec<&Diagnostic>) -> FailedFile {
        let errors = if errors.is_empty() {
            vec![FailedDiagnostic {
                line: 1,
                column: 1,
                code: "empty-file".to_string(),
                message: "the file contains no usable Sigma document".to_string(),
            }]
        } else {
            errors
                .into_iter()
                .map(|d| FailedDiagnostic {
                    line: d.line,
                    column: d.column,
                    code: d.code.to_string(),
                    message: d.message.clone(),
                })
                .collect()
        };
        FailedFile {
            file: file.path.display().to_string(),
            errors,
        }
    }
}

/// Settings every HTML page sees as `site`.
#[derive(Debug, Clone, Serialize)]
pub struct SiteInfo {
    /// Title.
    pub title: String,
    /// Base URL (`/repo/`).
    pub base_url: String,
    /// Absolute site URL, if known.
    pub site_url: Option<String>,
    /// Whether the live-reload script runs.
    pub live_reload: bool,
    /// Whether the build had failed rules (the navigation shows the error page).
    pub has_errors: bool,
    /// Inline stylesheet (previews only).
    pub inline_css: Option<String>,
    /// Inline script (previews only).
    pub inline_js: Option<String>,
    /// The ATT&CK version of the catalog, if any.
    pub attack_version: Option<String>,
}

impl SiteInfo {
    pub(crate) fn new(
        options: &BuildOptions,
        enricher: &dyn Enricher,
        has_errors: bool,
    ) -> SiteInfo {
        SiteInfo {
            title: options.title.clone(),
            base_url: options.base_url.clone(),
            site_url: options.site_url.clone(),
            live_reload: options.live_reload,
            has_errors,
            inline_css: None,
            inline_js: None,
            attack_version: enricher.matrix().map(|m| m.version.clone()),
        }
    }
}

/// Which rules are under each tactic, technique, log source… and the page of each.
#[derive(Debug, Default)]
pub struct Indexes {
    /// Tactic id → (tactic, rules).
    pub tactics: BTreeMap<String, (enrichment::Tactic, Vec<usize>)>,
    /// Effective technique id → (technique, rules, triggers).
    pub techniques: BTreeMap<String, (TechniqueRef, Vec<usize>, Vec<Trigger>)>,
    /// Log source → rules.
    pub logsources: BTreeMap<LogSourceKey, Vec<usize>>,
    /// Level → rules.
    pub levels: BTreeMap<&'static str, Vec<usize>>,
    /// Status → rules.
    pub statuses: BTreeMap<&'static str, Vec<usize>>,
    /// Tag (lowercase) → rules.
    pub tags: BTreeMap<String, Vec<usize>>,
    /// Author → rules.
    pub authors: BTreeMap<String, Vec<usize>>,
    /// Data Needed id → (entry, rules).
    pub data_needed: BTreeMap<String, (DataNeeded, Vec<usize>)>,
    /// Page paths of the index pages, by kind and key.
    pub pages: PageMap,
}

/// Page paths of index pages.
#[derive(Debug, Default)]
pub struct PageMap {
    /// Tactic id → page.
    pub tactics: HashMap<String, PagePath>,
    /// Technique id → page.
    pub techniques: HashMap<String, PagePath>,
    /// Log source → page.
    pub logsources: HashMap<LogSourceKey, PagePath>,
    /// Tag (lowercase) → page.
    pub tags: HashMap<String, PagePath>,
    /// Author → page.
    pub authors: HashMap<String, PagePath>,
    /// Data Needed id → page.
    pub data_needed: HashMap<String, PagePath>,
}

impl Indexes {
    /// Groups the entries.
    pub fn new(entries: &[RuleEntry]) -> Indexes {
        let mut ix = Indexes::default();
        for (i, e) in entries.iter().enumerate() {
            // A retired rule (deprecated, unsupported) keeps its other index entries but does
            // not count towards the ATT&CK coverage: SigmaHQ no longer runs it.
            let coverage: &[_] = if e.retired.is_none() {
                &e.enrichment.tactics
            } else {
                &[]
            };
            for t in coverage {
                ix.tactics
                    .entry(t.id.clone())
                    .or_insert_with(|| (t.clone(), Vec::new()))
                    .1
                    .push(i);
            }
            let techniques: &[_] = if e.retired.is_none() {
                &e.enrichment.techniques
            } else {
                &[]
            };
            for t in techniques {
                let effective = t.effective();
                ix.techniques
                    .entry(effective.id.clone())
                    .or_insert_with(|| (effective.clone(), Vec::new(), Vec::new()))
                    .1
                    .push(i);
            }
            for trig in &e.enrichment.triggers {
                if let Some(slot) = ix.techniques.get_mut(&trig.technique) {
                    if !slot.2.iter().any(|t| t.url == trig.url) {
                        slot.2.push(trig.clone());
                    }
                }
            }
            for ls in &e.logsources {
                ix.logsources.entry(ls.clone()).or_default().push(i);
            }
            if let Some(l) = e.level {
                ix.levels.entry(l).or_default().push(i);
            }
            if let Some(s) = e.status {
                ix.statuses.entry(s).or_default().push(i);
            }
            for tag in &e.tags {
                ix.tags.entry(tag.to_ascii_lowercase()).or_default().push(i);
            }
            for a in &e.authors {
                ix.authors.entry(a.clone()).or_default().push(i);
            }
            for d in &e.enrichment.data_needed {
                ix.data_needed
                    .entry(d.id.clone())
                    .or_insert_with(|| (d.clone(), Vec::new()))
                    .1
                    .push(i);
            }
        }
        for list in ix.logsources.values_mut() {
            list.dedup();
        }
        for list in ix.tags.values_mut() {
            list.dedup();
        }
        for list in ix.authors.values_mut() {
            list.dedup();
        }
        for (_, list, triggers) in ix.techniques.values_mut() {
            list.dedup();
            triggers.sort_by(|a, b| a.technique.cmp(&b.technique));
        }
        let reserved = ["index"];
        let mut slugs = Slugs::new(&reserved);
        for id in ix.tactics.keys() {
            ix.pages
                .tactics
                .insert(id.clone(), format!("tactics/{}", slugs.assign(id)));
        }
        let mut slugs = Slugs::new(&reserved);
        for id in ix.techniques.keys() {
            ix.pages
                .techniques
                .insert(id.clone(), format!("techniques/{}", slugs.assign(id)));
        }
        let mut slugs = Slugs::new(&reserved);
        for key in ix.logsources.keys() {
            ix.pages.logsources.insert(
                key.clone(),
                format!("logsources/{}", slugs.assign(&key.slug_source())),
            );
        }
        let mut slugs = Slugs::new(&reserved);
        for tag in ix.tags.keys() {
            ix.pages
                .tags
                .insert(tag.clone(), format!("tags/{}", slugs.assign(tag)));
        }
        let mut slugs = Slugs::new(&reserved);
        for author in ix.authors.keys() {
            ix.pages
                .authors
                .insert(author.clone(), format!("authors/{}", slugs.assign(author)));
        }
        let mut slugs = Slugs::new(&reserved);
        for id in ix.data_needed.keys() {
            ix.pages
                .data_needed
                .insert(id.clone(), format!("data-needed/{}", slugs.assign(id)));
        }
        ix
    }
}

/// A file's queries, by its index in the rule set, when something other than the builder
/// converted them (the incremental build of `sigwiki serve` keeps them between builds).
pub(crate) type QueriesOf<'a> = &'a (dyn Fn(usize) -> Option<Vec<QueryItem>> + Sync);

/// Renders the pages of one build into its output.
pub(crate) struct Builder<'a> {
    pub(crate) rules: &'a RuleSet,
    pub(crate) entries: &'a [RuleEntry],
    pub(crate) relations: &'a Relations,
    pub(crate) indexes: &'a Indexes,
    pub(crate) options: &'a BuildOptions,
    pub(crate) templates: &'a Templates,
    pub(crate) enricher: &'a dyn Enricher,
    pub(crate) output: &'a Output,
    /// Where queries come from instead of converting them; `None` in a whole build.
    pub(crate) queries_of: Option<QueriesOf<'a>>,
    pub(crate) site_value: Value,
}

/// `from` → `to`, both page paths, as a relative `.md` href.
fn href(root: &str, to: &str) -> String {
    format!("{root}{to}.md")
}

impl Builder<'_> {
    /// The queries of file `index` of the rule set: from `queries_of` when it has them, else
    /// converted now.
    fn queries_of(&self, index: usize, file: &RuleFile) -> Vec<QueryItem> {
        if let Some(found) = self.queries_of.and_then(|of| of(index)) {
            return found;
        }
        queries(
            file,
            self.rules,
            &self.options.targets,
            self.options.mapping.as_deref(),
        )
    }

    fn rule_page(&self, i: usize) -> Result<usize, SiteError> {
        match self.rule_page_context(i) {
            Some(page) => self.write_rule_page(&page),
            None => Ok(0),
        }
    }

    /// The context of the page of entry `i` (`None` if its file is not in the rule set).
    pub(crate) fn rule_page_context(&self, i: usize) -> Option<RulePage<'_>> {
        let entry = &self.entries[i];
        let file = self.rules.files.get(entry.file)?;
        let queries = self.queries_of(entry.file, file);
        let neighbours = Neighbours {
            entries: self.entries,
            relations: self.relations,
            indexes: self.indexes,
            catalog: self.enricher.matrix().is_some(),
        };
        let mut page = rule_page(entry, file, neighbours, i, queries);
        page.field_mapping = self.options.mapping_shown();
        (page.tuned_by, page.tuned_rules) = self.filter_sections(entry, file);
        Some(page)
    }

    /// Writes the Markdown, HTML and JSON files of a rule page.
    pub(crate) fn write_rule_page(&self, page: &RulePage<'_>) -> Result<usize, SiteError> {
        let entry = page.rule;
        let markdown = self.templates.render_markdown(
            "rule.md",
            &Context::from_serialize(page).map_err(|e| SiteError::Template {
                name: "rule.md".to_string(),
                message: e.to_string(),
            })?,
        )?;
        self.write_markdown_and_html(&entry.page, &entry.title, &markdown, "rule.html", |ctx| {
            ctx.insert("rule", entry);
            ctx.insert("queries", &page.queries);
        })?;
        self.output.write(
            &format!("{}.json", entry.page),
            exports::rule_queries_json(entry, &page.queries).as_bytes(),
        )?;
        Ok(3)
    }

    /// The filters that tune the rule of `entry` and, for a filter, the rules it tunes with
    /// their tuned queries. Both empty for a rule set without filters.
    fn filter_sections(
        &self,
        entry: &RuleEntry,
        file: &RuleFile,
    ) -> (Vec<RelationItem>, Vec<model::TunedRule>) {
        let root = root_of(&entry.page);
        let entry_of = |file: usize| self.entries.iter().find(|e| e.file == file);
        let mut filters: Vec<crate::sigma::DocumentRef> = file
            .documents
            .iter()
            .flat_map(|d| self.rules.filters_of(file, d).iter().copied())
            .collect();
        filters.sort();
        filters.dedup();
        let tuned_by = filters
            .iter()
            .map(|f| {
                let other = entry_of(f.file);
                let meta = self.rules.document(*f).kind.meta();
                RelationItem {
                    label: "tuned by".to_string(),
                    reference: meta
                        .id
                        .clone()
                        .or_else(|| meta.name.clone())
                        .unwrap_or_default(),
                    title: Some(meta.title.clone()),
                    href: other.map(|o| href(&root, &o.page)),
                }
            })
            .collect();
        let mut tuned_files: Vec<usize> = (0..file.documents.len())
            .flat_map(|d| {
                let at = crate::sigma::DocumentRef {
                    file: entry.file,
                    document: d,
                };
                self.rules.tuned_by(at).iter().map(|r| r.file)
            })
            .collect();
        tuned_files.sort_unstable();
        tuned_files.dedup();
        let tuned_rules = tuned_files
            .into_iter()
            .filter_map(|f| {
                let rule_file = self.rules.files.get(f)?;
                let other = entry_of(f);
                Some(model::TunedRule {
                    title: other.map_or_else(
                        || rule_file.relative.display().to_string(),
                        |o| o.title.clone(),
                    ),
                    href: other.map(|o| href(&root, &o.page)),
                    queries: self.queries_of(f, rule_file),
                })
            })
            .collect();
        (tuned_by, tuned_rules)
    }

    /// Writes `markdown` as `<path>.md` and its HTML inside `layout` as `<path>.html`.
    fn write_markdown_and_html(
        &self,
        path: &str,
        title: &str,
        markdown: &str,
        layout: &str,
        extra: impl FnOnce(&mut Context),
    ) -> Result<(), SiteError> {
        self.output
            .write(&format!("{path}.md"), markdown.as_bytes())?;
        let body = markdown::to_html(markdown);
        let mut ctx = self.html_context(path, title);
        ctx.insert_value("body", Value::safe_string(&body));
        ctx.insert("markdown_href", &format!("{}.md", file_name(path)));
        extra(&mut ctx);
        let html = self.templates.render_html(layout, &ctx)?;
        self.output.write(&format!("{path}.html"), html.as_bytes())
    }

    fn html_context(&self, path: &str, title: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert_value("site", self.site_value.clone());
        ctx.insert("root", &root_of(path));
        ctx.insert("title", title);
        ctx.insert("path", path);
        ctx
    }

    fn write_html(
        &self,
        path: &str,
        title: &str,
        template: &str,
        ctx: Context,
    ) -> Result<(), SiteError> {
        let mut full = self.html_context(path, title);
        full.extend(ctx);
        let html = self.templates.render_html(template, &full)?;
        self.output.write(&format!("{path}.html"), html.as_bytes())
    }

    fn rows(&self, root: &str, list: &[usize]) -> Vec<RuleRow> {
        let mut rows: Vec<RuleRow> = list
            .iter()
            .filter_map(|&i| self.entries.get(i))
            .map(|e| RuleRow {
                title: e.title.clone(),
                href: href(root, &e.page),
                level: e.level,
                status: e.status,
                logsource: e
                    .logsources
                    .iter()
                    .map(LogSourceKey::summary)
                    .collect::<Vec<_>>()
                    .join("; "),
                date: e.date.clone(),
            })
            .collect();
        rows.sort_by(|a, b| (&a.title, &a.href).cmp(&(&b.title, &b.href)));
        rows
    }

    pub(crate) fn list_page(&self, path: &str, mut page: ListPage) -> Result<usize, SiteError> {
        page.root = root_of(path);
        let ctx = Context::from_serialize(&page).map_err(|e| SiteError::Template {
            name: "list.md".to_string(),
            message: e.to_string(),
        })?;
        let markdown = self.templates.render_markdown("list.md", &ctx)?;
        self.write_markdown_and_html(path, &page.title, &markdown, "page.html", |_| {})?;
        Ok(2)
    }

    fn index_pages(&self) -> Result<usize, SiteError> {
        let mut jobs = self.index_jobs();
        // Largest pages first, so no thread is left rendering a huge page alone at the end.
        jobs.sort_by_key(|(_, page)| std::cmp::Reverse(page.rules.len() + page.groups.len()));
        let counts: Vec<usize> = jobs
            .into_par_iter()
            .map(|(path, page)| self.list_page(&path, page))
            .collect::<Result<_, _>>()?;
        Ok(counts.into_iter().sum())
    }

    /// Every index page: its path and its context, for [`Builder::list_page`].
    pub(crate) fn index_jobs(&self) -> Vec<(String, ListPage)> {
        let ix = self.indexes;
        let mut jobs: Vec<(String, ListPage)> = Vec::new();
        let blank = |title: &str| ListPage {
            root: String::new(),
            title: title.to_string(),
            intro: None,
            facts: Vec::new(),
            groups: Vec::new(),
            rules: Vec::new(),
            triggers: Vec::new(),
            parent: None,
        };
        let parent = |root: &str, title: &str, page: &str| {
            Some(Link {
                title: title.to_string(),
                href: href(root, page),
            })
        };
        // Tactics.
        let mut all = blank("ATT&CK tactics");
        all.intro = Some("Rules by the ATT&CK tactics they are tagged with.".to_string());
        for (id, (tactic, list)) in &ix.tactics {
            let path = &ix.pages.tactics[id];
            let root = root_of(path);
            all.groups.push(Group {
                title: format!("{id}: {}", tactic.name),
                href: href("../", path),
                count: list.len(),
                section: None,
            });
            let mut page = blank(&format!("{id}: {}", tactic.name));
            page.facts.push(Fact {
                label: "ATT&CK".to_string(),
                value: tactic.url.clone(),
                href: Some(tactic.url.clone()),
            });
            page.rules = self.rows(&root, list);
            page.parent = parent(&root, "All tactics", "tactics/index");
            jobs.push((path.clone(), page));
        }
        if ix.tactics.is_empty() {
            all.intro =
                Some("No rule is tagged with an ATT&CK tactic known to the catalog.".to_string());
        }
        jobs.push(("tactics/index".to_string(), all));
        // Techniques.
        let mut all = blank("ATT&CK techniques");
        all.intro = Some(
            "Rules by ATT&CK technique (revoked techniques count under their replacement)."
                .to_string(),
        );
        for (id, (technique, list, triggers)) in &ix.techniques {
            let path = &ix.pages.techniques[id];
            let root = root_of(path);
            all.groups.push(Group {
                title: format!("{id}: {}", technique.name),
                href: href("../", path),
                count: list.len(),
                section: None,
            });
            let mut page = blank(&format!("{id}: {}", technique.name));
            page.facts.push(Fact {
                label: "ATT&CK".to_string(),
                value: technique.url.clone(),
                href: Some(technique.url.clone()),
            });
            // A technique's page also lists the rules of its sub-techniques, as the coverage
            // matrix counts them under it, and links each sub-technique's own page.
            let prefix = format!("{id}.");
            let mut rolled_up = list.clone();
            for (sub_id, (sub, sub_list, _)) in ix.techniques.range(prefix.clone()..) {
                if !sub_id.starts_with(&prefix) {
                    break;
                }
                let Some(sub_page) = ix.pages.techniques.get(sub_id) else {
                    continue;
                };
                page.groups.push(Group {
                    title: format!("{sub_id}: {}", sub.name),
                    href: href(&root, sub_page),
                    count: sub_list.len(),
                    section: Some("Sub-techniques".to_string()),
                });
                rolled_up.extend(sub_list.iter().copied());
            }
            rolled_up.sort_unstable();
            rolled_up.dedup();
            page.rules = self.rows(&root, &rolled_up);
            page.triggers = triggers.clone();
            page.parent = parent(&root, "All techniques", "techniques/index");
            jobs.push((path.clone(), page));
        }
        if ix.techniques.is_empty() {
            all.intro = Some(
                "No rule is tagged with an ATT&CK technique known to the catalog.".to_string(),
            );
        }
        jobs.push(("techniques/index".to_string(), all));
        // Log sources.
        let mut all = blank("Log sources");
        all.intro =
            Some("Rules by the log source they read (product, category, service).".to_string());
        for (key, list) in &ix.logsources {
            let path = &ix.pages.logsources[key];
            let root = root_of(path);
            all.groups.push(Group {
                title: key.summary(),
                href: href("../", path),
                count: list.len(),
                section: key.product.clone().or(Some("any product".to_string())),
            });
            let mut page = blank(&format!("Log source {}", key.summary()));
            for (label, value) in [
                ("Product", &key.product),
                ("Category", &key.category),
                ("Service", &key.service),
            ] {
                page.facts.push(Fact {
                    label: label.to_string(),
                    value: value.clone().unwrap_or_else(|| "any".to_string()),
                    href: None,
                });
            }
            page.rules = self.rows(&root, list);
            page.parent = parent(&root, "All log sources", "logsources/index");
            jobs.push((path.clone(), page));
        }
        jobs.push(("logsources/index".to_string(), all));
        // Levels and statuses.
        for (kind, title, map, order) in [
            (
                "levels",
                "Severity levels",
                &ix.levels,
                crate::sigma::Level::ALL
                    .iter()
                    .rev()
                    .map(|l| l.name())
                    .collect::<Vec<_>>(),
            ),
            (
                "status",
                "Development status",
                &ix.statuses,
                crate::sigma::Status::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect::<Vec<_>>(),
            ),
        ] {
            let mut all = blank(title);
            for name in order {
                let Some(list) = map.get(name) else { continue };
                let path = format!("{kind}/{name}");
                let root = root_of(&path);
                all.groups.push(Group {
                    title: name.to_string(),
                    href: href("../", &path),
                    count: list.len(),
                    section: None,
                });
                let mut page = blank(&format!("{title}: {name}"));
                page.rules = self.rows(&root, list);
                page.parent = parent(&root, title, &format!("{kind}/index"));
                jobs.push((path, page));
            }
            jobs.push((format!("{kind}/index"), all));
        }
        // Tags.
        let mut all = blank("Tags");
        all.intro = Some("Rules by tag, grouped by namespace.".to_string());
        for (tag, list) in &ix.tags {
            let path = &ix.pages.tags[tag];
            let root = root_of(path);
            let namespace = enrichment::tag_namespace(tag);
            all.groups.push(Group {
                title: tag.clone(),
                href: href("../", path),
                count: list.len(),
                section: Some(if namespace.is_empty() {
                    "(no namespace)".to_string()
                } else {
                    namespace.to_string()
                }),
            });
            let mut page = blank(&format!("Tag {tag}"));
            page.rules = self.rows(&root, list);
            page.parent = parent(&root, "All tags", "tags/index");
            jobs.push((path.clone(), page));
        }
        all.groups
            .sort_by(|a, b| (&a.section, &a.title).cmp(&(&b.section, &b.title)));
        jobs.push(("tags/index".to_string(), all));
        // Authors.
        let mut all = blank("Authors");
        for (author, list) in &ix.authors {
            let path = &ix.pages.authors[author];
            let root = root_of(path);
            all.groups.push(Group {
                title: author.clone(),
                href: href("../", path),
                count: list.len(),
                section: None,
            });
            let mut page = blank(&format!("Rules by {author}"));
            page.rules = self.rows(&root, list);
            page.parent = parent(&root, "All authors", "authors/index");
            jobs.push((path.clone(), page));
        }
        jobs.push(("authors/index".to_string(), all));
        // Data Needed.
        let mut all = blank("Data Needed");
        all.intro = Some("The log events rules need, from the Data Needed catalog.".to_string());
        for (id, (entry, list)) in &ix.data_needed {
            let path = &ix.pages.data_needed[id];
            let root = root_of(path);
            all.groups.push(Group {
                title: entry.title.clone(),
                href: href("../", path),
                count: list.len(),
                section: entry.platform.clone(),
            });
            let mut page = blank(&entry.title);
            page.intro = entry.description.clone();
            for (label, value) in [
                ("Platform", &entry.platform),
                ("Category", &entry.category),
                ("Event ID", &entry.event_id),
                ("Channel", &entry.channel),
                ("Provider", &entry.provider),
            ] {
                if let Some(v) = value {
                    page.facts.push(Fact {
                        label: label.to_string(),
                        value: v.clone(),
                        href: None,
                    });
                }
            }
            if !entry.fields.is_empty() {
                page.facts.push(Fact {
                    label: "Fields".to_string(),
                    value: entry.fields.join(", "),
                    href: None,
                });
            }
            page.rules = self.rows(&root, list);
            page.parent = parent(&root, "All Data Needed", "data-needed/index");
            jobs.push((path.clone(), page));
        }
        if ix.data_needed.is_empty() {
            all.intro = Some("No rule matched an entry of the Data Needed catalog.".to_string());
        }
        jobs.push(("data-needed/index".to_string(), all));
        jobs
    }

    pub(crate) fn site_pages(&self, failed: &[FailedFile]) -> Result<usize, SiteError> {
        let mut n = 0;
        // Home.
        let mut ctx = Context::new();
        let home = exports::home(self.entries, self.indexes, self.enricher.matrix());
        ctx.insert("home", &home);
        ctx.insert("failed", &failed.len());
        self.write_html("index", &self.options.title, "home.html", ctx)?;
        n += 1;
        // All rules table.
        let mut ctx = Context::new();
        ctx.insert("table", &exports::rules_table(self.entries, self.indexes));
        self.write_html("rules", "All rules", "rules.html", ctx)?;
        n += 1;
        // Coverage.
        let matrix = coverage::matrix_view(self.enricher.matrix(), self.indexes);
        let layer_url = self
            .options
            .site_url
            .as_ref()
            .map(|u| coverage::navigator_link(&format!("{u}navigator-layer.json")));
        let mut ctx = Context::new();
        ctx.insert("coverage", &matrix);
        ctx.insert("navigator_url", &layer_url);
        self.write_html("coverage", "ATT&CK coverage", "coverage.html", ctx)?;
        let layer = coverage::navigator_layer(
            &self.options.title,
            self.enricher.matrix(),
            self.entries,
            self.indexes,
            self.options.site_url.as_deref(),
        );
        self.output
            .write("navigator-layer.json", layer.as_bytes())?;
        n += 2;
        // Errors.
        let mut ctx = Context::new();
        ctx.insert("failed", failed);
        self.write_html("errors", "Rules with errors", "errors.html", ctx)?;
        n += 1;
        // 404.
        let mut full = self.html_context("404", "Page not found");
        // 404.html is served at any depth: its links are absolute, under the base URL.
        full.insert("root", &self.options.base_url);
        let html = self.templates.render_html("404.html", &full)?;
        self.output.write("404.html", html.as_bytes())?;
        n += 1;
        // Redirect stubs for renamed, obsolete and merged rules.
        for (id, &target) in &self.relations.redirects {
            // Rule data never names a file: only an id that is a UUID (hex digits and dashes in
            // the 8-4-4-4-12 form) gets a stub, and the file name is that UUID in lower case.
            let Some(uuid) = canonical_uuid(id) else {
                continue;
            };
            let path = format!("id/{uuid}");
            let Some(entry) = self.entries.get(target) else {
                continue;
            };
            let mut ctx = Context::new();
            ctx.insert("target", &format!("{}{}.html", root_of(&path), entry.page));
            ctx.insert("target_title", &entry.title);
            self.write_html(&path, &entry.title, "redirect.html", ctx)?;
            n += 1;
        }
        // Exports.
        self.output
            .write("rules.json", exports::rules_json(self.entries).as_bytes())?;
        self.output.write(
            "analytics.csv",
            exports::analytics_csv(self.entries).as_bytes(),
        )?;
        n += 2;
        if let Some(url) = &self.options.site_url {
            self.output.write(
                "sitemap.xml",
                exports::sitemap(url, self.entries, self.indexes).as_bytes(),
            )?;
            n += 1;
        }
        self.output.write(".nojekyll", b"")?;
        n += 1;
        for (name, text) in &self.templates.assets {
            self.output.write(name, text.as_bytes())?;
            n += 1;
        }
        Ok(n)
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Converts `file` for each target entry (through its pipelines, or after `mapping` when it
/// has none), as the target's reference converter prints a file.
pub fn queries(
    file: &RuleFile,
    rules: &RuleSet,
    targets: &[QueryTarget],
    mapping: Option<&FieldMapping>,
) -> Vec<QueryItem> {
    targets
        .iter()
        .map(|entry| {
            let result = entry.convert(file, rules, mapping);
            QueryItem {
                target: entry.backend.name().to_string(),
                spec: entry.spec(),
                pipelines: entry.pipelines.clone(),
                title: entry.title.clone(),
                language: language(entry.backend.name()),
                output: result
                    .as_ref()
                    .ok()
                    .map(|text| text.trim_end_matches('\n').to_string()),
                error: result.err().map(|e| e.to_string()),
            }
        })
        .collect()
}

/// The code-block language of a target's queries.
pub fn language(target: &str) -> &'static str {
    match target {
        "xpack-watcher" => "sh",
        "splunk" => "spl",
        "eql" => "eql",
        "esql" => "esql",
        "kusto" => "kql",
        _ => "",
    }
}

/// What a rule page links to besides its own rule: the other rules, their relations and the
/// index pages.
#[derive(Debug, Clone, Copy)]
pub struct Neighbours<'a> {
    /// Every rule entry of the site.
    pub entries: &'a [RuleEntry],
    /// Relations between the entries.
    pub relations: &'a Relations,
    /// The index pages.
    pub indexes: &'a Indexes,
    /// Whether an ATT&CK catalog was available.
    pub catalog: bool,
}

/// Builds the context of the page of entry `i`.
pub fn rule_page<'a>(
    entry: &'a RuleEntry,
    file: &'a RuleFile,
    neighbours: Neighbours<'a>,
    i: usize,
    queries: Vec<QueryItem>,
) -> RulePage<'a> {
    let Neighbours {
        entries,
        relations,
        indexes,
        catalog,
    } = neighbours;
    let root = root_of(&entry.page);
    let pages = &indexes.pages;
    let link_to = |map: &HashMap<String, PagePath>, key: &str| {
        map.get(key).map(|p| href(&root, p)).unwrap_or_default()
    };
    let first = file.documents.first();
    let meta = first.map(|d| d.kind.meta());
    let relation_items = |list: &[model::Relation]| -> Vec<RelationItem> {
        list.iter()
            .map(|r| {
                let other = r.other.and_then(|o| entries.get(o));
                RelationItem {
                    label: r.label.clone(),
                    reference: r.reference.clone(),
                    title: other.map(|o| o.title.clone()),
                    href: other.map(|o| href(&root, &o.page)),
                }
            })
            .collect()
    };
    let correlation = first.and_then(|d| match &d.kind {
        SigmaKind::Correlation(c) => Some(CorrelationItem {
            kind: c.correlation.kind.name().to_string(),
            group_by: c.correlation.group_by.clone(),
            timespan: c.correlation.timespan.text.clone(),
            condition: c
                .correlation
                .condition
                .iter()
                .map(|(op, n)| format!("{} {}", op.symbol(), n.text))
                .collect::<Vec<_>>()
                .join(" and "),
            field: c.correlation.field.clone(),
            generate: c.correlation.generate,
        }),
        _ => None,
    });
    let mut logsources = Vec::new();
    for document in &file.documents {
        if let Some(ls) = document.kind.logsource() {
            let key = LogSourceKey {
                product: ls.product.clone(),
                category: ls.category.clone(),
                service: ls.service.clone(),
            };
            let item = LogSourceItem {
                summary: key.summary(),
                href: pages
                    .logsources
                    .get(&key)
                    .map(|p| href(&root, p))
                    .unwrap_or_default(),
                definition: ls.definition.clone(),
            };
            if !logsources
                .iter()
                .any(|l: &LogSourceItem| l.summary == item.summary)
            {
                logsources.push(item);
            }
        }
    }
    let custom = meta
        .map(|m| {
            m.custom
                .iter()
                .map(|(k, v)| CustomField {
                    key: k.clone(),
                    value: yaml_text(v),
                })
                .collect()
        })
        .unwrap_or_default();
    RulePage {
        level_href: entry.level.map(|l| href(&root, &format!("levels/{l}"))),
        status_href: entry.status.map(|s| href(&root, &format!("status/{s}"))),
        authors: entry
            .authors
            .iter()
            .map(|a| Link {
                title: a.clone(),
                href: link_to(&pages.authors, a),
            })
            .collect(),
        license: meta.and_then(|m| m.license.clone()),
        fields: meta.map(|m| m.fields.clone()).unwrap_or_default(),
        scope: meta.map(|m| m.scope.clone()).unwrap_or_default(),
        logsources,
        tactics: entry
            .enrichment
            .tactics
            .iter()
            .map(|t| TacticItem {
                tactic: t,
                href: link_to(&pages.tactics, &t.id),
            })
            .collect(),
        techniques: entry
            .enrichment
            .techniques
            .iter()
            .map(|t| TechniqueItem {
                technique: t,
                href: link_to(&pages.techniques, &t.effective().id),
            })
            .collect(),
        data_needed: entry
            .enrichment
            .data_needed
            .iter()
            .map(|d| DataNeededItem {
                entry: d,
                href: link_to(&pages.data_needed, &d.id),
            })
            .collect(),
        triggers: &entry.enrichment.triggers,
        other_tags: entry
            .enrichment
            .other_tags
            .iter()
            .map(|t| TagItem {
                tag: t,
                href: link_to(&pages.tags, &t.tag.to_ascii_lowercase()),
            })
            .collect(),
        custom,
        correlation,
        uses: relation_items(relations.uses.get(i).map_or(&[][..], Vec::as_slice)),
        used_by: relation_items(relations.used_by.get(i).map_or(&[][..], Vec::as_slice)),
        related: relation_items(relations.related.get(i).map_or(&[][..], Vec::as_slice)),
        source: &file.source,
        file_name: file
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        queries,
        field_mapping: None,
        warnings: {
            let mut warnings: Vec<&Diagnostic> = file
                .diagnostics
                .iter()
                .chain(&entry.diagnostics)
                .filter(|d| !d.is_error())
                .collect();
            warnings.sort();
            warnings
                .iter()
                .map(|d| format!("line {}:{}: {} [{}]", d.line, d.column, d.message, d.code))
                .collect()
        },
        root,
        catalog,
        rule: entry,
        retired: entry.retired,
        tuned_by: Vec::new(),
        tuned_rules: Vec::new(),
    }
}

fn yaml_text(value: &serde_yaml::Value) -> String {
    match value {
        serde_yaml::Value::String(s) => s.clone(),
        other => serde_yaml::to_string(other)
            .map(|s| s.trim_end().to_string())
            .unwrap_or_default(),
    }
}

/// Distinct values, for filter menus.
pub fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: HashSet<&str> = values.collect();
    let mut out: Vec<String> = set.into_iter().map(str::to_string).collect();
    out.sort();
    out
}
