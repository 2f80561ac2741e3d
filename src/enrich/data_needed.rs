//! The Data Needed catalog: the logs and events a rule needs, and the matching of a rule to them.
//!
//! An [`Entry`] is either one **event** (it has an `event_id`: Sysmon 3, Security 4688, …) or
//! one **log** as a whole (no `event_id`: AWS CloudTrail, the Windows `Application` channel, …).
//! A rule is matched in two ways ([`DataNeededCatalog::match_rule`]):
//!
//! 1. its `logsource` selects the entries whose [`LogSourceKey`]s it satisfies — the entries the
//!    log source *means* (`category: process_creation` on Windows → Sysmon 1 and Security 4688;
//!    `service: security` → the whole Security log);
//! 2. when the detection tests `EventID` (in a selection the condition uses positively, including
//!    inside lists of maps), those IDs narrow the choice to the events of the selected channels:
//!    `service: sysmon` with `EventID: 3` → Sysmon 3 only. IDs the catalog does not know keep the
//!    log-level entries of the log source, so the page still says which log is needed.
//!
//! The embedded catalog is produced by `sigwiki data import-data-needed` (see
//! [`crate::enrich::import`]) and parsed once; users add or override entries with a folder of
//! YAML files, which the overrides module of [`crate::enrich`] reads into a new catalog.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::sigma::{ConditionExpr, Detection, FieldMatch, LogSource, Rule, SearchBody, Value};

/// The catalog compiled into the binary (`data/data-needed.json`).
const EMBEDDED_JSON: &str = include_str!("../../data/data-needed.json");

/// The version of the catalog file format this build reads and writes.
pub const CATALOG_FORMAT: u32 = 1;

/// A Sigma `logsource` selector an entry answers to.
///
/// A rule satisfies the key when the rule's `category` and `service` equal the key's (where the
/// key sets them) and its `product` equals the key's — a rule without a `product` is generic and
/// satisfies a key of any product, provided the key also names a category or service.
/// Comparisons ignore ASCII case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceKey {
    /// `logsource.product` (`windows`, `aws`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// `logsource.category` (`process_creation`, `proxy`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// `logsource.service` (`security`, `cloudtrail`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl LogSourceKey {
    /// Whether the key selects nothing (no product, category or service).
    pub fn is_empty(&self) -> bool {
        self.product.is_none() && self.category.is_none() && self.service.is_none()
    }

    /// The key with every value in ASCII lower case, as the catalog stores it.
    pub fn normalized(&self) -> LogSourceKey {
        let lower = |v: &Option<String>| v.as_ref().map(|s| s.trim().to_ascii_lowercase());
        LogSourceKey {
            product: lower(&self.product),
            category: lower(&self.category),
            service: lower(&self.service),
        }
    }

    /// Whether a rule with this (already normalized) log source satisfies the key.
    fn is_satisfied_by(&self, rule: &LogSourceKey) -> bool {
        let required = |key: &Option<String>, rule: &Option<String>| match key {
            None => true,
            Some(k) => rule.as_deref() == Some(k.as_str()),
        };
        let product_ok = match (&self.product, &rule.product) {
            (None, _) => true,
            (Some(k), Some(r)) => k == r,
            // A generic rule (no product) runs on any product's log of that category/service.
            (Some(_), None) => self.category.is_some() || self.service.is_some(),
        };
        product_ok
            && required(&self.category, &rule.category)
            && required(&self.service, &rule.service)
    }

    /// `product: windows · category: process_creation`-style summary.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("product", &self.product),
            ("category", &self.category),
            ("service", &self.service),
        ] {
            if let Some(v) = value {
                parts.push(format!("{name}: {v}"));
            }
        }
        parts.join(" · ")
    }
}

/// Where the facts of entries come from, with the attribution its licence asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short key entries refer to (`ossem-dd`, `atc-data`, …).
    pub key: String,
    /// Display name (`OTRF/OSSEM-DD`).
    pub name: String,
    /// Home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Licence name (`MIT`, `Apache-2.0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    /// The attribution line to show (copyright holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<String>,
}

/// One kind of log data a rule can need: an event of a log, or a whole log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable slug, usable as a page file name: `sysmon-3`, `security-4688`,
    /// `powershell-4104`, `aws-cloudtrail`.
    pub id: String,
    /// Display title: `Sysmon 3: Network connection`.
    pub title: String,
    /// The event's or log's own name: `Network connection`.
    pub name: String,
    /// The event ID, for event entries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
    /// The platform (Sigma `product`): `windows`, `linux`, `aws`, … `None` for generic logs
    /// such as proxy or web server logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The channels (Windows event log names, or log files/tables) the data is written to;
    /// the first is the usual one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<String>,
    /// The event provider (`Microsoft-Windows-Sysmon`, `Service Control Manager`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The log sources that need this entry when no `EventID` narrows the choice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logsources: Vec<LogSourceKey>,
    /// The field names of the event or log.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Keys of the [`Source`]s the facts come from.
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Entry {
    /// The usual channel.
    pub fn channel(&self) -> Option<&str> {
        self.channels.first().map(String::as_str)
    }

    /// Whether the entry is one event (rather than a whole log).
    pub fn is_event(&self) -> bool {
        self.event_id.is_some()
    }
}

/// The serialized form of a catalog: `data/data-needed.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogData {
    /// File format version ([`CATALOG_FORMAT`]).
    pub format: u32,
    /// The sources entries cite.
    pub sources: Vec<Source>,
    /// The entries, sorted by id.
    pub entries: Vec<Entry>,
}

impl CatalogData {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<CatalogData, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON form: deterministic, one source and one entry per line so that updates diff
    /// well.
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\"format\":{},\"sources\":[\n", self.format);
        push_lines(&mut out, &self.sources);
        out.push_str("],\"entries\":[\n");
        push_lines(&mut out, &self.entries);
        out.push_str("]}\n");
        out
    }

    /// Sorts entries by id and sources by key, and normalizes the case of log source keys.
    pub fn normalize(&mut self) {
        for entry in &mut self.entries {
            for key in &mut entry.logsources {
                *key = key.normalized();
            }
            entry.logsources.sort();
            entry.logsources.dedup();
            if let Some(p) = &mut entry.platform {
                *p = p.to_ascii_lowercase();
            }
        }
        self.entries.sort_by(|a, b| a.id.cmp(&b.id));
        self.sources.sort_by(|a, b| a.key.cmp(&b.key));
    }
}

fn push_lines<T: Serialize>(out: &mut String, items: &[T]) {
    for (i, item) in items.iter().enumerate() {
        // Serializing plain strings, numbers and lists cannot fail.
        out.push_str(&serde_json::to_string(item).unwrap_or_default());
        if i + 1 < items.len() {
            out.push(',');
        }
        out.push('\n');
    }
}

/// The Data Needed catalog with its lookup indexes.
#[derive(Debug, Clone)]
pub struct DataNeededCatalog {
    data: CatalogData,
    by_id: HashMap<String, usize>,
    by_event_id: HashMap<u32, Vec<usize>>,
    /// Entries by the category or service of one of their keys, plus product-only keys under
    /// their product; candidates for [`LogSourceKey::is_satisfied_by`].
    by_selector: HashMap<String, Vec<usize>>,
}

static EMBEDDED: LazyLock<DataNeededCatalog> = LazyLock::new(|| {
    // The embedded file is part of the build; `tests/enrich_data_needed.rs` proves it parses.
    let data = CatalogData::from_json(EMBEDDED_JSON).unwrap_or(CatalogData {
        format: CATALOG_FORMAT,
        sources: Vec::new(),
        entries: Vec::new(),
    });
    DataNeededCatalog::from_data(data)
});

impl DataNeededCatalog {
    /// The catalog compiled into the binary, parsed on first use.
    pub fn embedded() -> &'static DataNeededCatalog {
        &EMBEDDED
    }

    /// A catalog of `data` (entries are normalized and sorted).
    pub fn from_data(mut data: CatalogData) -> DataNeededCatalog {
        data.normalize();
        let mut by_id = HashMap::new();
        let mut by_event_id: HashMap<u32, Vec<usize>> = HashMap::new();
        let mut by_selector: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, entry) in data.entries.iter().enumerate() {
            by_id.insert(entry.id.clone(), i);
            if let Some(id) = entry.event_id {
                by_event_id.entry(id).or_default().push(i);
            }
            for key in &entry.logsources {
                let selector = key
                    .category
                    .as_ref()
                    .map(|c| format!("c:{c}"))
                    .or_else(|| key.service.as_ref().map(|s| format!("s:{s}")))
                    .or_else(|| key.product.as_ref().map(|p| format!("p:{p}")));
                if let Some(selector) = selector {
                    let list = by_selector.entry(selector).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
        }
        DataNeededCatalog {
            data,
            by_id,
            by_event_id,
            by_selector,
        }
    }

    /// Every entry, sorted by id.
    pub fn entries(&self) -> &[Entry] {
        &self.data.entries
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).and_then(|&i| self.data.entries.get(i))
    }

    /// The sources entries cite.
    pub fn sources(&self) -> &[Source] {
        &self.data.sources
    }

    /// The source with this key.
    pub fn source(&self, key: &str) -> Option<&Source> {
        self.data.sources.iter().find(|s| s.key == key)
    }

    /// The serializable form of the catalog.
    pub fn data(&self) -> &CatalogData {
        &self.data
    }

    /// The entries a rule needs, in catalog order.
    pub fn match_rule(&self, rule: &Rule) -> Vec<&Entry> {
        let needs = RuleNeeds::of(rule);
        self.match_needs(&needs)
    }

    /// The entries needed by a log source and the event IDs (and providers) a detection tests.
    pub fn match_needs(&self, needs: &RuleNeeds) -> Vec<&Entry> {
        let logsource = &needs.logsource;
        let scope = self.scope(logsource);
        let mut chosen: BTreeSet<usize> = BTreeSet::new();
        if !needs.event_ids.is_empty() {
            let channels: BTreeSet<String> = scope
                .iter()
                .filter_map(|&i| self.data.entries.get(i))
                .flat_map(|e| e.channels.iter().map(|c| c.to_ascii_lowercase()))
                .collect();
            let mut unmatched = false;
            for id in &needs.event_ids {
                let candidates: Vec<usize> =
                    self.by_event_id
                        .get(id)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|&i| {
                            self.data.entries.get(i).is_some_and(|e| {
                                in_scope(e, logsource, &channels, scope.is_empty())
                            })
                        })
                        .collect();
                let narrowed = self.narrow_by_provider(candidates, &needs.providers);
                if narrowed.is_empty() {
                    unmatched = true;
                }
                chosen.extend(narrowed);
            }
            if unmatched {
                chosen.extend(scope.iter().copied().filter(|&i| {
                    self.data
                        .entries
                        .get(i)
                        .is_some_and(|e| e.event_id.is_none())
                }));
            }
        }
        if chosen.is_empty() {
            chosen.extend(scope.iter().copied());
        }
        chosen
            .into_iter()
            .filter_map(|i| self.data.entries.get(i))
            .collect()
    }

    /// Entries whose log source keys the rule's log source satisfies.
    fn scope(&self, logsource: &LogSourceKey) -> Vec<usize> {
        let mut candidates: BTreeSet<usize> = BTreeSet::new();
        let selectors = [
            logsource.category.as_ref().map(|c| format!("c:{c}")),
            logsource.service.as_ref().map(|s| format!("s:{s}")),
            logsource.product.as_ref().map(|p| format!("p:{p}")),
        ];
        for selector in selectors.into_iter().flatten() {
            if let Some(list) = self.by_selector.get(&selector) {
                candidates.extend(list.iter().copied());
            }
        }
        candidates
            .into_iter()
            .filter(|&i| {
                self.data
                    .entries
                    .get(i)
                    .is_some_and(|e| e.logsources.iter().any(|k| k.is_satisfied_by(logsource)))
            })
            .collect()
    }

    /// Keeps the candidates whose provider the rule names in `Provider_Name`, when it names any;
    /// entries without a provider are kept.
    fn narrow_by_provider(
        &self,
        candidates: Vec<usize>,
        providers: &BTreeSet<String>,
    ) -> Vec<usize> {
        if providers.is_empty() {
            return candidates;
        }
        candidates
            .into_iter()
            .filter(|&i| {
                self.data.entries.get(i).is_some_and(|e| match &e.provider {
                    None => true,
                    Some(p) => providers.contains(&p.to_ascii_lowercase()),
                })
            })
            .collect()
    }
}

/// Whether an event entry belongs to the logs a rule's log source selected: one of their
/// channels, or — when the log source selected nothing (`product: windows` alone) — the
/// rule's product.
fn in_scope(
    entry: &Entry,
    logsource: &LogSourceKey,
    channels: &BTreeSet<String>,
    scope_is_empty: bool,
) -> bool {
    let platform_ok = match (&logsource.product, &entry.platform) {
        (Some(rule), Some(entry)) => rule == entry,
        _ => true,
    };
    if !platform_ok {
        return false;
    }
    if scope_is_empty {
        return logsource.product.is_some() && entry.platform.is_some();
    }
    entry
        .channels
        .iter()
        .any(|c| channels.contains(&c.to_ascii_lowercase()))
}

/// What a rule asks of its log data: its normalized log source, and the `EventID` and
/// `Provider_Name` values its detection looks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleNeeds {
    /// The rule's log source, lower case.
    pub logsource: LogSourceKey,
    /// `EventID` values tested positively.
    pub event_ids: BTreeSet<u32>,
    /// `Provider_Name` values tested positively, lower case.
    pub providers: BTreeSet<String>,
}

impl RuleNeeds {
    /// Reads the needs of a rule.
    pub fn of(rule: &Rule) -> RuleNeeds {
        let mut needs = RuleNeeds {
            logsource: logsource_key(&rule.logsource),
            ..RuleNeeds::default()
        };
        for item in positive_items(&rule.detection) {
            let Some(field) = &item.field else { continue };
            if item.negated || item.time_part.is_some() || !item.modifiers.is_empty() {
                continue;
            }
            if field.eq_ignore_ascii_case("EventID") {
                needs
                    .event_ids
                    .extend(item.all_values().filter_map(event_id_of));
            } else if field.eq_ignore_ascii_case("Provider_Name") {
                needs.providers.extend(
                    item.all_values()
                        .filter_map(plain_text)
                        .map(|s| s.to_ascii_lowercase()),
                );
            }
        }
        needs
    }
}

/// The normalized key of a rule's `logsource`.
pub fn logsource_key(logsource: &LogSource) -> LogSourceKey {
    LogSourceKey {
        product: logsource.product.clone(),
        category: logsource.category.clone(),
        service: logsource.service.clone(),
    }
    .normalized()
}

fn event_id_of(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|i| u32::try_from(i).ok()),
        Value::String(_) => plain_text(value).and_then(|s| s.trim().parse().ok()),
        _ => None,
    }
}

fn plain_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => s.as_plain(),
        _ => None,
    }
}

/// The detection items of the search identifiers the condition uses without negation (all
/// identifiers when the detection has no usable condition). `not filter` selections describe
/// events the rule excludes, so their `EventID`s are not data the rule needs.
fn positive_items(detection: &Detection) -> Vec<&FieldMatch> {
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for condition in &detection.conditions {
        collect_positive(&condition.expr, true, &mut names);
    }
    let all = detection.conditions.is_empty();
    let mut items = Vec::new();
    for identifier in &detection.identifiers {
        if all || names.contains(identifier.name.as_str()) {
            collect_items(&identifier.body, &mut items);
        }
    }
    items
}

fn collect_positive<'a>(expr: &'a ConditionExpr, positive: bool, out: &mut BTreeSet<&'a str>) {
    match expr {
        ConditionExpr::And(list) | ConditionExpr::Or(list) => {
            for e in list {
                collect_positive(e, positive, out);
            }
        }
        ConditionExpr::Not(inner) => collect_positive(inner, !positive, out),
        ConditionExpr::Identifier(name) => {
            if positive {
                out.insert(name);
            }
        }
        ConditionExpr::Selector(selector) => {
            if positive {
                out.extend(selector.identifiers.iter().map(String::as_str));
            }
        }
    }
}

fn collect_items<'a>(body: &'a SearchBody, out: &mut Vec<&'a FieldMatch>) {
    match body {
        SearchBody::AllOf(items) => out.extend(items),
        SearchBody::Keywords(item) => out.push(item),
        SearchBody::AnyOf(bodies) | SearchBody::All(bodies) => {
            for b in bodies {
                collect_items(b, out);
            }
        }
    }
}
