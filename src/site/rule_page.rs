//! A rule's page: its queries for every target entry, the context `rule.md` renders (links to
//! the index pages, relations, filters), and the writing of its Markdown page, its HTML page
//! and its `<page>.json` of queries.

use std::collections::HashMap;

use tera::Context;

use crate::convert::mapping::FieldMapping;
use crate::sigma::{Diagnostic, RuleFile, RuleSet, SigmaKind};

use super::SiteError;
use super::exports;
use super::indexes::Indexes;
use super::model::{
    self, CorrelationItem, CustomField, DataNeededItem, Link, LogSourceItem, LogSourceKey,
    PagePath, QueryItem, RelationItem, Relations, RuleEntry, RulePage, TacticItem, TagItem,
    TechniqueItem, root_of,
};
use super::render::{Buffers, Pages, Site, href};
use super::targets::QueryTarget;

/// Renders the page of entry `i` of `site` and writes its Markdown, HTML and JSON files.
/// Returns the number of files written.
pub fn write(
    pages: &Pages<'_>,
    site: Site<'_>,
    i: usize,
    buffers: &mut Buffers,
) -> Result<usize, SiteError> {
    let Some(entry) = site.entries.get(i) else {
        return Ok(0);
    };
    let Some(file) = site.rules.files.get(entry.file) else {
        return Ok(0);
    };
    let queries = site.queries(entry.file, file);
    let neighbours = Neighbours {
        entries: site.entries,
        relations: site.relations,
        indexes: site.indexes,
        catalog: site.enricher.matrix().is_some(),
    };
    let mut page = rule_page(entry, file, neighbours, i, queries);
    page.field_mapping = site.options.mapping_shown();
    (page.tuned_by, page.tuned_rules) = filter_sections(site, entry, file);
    let context = Context::from_serialize(&page).map_err(|e| SiteError::Template {
        name: "rule.md".to_string(),
        message: e.to_string(),
    })?;
    // The HTML layout gets the very values the Markdown page was rendered with: shared (a
    // reference count each), not serialised a second time.
    let rule = context.get("rule").cloned();
    let queries_value = context.get("queries").cloned();
    pages.write_markdown_and_html(
        &entry.page,
        &entry.title,
        ("rule.md", &context),
        "rule.html",
        buffers,
        |ctx| {
            if let Some(rule) = rule {
                ctx.insert_value("rule", rule);
            }
            if let Some(queries) = queries_value {
                ctx.insert_value("queries", queries);
            }
        },
    )?;
    pages.output.write(
        &format!("{}.json", entry.page),
        exports::rule_queries_json(entry, &page.queries).as_bytes(),
    )?;
    Ok(3)
}

/// The filters that tune the rule of `entry` and, for a filter, the rules it tunes with
/// their tuned queries. Both empty for a rule set without filters.
fn filter_sections(
    site: Site<'_>,
    entry: &RuleEntry,
    file: &RuleFile,
) -> (Vec<RelationItem>, Vec<model::TunedRule>) {
    let root = root_of(&entry.page);
    let entry_of = |file: usize| site.entries.iter().find(|e| e.file == file);
    let mut filters: Vec<crate::sigma::DocumentRef> = file
        .documents
        .iter()
        .flat_map(|d| site.rules.filters_of(file, d).iter().copied())
        .collect();
    filters.sort();
    filters.dedup();
    let tuned_by = filters
        .iter()
        .map(|f| {
            let other = entry_of(f.file);
            let meta = site.rules.document(*f).kind.meta();
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
            site.rules.tuned_by(at).iter().map(|r| r.file)
        })
        .collect();
    tuned_files.sort_unstable();
    tuned_files.dedup();
    let tuned_rules = tuned_files
        .into_iter()
        .filter_map(|f| {
            let rule_file = site.rules.files.get(f)?;
            let other = entry_of(f);
            Some(model::TunedRule {
                title: other.map_or_else(
                    || rule_file.relative.display().to_string(),
                    |o| o.title.clone(),
                ),
                href: other.map(|o| href(&root, &o.page)),
                queries: site.queries(f, rule_file),
            })
        })
        .collect();
    (tuned_by, tuned_rules)
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
