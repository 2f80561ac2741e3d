//! ATT&CK coverage: the HTML matrix view (tactics as columns, technique cells coloured by the
//! number of rules, sub-techniques rolled up into their parent and expandable) and the ATT&CK
//! Navigator layer (format 4.5) with one score per technique.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use super::enrichment::Matrix;
use super::escape;
use super::indexes::Indexes;
use super::model::RuleEntry;

/// The Navigator layer format version written.
pub const LAYER_VERSION: &str = "4.5";
/// The Navigator version the layer is made for.
pub const NAVIGATOR_VERSION: &str = "5.1.0";
/// Where the public ATT&CK Navigator lives.
pub const NAVIGATOR: &str = "https://mitre-attack.github.io/attack-navigator/";

/// A cell of the matrix view.
#[derive(Debug, Serialize)]
pub struct Cell {
    /// `T1218`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Rules for this technique or (for a parent) any of its sub-techniques.
    pub count: usize,
    /// Colour bucket 0–5.
    pub heat: u8,
    /// Its technique page (`techniques/T1218.html`), if it has rules.
    pub href: Option<String>,
    /// Sub-technique cells.
    pub subtechniques: Vec<Cell>,
}

/// A column of the matrix view.
#[derive(Debug, Serialize)]
pub struct Column {
    /// `TA0005`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Techniques in this column with at least one rule.
    pub covered: usize,
    /// The cells.
    pub cells: Vec<Cell>,
}

/// The coverage page.
#[derive(Debug, Serialize)]
pub struct CoverageView {
    /// Whether an ATT&CK catalog was available.
    pub has_matrix: bool,
    /// The ATT&CK version.
    pub version: Option<String>,
    /// The columns.
    pub columns: Vec<Column>,
    /// Techniques with rules that are not in the matrix: `(id, name, count, href)`.
    pub outside: Vec<Cell>,
    /// Distinct techniques (and sub-techniques) with rules.
    pub covered: usize,
    /// Techniques and sub-techniques in the matrix.
    pub total: usize,
}

/// The colour bucket of a rule count.
pub fn heat(count: usize) -> u8 {
    match count {
        0 => 0,
        1 => 1,
        2..=3 => 2,
        4..=7 => 3,
        8..=15 => 4,
        _ => 5,
    }
}

/// Rules per effective technique id, with sub-technique rules also counted (distinctly) for
/// their parent.
fn rolled_up(ix: &Indexes) -> BTreeMap<String, BTreeSet<usize>> {
    let mut out: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    for (id, (_, rules, _)) in &ix.techniques {
        out.entry(id.clone()).or_default().extend(rules);
        if let Some((parent, _)) = id.split_once('.') {
            out.entry(parent.to_string()).or_default().extend(rules);
        }
    }
    out
}

/// Builds the matrix view.
pub fn matrix_view(matrix: Option<&Matrix>, ix: &Indexes) -> CoverageView {
    let counts = rolled_up(ix);
    let count = |id: &str| counts.get(id).map_or(0, BTreeSet::len);
    let page = |id: &str| ix.pages.techniques.get(id).map(|p| format!("{p}.html"));
    let mut in_matrix: BTreeSet<String> = BTreeSet::new();
    let mut columns = Vec::new();
    let mut total = BTreeSet::new();
    if let Some(m) = matrix {
        for tactic in &m.tactics {
            let mut cells = Vec::new();
            for tech in &tactic.techniques {
                let id = &tech.technique.id;
                in_matrix.insert(id.clone());
                total.insert(id.clone());
                let subtechniques: Vec<Cell> = tech
                    .subtechniques
                    .iter()
                    .map(|s| {
                        in_matrix.insert(s.id.clone());
                        total.insert(s.id.clone());
                        let n = count(&s.id);
                        Cell {
                            id: s.id.clone(),
                            name: s.name.clone(),
                            count: n,
                            heat: heat(n),
                            href: page(&s.id),
                            subtechniques: Vec::new(),
                        }
                    })
                    .collect();
                let n = count(id);
                cells.push(Cell {
                    id: id.clone(),
                    name: tech.technique.name.clone(),
                    count: n,
                    heat: heat(n),
                    href: page(id).or_else(|| {
                        // A parent only covered through sub-techniques has no page of its
                        // own; link the first covered sub-technique's page instead.
                        subtechniques.iter().find_map(|s| s.href.clone())
                    }),
                    subtechniques,
                });
            }
            columns.push(Column {
                id: tactic.id.clone(),
                name: tactic.name.clone(),
                covered: cells.iter().filter(|c| c.count > 0).count(),
                cells,
            });
        }
    }
    let outside = ix
        .techniques
        .iter()
        .filter(|(id, _)| !in_matrix.contains(*id))
        .map(|(id, (t, rules, _))| Cell {
            id: id.clone(),
            name: t.name.clone(),
            count: rules.len(),
            heat: heat(rules.len()),
            href: page(id),
            subtechniques: Vec::new(),
        })
        .collect();
    CoverageView {
        has_matrix: matrix.is_some(),
        version: matrix.map(|m| m.version.clone()),
        columns,
        outside,
        covered: ix.techniques.len(),
        total: total.len(),
    }
}

/// The "Open in ATT&CK Navigator" URL for a published layer.
pub fn navigator_link(layer_url: &str) -> String {
    format!("{NAVIGATOR}#layerURL={}", escape::url_component(layer_url))
}

/// The Navigator layer: score = rules per technique, a comment listing them, links to their
/// pages when the site URL is known.
pub fn navigator_layer(
    title: &str,
    matrix: Option<&Matrix>,
    entries: &[RuleEntry],
    ix: &Indexes,
    site_url: Option<&str>,
) -> String {
    let mut max = 0usize;
    let mut techniques = Vec::new();
    let parents_with_subs: BTreeSet<&str> = ix
        .techniques
        .keys()
        .filter_map(|id| id.split_once('.').map(|(p, _)| p))
        .collect();
    for (id, (_, rules, _)) in &ix.techniques {
        let mut titles: Vec<(&str, &str)> = rules
            .iter()
            .filter_map(|&i| entries.get(i))
            .map(|e| (e.title.as_str(), e.page.as_str()))
            .collect();
        titles.sort();
        titles.dedup();
        max = max.max(titles.len());
        let mut technique = json!({
            "techniqueID": id,
            "score": titles.len(),
            "comment": titles.iter().map(|(t, _)| *t).collect::<Vec<_>>().join("; "),
            "enabled": true,
            "showSubtechniques": parents_with_subs.contains(id.as_str()),
        });
        if let Some(site) = site_url {
            let links: Vec<Value> = titles
                .iter()
                .map(|(t, p)| json!({"label": t, "url": format!("{site}{p}.html")}))
                .collect();
            technique["links"] = Value::Array(links);
        } else {
            let metadata: Vec<Value> = titles
                .iter()
                .map(|(t, p)| json!({"name": t, "value": format!("{p}.html")}))
                .collect();
            technique["metadata"] = Value::Array(metadata);
        }
        techniques.push(technique);
    }
    let attack_version = matrix
        .map(|m| {
            m.version
                .split('.')
                .next()
                .unwrap_or(&m.version)
                .to_string()
        })
        .unwrap_or_else(|| "19".to_string());
    let mut layer = json!({
        "name": format!("{title}: rules per technique"),
        "versions": {
            "attack": attack_version,
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_VERSION,
        },
        "domain": "enterprise-attack",
        "description": format!("Score = number of Sigma rules per ATT&CK technique ({} rules).", entries.len()),
        "sorting": 3,
        "layout": {
            "layout": "side",
            "aggregateFunction": "max",
            "showID": true,
            "showName": true,
            "showAggregateScores": false,
            "countUnscored": false,
            "expandedSubtechniques": "annotated",
        },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {
            "colors": ["#e8f1fb", "#2f6db5"],
            "minValue": 0,
            "maxValue": max.max(1),
        },
        "legendItems": [],
        "metadata": [],
        "links": [],
        "showTacticRowBackground": false,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": true,
        "selectSubtechniquesWithParent": false,
        "selectVisibleTechniques": false,
    });
    if let Some(site) = site_url {
        layer["links"] = json!([{"label": title, "url": site}]);
    }
    let mut out = serde_json::to_string_pretty(&layer).unwrap_or_else(|_| "{}".to_string());
    out.push('\n');
    out
}
