//! The index pages (one per tactic, technique, log source, level, status, tag, author and Data
//! Needed entry, and the index of each kind) and the site's other pages: home, all rules,
//! coverage, errors, 404, redirects, the exports and the assets.
//!
//! An index page lists its rules in a table whose rows are the same on every index page (they
//! all sit one folder deep), so each entry's row is made into a template value once per build
//! and shared by every page that lists the entry.

use rayon::prelude::*;
use tera::{Context, Value};

use super::SiteError;
use super::coverage;
use super::enrichment;
use super::exports;
use super::model::{Fact, FailedFile, Group, Link, ListPage, LogSourceKey, RuleRow, root_of};
use super::render::{Buffers, Pages, Site, href};

/// The index pages and the other site pages of one build.
pub struct IndexPages<'a> {
    pages: &'a Pages<'a>,
    site: Site<'a>,
    /// Made when the first index page needs them, so that the site pages, rendered before
    /// the index pages, do not hold them too.
    rows: std::sync::OnceLock<Rows>,
}

/// Every entry's row of an index page's rules table, as seen from pages at `root`, and the
/// order the tables list them in.
struct Rows {
    /// The way to the site root of the pages these rows are for.
    root: String,
    /// Entry → its row.
    values: Vec<Value>,
    /// Entry → its place in table order (by title, then link).
    rank: Vec<usize>,
}

impl Rows {
    fn new(site: Site<'_>, root: &str) -> Rows {
        let rows: Vec<RuleRow> = site.entries.iter().map(|e| row(root, e)).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| {
            (&rows[a].title, &rows[a].href).cmp(&(&rows[b].title, &rows[b].href))
        });
        let mut rank = vec![0; rows.len()];
        for (place, &entry) in order.iter().enumerate() {
            rank[entry] = place;
        }
        Rows {
            root: root.to_string(),
            values: rows.iter().map(Value::from_serializable).collect(),
            rank,
        }
    }
}

/// An entry's row in the rules table of a page at `root`.
fn row(root: &str, e: &super::model::RuleEntry) -> RuleRow {
    RuleRow {
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
    }
}

impl<'a> IndexPages<'a> {
    /// The index pages of `site`.
    pub fn new(pages: &'a Pages<'a>, site: Site<'a>) -> IndexPages<'a> {
        IndexPages {
            pages,
            site,
            rows: std::sync::OnceLock::new(),
        }
    }

    /// The rows of the entries `list` for a page at `root`, sorted by title then link.
    fn rows(&self, root: &str, list: &[usize]) -> Vec<Value> {
        let mut list: Vec<usize> = list
            .iter()
            .copied()
            .filter(|&i| i < self.site.entries.len())
            .collect();
        // Every index page is one folder below the root (`tags/x`, `tactics/index`).
        let shared = self.rows.get_or_init(|| Rows::new(self.site, "../"));
        if root == shared.root {
            list.sort_by_key(|&i| shared.rank[i]);
            return list.iter().map(|&i| shared.values[i].clone()).collect();
        }
        let mut rows: Vec<RuleRow> = list
            .iter()
            .map(|&i| row(root, &self.site.entries[i]))
            .collect();
        rows.sort_by(|a, b| (&a.title, &a.href).cmp(&(&b.title, &b.href)));
        rows.iter().map(Value::from_serializable).collect()
    }

    /// Writes one index page of [`IndexPages::index_jobs`]; returns the number of files written.
    ///
    /// `pages` is where it goes: this build's pages, or (for `sigwiki serve`) the same
    /// templates writing elsewhere.
    pub(crate) fn list_page(
        &self,
        pages: &Pages<'_>,
        path: &str,
        (mut page, rows): (ListPage, Vec<Value>),
        buffers: &mut Buffers,
    ) -> Result<usize, SiteError> {
        page.root = root_of(path);
        let mut ctx = Context::from_serialize(&page).map_err(|e| SiteError::Template {
            name: "list.md".to_string(),
            message: e.to_string(),
        })?;
        ctx.insert_value("rules", Value::from(rows));
        pages.write_markdown_and_html(
            path,
            &page.title,
            ("list.md", &ctx),
            "page.html",
            buffers,
            |_| {},
        )?;
        Ok(2)
    }

    /// Writes every index page (tactics, techniques, log sources, levels, statuses, tags,
    /// authors, Data Needed) and the index of each kind; returns the number of files written.
    pub fn index_pages(&self) -> Result<usize, SiteError> {
        let mut jobs = self.index_jobs();
        // Largest pages first, so no thread is left rendering a huge page alone at the end.
        jobs.sort_by_key(|(_, page, rows)| std::cmp::Reverse(rows.len() + page.groups.len()));
        let counts: Vec<usize> = jobs
            .into_par_iter()
            .map_init(Buffers::default, |buffers, (path, page, rows)| {
                self.list_page(self.pages, &path, (page, rows), buffers)
            })
            .collect::<Result<_, _>>()?;
        Ok(counts.into_iter().sum())
    }

    /// Every index page: its path, its context and the rows of its rules table, for
    /// [`IndexPages::list_page`] (the incremental build of `sigwiki serve` renders only the
    /// pages whose context changed).
    pub(crate) fn index_jobs(&self) -> Vec<(String, ListPage, Vec<Value>)> {
        let ix = self.site.indexes;
        let mut jobs: Vec<(String, ListPage, Vec<Value>)> = Vec::new();
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
            let rows = self.rows(&root, list);
            page.parent = parent(&root, "All tactics", "tactics/index");
            jobs.push((path.clone(), page, rows));
        }
        if ix.tactics.is_empty() {
            all.intro =
                Some("No rule is tagged with an ATT&CK tactic known to the catalog.".to_string());
        }
        jobs.push(("tactics/index".to_string(), all, Vec::new()));
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
            let rows = self.rows(&root, &rolled_up);
            page.triggers = triggers.clone();
            page.parent = parent(&root, "All techniques", "techniques/index");
            jobs.push((path.clone(), page, rows));
        }
        if ix.techniques.is_empty() {
            all.intro = Some(
                "No rule is tagged with an ATT&CK technique known to the catalog.".to_string(),
            );
        }
        jobs.push(("techniques/index".to_string(), all, Vec::new()));
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
            let rows = self.rows(&root, list);
            page.parent = parent(&root, "All log sources", "logsources/index");
            jobs.push((path.clone(), page, rows));
        }
        jobs.push(("logsources/index".to_string(), all, Vec::new()));
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
                let rows = self.rows(&root, list);
                page.parent = parent(&root, title, &format!("{kind}/index"));
                jobs.push((path, page, rows));
            }
            jobs.push((format!("{kind}/index"), all, Vec::new()));
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
            let rows = self.rows(&root, list);
            page.parent = parent(&root, "All tags", "tags/index");
            jobs.push((path.clone(), page, rows));
        }
        all.groups
            .sort_by(|a, b| (&a.section, &a.title).cmp(&(&b.section, &b.title)));
        jobs.push(("tags/index".to_string(), all, Vec::new()));
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
            let rows = self.rows(&root, list);
            page.parent = parent(&root, "All authors", "authors/index");
            jobs.push((path.clone(), page, rows));
        }
        jobs.push(("authors/index".to_string(), all, Vec::new()));
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
            let rows = self.rows(&root, list);
            page.parent = parent(&root, "All Data Needed", "data-needed/index");
            jobs.push((path.clone(), page, rows));
        }
        if ix.data_needed.is_empty() {
            all.intro = Some("No rule matched an entry of the Data Needed catalog.".to_string());
        }
        jobs.push(("data-needed/index".to_string(), all, Vec::new()));
        jobs
    }

    /// Writes the home page, the all-rules table, the coverage matrix and its Navigator layer,
    /// the error page, the 404 page, the redirects of renamed rules, the exports and the
    /// assets; returns the number of files written.
    pub fn site_pages(&self, failed: &[FailedFile]) -> Result<usize, SiteError> {
        self.site_pages_with(failed, true)
    }

    /// [`IndexPages::site_pages`], with `rules.json` or without it (a build that writes it
    /// rule by rule as it renders the rule pages, see `build`).
    pub(crate) fn site_pages_with(
        &self,
        failed: &[FailedFile],
        rules_json: bool,
    ) -> Result<usize, SiteError> {
        let mut n = 0;
        // Home.
        let mut ctx = Context::new();
        let home = exports::home(
            self.site.entries,
            self.site.indexes,
            self.site.enricher.matrix(),
        );
        ctx.insert("home", &home);
        ctx.insert("failed", &failed.len());
        self.pages
            .write_html("index", &self.site.options.title, "home.html", ctx)?;
        n += 1;
        // All rules table.
        let mut ctx = Context::new();
        ctx.insert(
            "table",
            &exports::rules_table(self.site.entries, self.site.indexes),
        );
        self.pages
            .write_html("rules", "All rules", "rules.html", ctx)?;
        n += 1;
        // Coverage.
        let matrix = coverage::matrix_view(self.site.enricher.matrix(), self.site.indexes);
        let layer_url = self
            .site
            .options
            .site_url
            .as_ref()
            .map(|u| coverage::navigator_link(&format!("{u}navigator-layer.json")));
        let mut ctx = Context::new();
        ctx.insert("coverage", &matrix);
        ctx.insert("navigator_url", &layer_url);
        self.pages
            .write_html("coverage", "ATT&CK coverage", "coverage.html", ctx)?;
        let layer = coverage::navigator_layer(
            &self.site.options.title,
            self.site.enricher.matrix(),
            self.site.entries,
            self.site.indexes,
            self.site.options.site_url.as_deref(),
        );
        self.pages
            .output
            .write("navigator-layer.json", layer.as_bytes())?;
        n += 2;
        // Errors.
        let mut ctx = Context::new();
        ctx.insert("failed", failed);
        self.pages
            .write_html("errors", "Rules with errors", "errors.html", ctx)?;
        n += 1;
        // 404.
        let mut full = self.pages.html_context("404", "Page not found");
        // 404.html is served at any depth: its links are absolute, under the base URL.
        full.insert("root", &self.site.options.base_url);
        let html = self.pages.templates.render_html("404.html", &full)?;
        self.pages.output.write("404.html", html.as_bytes())?;
        n += 1;
        // Redirect stubs for renamed, obsolete and merged rules.
        for (id, &target) in &self.site.relations.redirects {
            // Rule data never names a file: only an id that is a UUID (hex digits and dashes in
            // the 8-4-4-4-12 form) gets a stub, and the file name is that UUID in lower case.
            let Some(uuid) = canonical_uuid(id) else {
                continue;
            };
            let path = format!("id/{uuid}");
            let Some(entry) = self.site.entries.get(target) else {
                continue;
            };
            let mut ctx = Context::new();
            ctx.insert("target", &format!("{}{}.html", root_of(&path), entry.page));
            ctx.insert("target_title", &entry.title);
            self.pages
                .write_html(&path, &entry.title, "redirect.html", ctx)?;
            n += 1;
        }
        // Exports, written as they are made: at a large rule set each is tens of megabytes.
        if rules_json {
            let mut sorted: Vec<&super::model::RuleEntry> = self.site.entries.iter().collect();
            sorted.sort_by(|a, b| a.page.cmp(&b.page));
            let mut out = self.pages.output.stream("rules.json")?;
            let mut json = exports::RulesJson::new();
            sorted
                .into_iter()
                .try_for_each(|e| json.rule(&mut out, e))
                .and_then(|()| json.finish(&mut out))
                .map_err(|e| out.error(e))?;
            out.finish()?;
            n += 1;
        }
        let mut sorted: Vec<&super::model::RuleEntry> = self.site.entries.iter().collect();
        sorted.sort_by(|a, b| a.page.cmp(&b.page));
        let mut out = self.pages.output.stream("analytics.csv")?;
        exports::write_analytics_csv(sorted, &mut out).map_err(|e| out.error(e))?;
        out.finish()?;
        n += 1;
        if let Some(url) = &self.site.options.site_url {
            self.pages.output.write(
                "sitemap.xml",
                exports::sitemap(url, self.site.entries, self.site.indexes).as_bytes(),
            )?;
            n += 1;
        }
        self.pages.output.write(".nojekyll", b"")?;
        n += 1;
        for (name, text) in &self.pages.templates.assets {
            self.pages.output.write(name, text.as_bytes())?;
            n += 1;
        }
        Ok(n)
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
