//! Whole-site views and machine-readable exports: the home page summary, the all-rules table
//! with its filter menus, `rules.json`, `analytics.csv`, `sitemap.xml`, and each rule's
//! `<page>.json` of queries.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::Serialize;

use super::enrichment::Matrix;
use super::escape;
use super::indexes::Indexes;
use super::model::{QueryItem, RuleEntry};

/// Counts on the home page.
#[derive(Debug, Serialize)]
pub struct Home {
    /// Rule files with pages.
    pub rules: usize,
    /// Of which correlation rules.
    pub correlations: usize,
    /// Of which filter rules.
    pub filters: usize,
    /// Rules per level, most severe first: `(level, count)`.
    pub levels: Vec<(String, usize)>,
    /// Rules per status: `(status, count)`.
    pub statuses: Vec<(String, usize)>,
    /// Distinct techniques covered (after revocation).
    pub techniques_covered: usize,
    /// Techniques in the ATT&CK matrix (0 without a catalog).
    pub techniques_total: usize,
    /// Rules per tactic, in matrix order: `(id, name, rules, page)`.
    pub tactics: Vec<TacticCount>,
    /// Rules without any ATT&CK technique.
    pub untagged: usize,
    /// Distinct log sources.
    pub logsources: usize,
    /// Rules with a regression test.
    pub tested: usize,
    /// Of which every test passes.
    pub passing: usize,
    /// Of which a test fails or errors.
    pub failing: usize,
}

/// One tactic's line on the home page.
#[derive(Debug, Serialize)]
pub struct TacticCount {
    /// `TA0005`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Rules tagged with it.
    pub rules: usize,
    /// Its page (`tactics/TA0005.html`).
    pub href: Option<String>,
}

/// The home page summary.
pub fn home(entries: &[RuleEntry], ix: &Indexes, matrix: Option<&Matrix>) -> Home {
    let levels = crate::sigma::Level::ALL
        .iter()
        .rev()
        .filter_map(|l| {
            ix.levels
                .get(l.name())
                .map(|v| (l.name().to_string(), v.len()))
        })
        .collect();
    let statuses = crate::sigma::Status::ALL
        .iter()
        .filter_map(|s| {
            ix.statuses
                .get(s.name())
                .map(|v| (s.name().to_string(), v.len()))
        })
        .collect();
    let tactics = match matrix {
        Some(m) => m
            .tactics
            .iter()
            .map(|t| TacticCount {
                id: t.id.clone(),
                name: t.name.clone(),
                rules: ix.tactics.get(&t.id).map_or(0, |(_, v)| v.len()),
                href: ix.pages.tactics.get(&t.id).map(|p| format!("{p}.html")),
            })
            .collect(),
        None => ix
            .tactics
            .iter()
            .map(|(id, (t, v))| TacticCount {
                id: id.clone(),
                name: t.name.clone(),
                rules: v.len(),
                href: ix.pages.tactics.get(id).map(|p| format!("{p}.html")),
            })
            .collect(),
    };
    let techniques_total = matrix.map_or(0, |m| {
        let mut ids = BTreeSet::new();
        for t in &m.tactics {
            for tech in &t.techniques {
                ids.insert(tech.technique.id.as_str());
                for sub in &tech.subtechniques {
                    ids.insert(sub.id.as_str());
                }
            }
        }
        ids.len()
    });
    let (tested, passing, failing) = super::regression::counts(entries);
    Home {
        rules: entries.len(),
        correlations: entries.iter().filter(|e| e.kind == "correlation").count(),
        filters: entries.iter().filter(|e| e.kind == "filter").count(),
        levels,
        statuses,
        techniques_covered: ix.techniques.len(),
        techniques_total,
        tactics,
        untagged: entries
            .iter()
            .filter(|e| e.enrichment.techniques.is_empty())
            .count(),
        logsources: ix.logsources.len(),
        tested,
        passing,
        failing,
    }
}

/// The all-rules table: one row per rule with the data its filters use.
#[derive(Debug, Serialize)]
pub struct RulesTable {
    /// Rows, sorted by title.
    pub rows: Vec<TableRow>,
    /// Whether any rule has a regression test (the table then gets its facet).
    pub tested: bool,
    /// Filter menus.
    pub levels: Vec<String>,
    /// Statuses present.
    pub statuses: Vec<String>,
    /// Tactics present: `(id, "TA0005: Stealth")`.
    pub tactics: Vec<(String, String)>,
    /// Techniques present: `(id, "T1059: Command …")`.
    pub techniques: Vec<(String, String)>,
    /// Products present.
    pub products: Vec<String>,
    /// Categories present.
    pub categories: Vec<String>,
    /// Services present.
    pub services: Vec<String>,
    /// Authors present.
    pub authors: Vec<String>,
}

/// One row of the all-rules table.
#[derive(Debug, Serialize)]
pub struct TableRow {
    /// Title.
    pub title: String,
    /// Page, relative to the site root (`rules/x.html`).
    pub href: String,
    /// `rule`, `correlation`, `filter`.
    pub kind: &'static str,
    /// Level.
    pub level: Option<&'static str>,
    /// Status.
    pub status: Option<&'static str>,
    /// Tactic ids, space-separated.
    pub tactics: String,
    /// Effective technique ids, space-separated (with parents of sub-techniques).
    pub techniques: String,
    /// Products, `|`-separated.
    pub products: String,
    /// Categories, `|`-separated.
    pub categories: String,
    /// Services, `|`-separated.
    pub services: String,
    /// Authors, `|`-separated.
    pub authors: String,
    /// Date.
    pub date: String,
    /// Log source summary.
    pub logsource: String,
    /// The regression-test facet: `pass`, `fail`, `missing`, or empty when untested.
    pub regression: &'static str,
}

/// The all-rules table.
pub fn rules_table(entries: &[RuleEntry], ix: &Indexes) -> RulesTable {
    let join = |items: Vec<&str>, sep: &str| {
        let set: BTreeSet<&str> = items.into_iter().collect();
        set.into_iter().collect::<Vec<_>>().join(sep)
    };
    let mut rows: Vec<TableRow> = entries
        .iter()
        .map(|e| {
            let mut techniques: Vec<&str> = Vec::new();
            for t in &e.enrichment.techniques {
                let id = t.effective().id.as_str();
                techniques.push(id);
                if let Some((parent, _)) = id.split_once('.') {
                    techniques.push(parent);
                }
            }
            TableRow {
                title: e.title.clone(),
                href: format!("{}.html", e.page),
                kind: e.kind,
                level: e.level,
                status: e.status,
                tactics: join(
                    e.enrichment.tactics.iter().map(|t| t.id.as_str()).collect(),
                    " ",
                ),
                techniques: join(techniques, " "),
                products: join(
                    e.logsources
                        .iter()
                        .filter_map(|l| l.product.as_deref())
                        .collect(),
                    "|",
                ),
                categories: join(
                    e.logsources
                        .iter()
                        .filter_map(|l| l.category.as_deref())
                        .collect(),
                    "|",
                ),
                services: join(
                    e.logsources
                        .iter()
                        .filter_map(|l| l.service.as_deref())
                        .collect(),
                    "|",
                ),
                authors: e.authors.join("|"),
                date: e.date.clone().unwrap_or_default(),
                logsource: e
                    .logsources
                    .iter()
                    .map(|l| l.summary())
                    .collect::<Vec<_>>()
                    .join("; "),
                regression: super::regression::facet(e),
            }
        })
        .collect();
    rows.sort_by(|a, b| (&a.title, &a.href).cmp(&(&b.title, &b.href)));
    let set = |f: &dyn Fn(&RuleEntry) -> Vec<String>| {
        let s: BTreeSet<String> = entries.iter().flat_map(f).collect();
        s.into_iter().collect::<Vec<_>>()
    };
    RulesTable {
        tested: rows.iter().any(|r| !r.regression.is_empty()),
        rows,
        levels: crate::sigma::Level::ALL
            .iter()
            .rev()
            .map(|l| l.name())
            .filter(|l| ix.levels.contains_key(l))
            .map(str::to_string)
            .collect(),
        statuses: crate::sigma::Status::ALL
            .iter()
            .map(|s| s.name())
            .filter(|s| ix.statuses.contains_key(s))
            .map(str::to_string)
            .collect(),
        tactics: ix
            .tactics
            .iter()
            .map(|(id, (t, _))| (id.clone(), format!("{id}: {}", t.name)))
            .collect(),
        techniques: ix
            .techniques
            .iter()
            .map(|(id, (t, _, _))| (id.clone(), format!("{id}: {}", t.name)))
            .collect(),
        products: set(&|e| {
            e.logsources
                .iter()
                .filter_map(|l| l.product.clone())
                .collect()
        }),
        categories: set(&|e| {
            e.logsources
                .iter()
                .filter_map(|l| l.category.clone())
                .collect()
        }),
        services: set(&|e| {
            e.logsources
                .iter()
                .filter_map(|l| l.service.clone())
                .collect()
        }),
        authors: ix.authors.keys().cloned().collect(),
    }
}

#[derive(Serialize)]
struct JsonRule<'a> {
    #[serde(flatten)]
    entry: &'a RuleEntry,
    html: String,
    markdown: String,
    queries: String,
    tactics: Vec<&'a str>,
    techniques: Vec<&'a str>,
    data_needed: Vec<&'a str>,
}

impl<'a> JsonRule<'a> {
    fn new(e: &'a RuleEntry) -> JsonRule<'a> {
        JsonRule {
            entry: e,
            html: format!("{}.html", e.page),
            markdown: format!("{}.md", e.page),
            queries: format!("{}.json", e.page),
            tactics: e.enrichment.tactics.iter().map(|t| t.id.as_str()).collect(),
            techniques: e
                .enrichment
                .techniques
                .iter()
                .map(|t| t.effective().id.as_str())
                .collect(),
            data_needed: e
                .enrichment
                .data_needed
                .iter()
                .map(|d| d.id.as_str())
                .collect(),
        }
    }
}

/// `rules.json`: every rule's metadata, sorted by page, for search and other tools.
pub fn rules_json(entries: &[RuleEntry]) -> String {
    let mut sorted: Vec<&RuleEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.page.cmp(&b.page));
    let mut out = Vec::new();
    let mut json = RulesJson::new();
    let written = sorted
        .into_iter()
        .try_for_each(|e| json.rule(&mut out, e))
        .and_then(|()| json.finish(&mut out));
    match (written, String::from_utf8(out)) {
        (Ok(()), Ok(text)) => text,
        _ => "[]\n".to_string(),
    }
}

/// `rules.json` written rule by rule, in page order, so that a large site never holds it
/// whole: the same bytes as the serialised list.
#[derive(Debug, Default)]
pub struct RulesJson {
    written: usize,
}

impl RulesJson {
    /// Nothing written yet.
    pub fn new() -> RulesJson {
        RulesJson::default()
    }

    /// Writes the element of `entry`, the next in page order.
    pub fn rule(
        &mut self,
        out: &mut impl std::io::Write,
        entry: &RuleEntry,
    ) -> std::io::Result<()> {
        out.write_all(if self.written == 0 { b"[" } else { b"," })?;
        serde_json::to_writer(&mut *out, &JsonRule::new(entry))?;
        self.written += 1;
        Ok(())
    }

    /// Ends the list.
    pub fn finish(self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(if self.written == 0 { b"[]\n" } else { b"]\n" })
    }
}

#[derive(Serialize)]
struct JsonQueries<'a> {
    page: &'a str,
    source_path: &'a str,
    title: &'a str,
    id: Option<&'a str>,
    queries: Vec<JsonQuery<'a>>,
}

#[derive(Serialize)]
struct JsonQuery<'a> {
    target: &'a str,
    pipelines: &'a [String],
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// `<page>.json`: the rule's queries, one per configured target entry (the target, the
/// pipelines before it, the section title, and the query or why there is none), for tools that
/// want a site's queries without reading its pages. Written beside each rule page rather than
/// into `rules.json`, so a build never holds every rule's queries at once and the search index
/// the rules table fetches stays small.
pub fn rule_queries_json(entry: &RuleEntry, queries: &[QueryItem]) -> String {
    let export = JsonQueries {
        page: &entry.page,
        source_path: &entry.source_path,
        title: &entry.title,
        id: entry.id.as_deref(),
        queries: queries
            .iter()
            .map(|q| JsonQuery {
                target: &q.target,
                pipelines: &q.pipelines,
                title: &q.title,
                query: q.output.as_deref(),
                error: q.error.as_deref(),
            })
            .collect(),
    };
    let mut out = serde_json::to_string(&export).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}

/// The columns of `analytics.csv`: ATC's, in ATC's order, then sigwiki's additions. sigwiki has
/// no customers, logging policies, enrichments or response playbooks, so those stay empty.
pub const CSV_COLUMNS: &[&str] = &[
    "customer",
    "tactic",
    "technique",
    "detection_rule",
    "category",
    "platform",
    "type",
    "channel",
    "provider",
    "data_needed",
    "logging policy",
    "enrichment",
    "enrichment requirements",
    "response playbook",
    "response action",
    "rule_page",
    "level",
    "status",
];

/// `analytics.csv`: one row per rule × tactic × technique × Data Needed entry (an empty cell
/// where a rule has none of one).
pub fn analytics_csv(entries: &[RuleEntry]) -> String {
    let mut sorted: Vec<&RuleEntry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.page.cmp(&b.page));
    let mut out = Vec::with_capacity(entries.len() * 200);
    match write_analytics_csv(sorted, &mut out).map(|()| String::from_utf8(out)) {
        Ok(Ok(text)) => text,
        _ => String::new(),
    }
}

/// Writes `analytics.csv` (see [`analytics_csv`]) of `sorted`, the entries in page order, to
/// `out` row by row, so that a large site never holds it whole.
pub fn write_analytics_csv(
    sorted: Vec<&RuleEntry>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let mut line = String::new();
    line.push_str(&CSV_COLUMNS.join(","));
    line.push('\n');
    out.write_all(line.as_bytes())?;
    for e in sorted {
        let tactics: Vec<String> = if e.enrichment.tactics.is_empty() {
            vec![String::new()]
        } else {
            e.enrichment
                .tactics
                .iter()
                .map(|t| format!("{}: {}", t.id, t.name))
                .collect()
        };
        let techniques: Vec<String> = if e.enrichment.techniques.is_empty() {
            vec![String::new()]
        } else {
            e.enrichment
                .techniques
                .iter()
                .map(|t| {
                    let t = t.effective();
                    format!("{}: {}", t.id, t.name)
                })
                .collect()
        };
        let none = [None];
        let data: Vec<Option<&super::enrichment::DataNeeded>> =
            if e.enrichment.data_needed.is_empty() {
                none.to_vec()
            } else {
                e.enrichment
                    .data_needed
                    .iter()
                    .map(|d| Some(&**d))
                    .collect()
            };
        for tactic in &tactics {
            for technique in &techniques {
                for d in &data {
                    let field = |f: &dyn Fn(&super::enrichment::DataNeeded) -> Option<String>| {
                        d.and_then(f).unwrap_or_default()
                    };
                    let cells = [
                        String::new(),
                        tactic.clone(),
                        technique.clone(),
                        e.title.clone(),
                        field(&|d| d.category.clone()),
                        field(&|d| d.platform.clone()),
                        String::new(),
                        field(&|d| d.channel.clone()),
                        field(&|d| d.provider.clone()),
                        field(&|d| Some(d.title.clone())),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        String::new(),
                        format!("{}.html", e.page),
                        e.level.unwrap_or_default().to_string(),
                        e.status.unwrap_or_default().to_string(),
                    ];
                    let cells: Vec<String> = cells.iter().map(|c| escape::csv_cell(c)).collect();
                    line.clear();
                    line.push_str(&cells.join(","));
                    line.push('\n');
                    out.write_all(line.as_bytes())?;
                }
            }
        }
    }
    Ok(())
}

/// `sitemap.xml` of every HTML page, with absolute URLs under `site_url` (ending in `/`).
pub fn sitemap(site_url: &str, entries: &[RuleEntry], ix: &Indexes) -> String {
    let mut pages: BTreeSet<String> = BTreeSet::new();
    for p in ["index", "rules", "coverage", "errors"] {
        pages.insert(p.to_string());
    }
    for e in entries {
        pages.insert(e.page.clone());
    }
    let maps: [&dyn Fn() -> Vec<String>; 6] = [
        &|| ix.pages.tactics.values().cloned().collect(),
        &|| ix.pages.techniques.values().cloned().collect(),
        &|| ix.pages.logsources.values().cloned().collect(),
        &|| ix.pages.tags.values().cloned().collect(),
        &|| ix.pages.authors.values().cloned().collect(),
        &|| ix.pages.data_needed.values().cloned().collect(),
    ];
    for f in maps {
        pages.extend(f());
    }
    for kind in [
        "tactics",
        "techniques",
        "logsources",
        "tags",
        "authors",
        "data-needed",
        "levels",
        "status",
    ] {
        pages.insert(format!("{kind}/index"));
    }
    for l in ix.levels.keys() {
        pages.insert(format!("levels/{l}"));
    }
    for s in ix.statuses.keys() {
        pages.insert(format!("status/{s}"));
    }
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
    );
    for p in pages {
        let _ = writeln!(
            out,
            "  <url><loc>{}</loc></url>",
            escape::xml(&format!("{site_url}{p}.html"))
        );
    }
    out.push_str("</urlset>\n");
    out
}
