//! The compiled rule set: every rule compiled once against one field table, indexed by the log
//! source it covers (Windows channel and event ID), so an event is tested only against the rules
//! of its log source; and the correlation rules over the matches of the rules they reference.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::compile::{Binding, CompiledDetection, FieldTable, ItemVerdict};
use super::event::{Event, FieldValue};
use super::hash::FastHash;
use super::logsource::{LogSourceTable, SourceMatch};
use super::prefilter::{Atom, Prefilter, ScanScratch};
use crate::sigma::rule::{CorrelationOp, CorrelationType};
use crate::sigma::{RuleSet, SigmaKind};

/// Who a compiled rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The rule file.
    pub file: PathBuf,
    /// The index of the document in the file.
    pub document: usize,
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Who it is.
    pub info: RuleInfo,
    /// The detection without renames (index 0), then one per log-source alternative that
    /// renames fields.
    variants: Vec<CompiledDetection>,
    /// What the log source covers.
    pub source: SourceMatch,
    /// Why the rule cannot be evaluated, if it cannot.
    pub unevaluable: Option<String>,
}

/// A compiled correlation rule.
#[derive(Debug, Clone)]
pub struct CompiledCorrelation {
    /// Who it is.
    pub info: RuleInfo,
    kind: CorrelationType,
    /// The referenced rules (indices into the engine's rules).
    rules: Vec<u32>,
    /// Per referenced rule, the field ids of the group-by fields (aliases resolved).
    group_by: Vec<Vec<u32>>,
    /// Per referenced rule, the aggregated field.
    field: Vec<Option<u32>>,
    span_ms: i64,
    condition: Vec<(CorrelationOp, f64)>,
    /// Why it cannot be evaluated, if it cannot.
    pub unevaluable: Option<String>,
}

/// A (rule, variant) pair an index entry points at.
type Target = (u32, u16);

/// Clauses of atom ids: each must hold, by one of its atoms.
type AtomClauses = Box<[Box<[u32]>]>;

/// The targets one index key (a channel and event ID, a channel, an event ID, any Windows
/// event, or an event without a channel) selects.
#[derive(Debug, Default)]
struct IndexEntry {
    /// Every target, as ids into the engine's targets, sorted.
    all: Vec<u32>,
}

/// The index entries one event selects (up to four; `u32::MAX` pads), which name the
/// [`Selection`] it is tested with.
type SelectionKey = [u32; 4];

/// The targets of the index entries an event selects, prepared for the events selecting the
/// same entries (mostly all events of one channel and event ID): a prefilter holding only the
/// atoms of those targets, so an event is scanned for what its own log source's rules need and
/// not for the literals of every rule of the set.
#[derive(Debug, Default)]
struct Selection {
    /// The atoms of the gated targets.
    prefilter: Prefilter,
    /// Whether there are gated targets (else no scan is needed).
    gated: bool,
    /// The targets without atoms, sorted: tested on every event of the selection.
    always: Box<[u32]>,
    /// Per atom (sorted), the start of its targets in `posted`: the gated targets whose first
    /// clause holds it. A list ends where the next one starts.
    postings: Box<[(u32, u32)]>,
    posted: Box<[u32]>,
}

impl Selection {
    /// The targets whose first clause holds `atom`.
    fn posted(&self, atom: u32) -> &[u32] {
        let Ok(at) = self.postings.binary_search_by_key(&atom, |(a, _)| *a) else {
            return &[];
        };
        let start = self.postings[at].1 as usize;
        let end = self
            .postings
            .get(at + 1)
            .map_or(self.posted.len(), |(_, s)| *s as usize);
        &self.posted[start..end]
    }
}

/// Numbers engines, so that a [`Scratch`] holding one engine's selections knows another's.
static ENGINE_SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// How many selections a [`Scratch`] keeps at most (events of so many log sources at once).
const SCRATCH_SELECTIONS: usize = 64;

/// The compiled rule set.
#[derive(Debug, Default)]
pub struct Engine {
    fields: FieldTable,
    rules: Vec<CompiledRule>,
    correlations: Vec<CompiledCorrelation>,
    /// Every (rule, variant) pair of the index, in rule order (so sorted ids are rule order).
    targets: Vec<Target>,
    entries: Vec<IndexEntry>,
    by_channel_and_id: HashMap<Box<str>, HashMap<i64, u32, FastHash>, FastHash>,
    by_channel: HashMap<Box<str>, u32, FastHash>,
    by_id: HashMap<i64, u32, FastHash>,
    any_windows: u32,
    /// The entry of events without a channel: every rule that can be evaluated, as written.
    no_channel: u32,
    channel: u32,
    event_id: u32,
    /// Every atom of the targets' clauses (an atom's id is its index).
    atoms: Vec<Atom>,
    /// Per target, the clauses of atoms an event it matches holds (`None`: always tested).
    clauses: Vec<Option<AtomClauses>>,
    /// The selections made so far, built when an event first selects their entries.
    selections: Mutex<HashMap<SelectionKey, Arc<Selection>, FastHash>>,
    /// This engine's number (see [`ENGINE_SERIAL`]).
    serial: u64,
}

/// Per-thread state of evaluation, reused across events.
#[derive(Debug, Default)]
pub struct Scratch {
    binding: Binding,
    matched: Vec<u32>,
    candidates: Vec<u32>,
    scan: ScanScratch,
    had_channel: bool,
    /// The selections used lately, of the engine numbered `engine` (looked up here first, so
    /// threads do not share a lock or a reference count per event).
    selections: Vec<(SelectionKey, Arc<Selection>)>,
    engine: u64,
}

impl Scratch {
    /// The index in `self.selections` of `engine`'s selection for `key`.
    fn selection(&mut self, engine: &Engine, key: SelectionKey) -> usize {
        if self.engine != engine.serial {
            self.selections.clear();
            self.engine = engine.serial;
        }
        if let Some(at) = self.selections.iter().position(|(k, _)| *k == key) {
            return at;
        }
        if self.selections.len() >= SCRATCH_SELECTIONS {
            self.selections.clear();
        }
        self.selections.push((key, engine.selection(key)));
        self.selections.len() - 1
    }

    /// Whether the event [`Engine::matches`] took last had a `Channel` (else it was tested
    /// against every rule, having no log source to go by).
    pub fn had_channel(&self) -> bool {
        self.had_channel
    }
}

/// One match of a rule a correlation references, kept for the correlation.
#[derive(Debug, Clone)]
struct Hit {
    time: i64,
    rule: usize,
    key: Vec<Box<str>>,
    value: Option<FieldValue>,
}

/// The matches correlations collect over a stream of events.
#[derive(Debug, Default)]
pub struct CorrelationState {
    hits: Vec<Vec<Hit>>,
    last_time: i64,
}

impl Engine {
    /// Compiles every rule and correlation of `set` with the log sources of `table`.
    pub fn compile(set: &RuleSet, table: &LogSourceTable) -> Engine {
        Self::compile_where(set, table, &|_, _| true)
    }

    /// Compiles the rules and correlations of `set` for which `keep(file index, document
    /// index)` holds.
    pub fn compile_where(
        set: &RuleSet,
        table: &LogSourceTable,
        keep: &dyn Fn(usize, usize) -> bool,
    ) -> Engine {
        let mut engine = Engine {
            serial: ENGINE_SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            ..Engine::default()
        };
        engine.channel = engine.fields.intern("Channel");
        engine.event_id = engine.fields.intern("EventID");
        let mut by_reference: HashMap<&str, u32> = HashMap::new();
        let mut names: HashMap<u32, &str> = HashMap::new();
        let mut index_entries: Vec<(IndexKey, Target)> = Vec::new();
        for (at, file, document) in set.documents() {
            if !matches!(document.kind, SigmaKind::Rule(_)) || !keep(at.file, document.index) {
                continue;
            }
            // A rule is evaluated as the filters naming it tune it, as it is converted: an
            // event a filter excludes is not a match.
            let tuned = set.tuned(file, document);
            let SigmaKind::Rule(rule) = &tuned.as_ref().unwrap_or(document).kind else {
                continue;
            };
            let index = u32::try_from(engine.rules.len()).unwrap_or(u32::MAX);
            let meta = document.kind.meta();
            for key in [&meta.id, &meta.name].into_iter().flatten() {
                by_reference.entry(key.as_str()).or_insert(index);
            }
            if let Some(name) = &meta.name {
                names.insert(index, name);
            }
            let info = RuleInfo {
                file: file.path.clone(),
                document: document.index,
                title: rule.meta.title.clone(),
                id: rule.meta.id.clone(),
            };
            let source = table.resolve(&rule.logsource);
            let mut variants = Vec::new();
            let mut unevaluable = None;
            match CompiledDetection::compile(
                &rule.detection,
                &mut engine.fields,
                &|f| f.to_string(),
                &[],
            ) {
                Ok(plain) => variants.push(plain),
                Err(e) => unevaluable = Some(e.0),
            }
            if unevaluable.is_none() {
                index_entries.extend(engine.index_targets(index, &source, rule, &mut variants));
                index_entries.push((IndexKey::NoChannel, (index, 0)));
            }
            engine.rules.push(CompiledRule {
                info,
                variants,
                source,
                unevaluable,
            });
        }
        for (at, file, document) in set.documents() {
            let SigmaKind::Correlation(c) = &document.kind else {
                continue;
            };
            if !keep(at.file, document.index) {
                continue;
            }
            let info = RuleInfo {
                file: file.path.clone(),
                document: document.index,
                title: c.meta.title.clone(),
                id: c.meta.id.clone(),
            };
            let correlation = &c.correlation;
            let mut unevaluable = None;
            let mut rules = Vec::new();
            for r in &correlation.rules {
                match by_reference.get(r.reference.as_str()) {
                    Some(i) => rules.push(*i),
                    None => {
                        unevaluable = Some(format!(
                            "the correlation references `{}`, which is not a detection rule of the set",
                            r.reference
                        ))
                    }
                }
            }
            let field_of = |engine: &mut Engine, rule: u32, field: &str| {
                let alias = correlation.aliases.iter().find(|a| a.alias == field);
                let name = alias
                    .and_then(|a| {
                        let rule_name = names.get(&rule).copied();
                        let rule_id = engine.rules[rule as usize].info.id.clone();
                        a.fields
                            .iter()
                            .find(|(r, _)| {
                                Some(r.as_str()) == rule_name || Some(r) == rule_id.as_ref()
                            })
                            .map(|(_, f)| f.clone())
                    })
                    .unwrap_or_else(|| field.to_string());
                engine.fields.intern(&name)
            };
            let group_by = rules
                .iter()
                .map(|r| {
                    correlation
                        .group_by
                        .iter()
                        .map(|g| field_of(&mut engine, *r, g))
                        .collect()
                })
                .collect();
            let field = rules
                .iter()
                .map(|r| {
                    correlation
                        .field
                        .as_deref()
                        .map(|f| field_of(&mut engine, *r, f))
                })
                .collect();
            let mut condition: Vec<(CorrelationOp, f64)> = correlation
                .condition
                .iter()
                .map(|(op, n)| (*op, n.as_f64()))
                .collect();
            if condition.is_empty() && correlation.kind.is_temporal() {
                // Temporal proximity without a condition: every referenced rule.
                condition.push((CorrelationOp::Gte, rules.len() as f64));
            }
            engine.correlations.push(CompiledCorrelation {
                info,
                kind: correlation.kind,
                rules,
                group_by,
                field,
                span_ms: i64::try_from(correlation.timespan.seconds().saturating_mul(1000))
                    .unwrap_or(i64::MAX),
                condition,
                unevaluable,
            });
        }
        engine.build_index(index_entries);
        engine
    }

    /// Builds the index from the (key, target) pairs of every rule, and the prefilter from
    /// every target's atoms: an event is tested against a target only when the event's values
    /// hold one of the target's atoms, so most of the rules of a busy log source cost nothing.
    fn build_index(&mut self, pairs: Vec<(IndexKey, Target)>) {
        let mut targets: Vec<Target> = pairs.iter().map(|(_, t)| *t).collect();
        targets.sort_unstable();
        targets.dedup();
        let ids: HashMap<Target, u32> = targets
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, u32::try_from(i).unwrap_or(u32::MAX)))
            .collect();
        let mut atom_ids: HashMap<Atom, u32> = HashMap::new();
        let mut atoms: Vec<Atom> = Vec::new();
        let mut id_of = |atom: Atom| -> u32 {
            *atom_ids.entry(atom.clone()).or_insert_with(|| {
                atoms.push(atom);
                u32::try_from(atoms.len() - 1).unwrap_or(u32::MAX)
            })
        };
        let clauses: Vec<Option<AtomClauses>> = targets
            .iter()
            .map(|&(rule, variant)| {
                let required =
                    self.rules[rule as usize].variants[variant as usize].required_atoms()?;
                Some(
                    required
                        .into_iter()
                        .map(|clause| clause.into_iter().map(&mut id_of).collect())
                        .collect(),
                )
            })
            .collect();
        let entry_of = |engine: &mut Engine, key: IndexKey| -> u32 {
            let next = u32::try_from(engine.entries.len()).unwrap_or(u32::MAX);
            let slot = match key {
                IndexKey::ChannelAndId(c, id) => engine
                    .by_channel_and_id
                    .entry(c)
                    .or_default()
                    .entry(id)
                    .or_insert(next),
                IndexKey::Channel(c) => engine.by_channel.entry(c).or_insert(next),
                IndexKey::Id(id) => engine.by_id.entry(id).or_insert(next),
                IndexKey::Any => &mut engine.any_windows,
                IndexKey::NoChannel => &mut engine.no_channel,
            };
            let id = *slot;
            if id == next {
                engine.entries.push(IndexEntry::default());
            }
            id
        };
        // The two entries every engine has, even without rules.
        self.any_windows = 0;
        self.no_channel = 1;
        self.entries = vec![IndexEntry::default(), IndexEntry::default()];
        for (key, target) in pairs {
            let entry = entry_of(self, key);
            self.entries[entry as usize].all.push(ids[&target]);
        }
        for entry in &mut self.entries {
            entry.all.sort_unstable();
            entry.all.dedup();
        }
        self.targets = targets;
        self.clauses = clauses;
        self.atoms = atoms;
    }

    /// The selection of the index entries `key` names, built the first time it is asked for.
    fn selection(&self, key: SelectionKey) -> Arc<Selection> {
        let mut made = self
            .selections
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            made.entry(key)
                .or_insert_with(|| Arc::new(self.build_selection(&key))),
        )
    }

    fn build_selection(&self, key: &SelectionKey) -> Selection {
        let mut targets: Vec<u32> = key
            .iter()
            .filter_map(|&entry| self.entries.get(entry as usize))
            .flat_map(|entry| entry.all.iter().copied())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        let clauses_of = |target: u32| self.clauses.get(target as usize).and_then(Option::as_ref);
        let (gated, always): (Vec<u32>, Vec<u32>) =
            targets.iter().partition(|&&t| clauses_of(t).is_some());
        let mut atoms: Vec<u32> = gated
            .iter()
            .filter_map(|&t| clauses_of(t))
            .flat_map(|clauses| clauses.iter().flat_map(|c| c.iter().copied()))
            .collect();
        atoms.sort_unstable();
        atoms.dedup();
        let prefilter = Prefilter::build(
            atoms
                .iter()
                .filter_map(|&a| self.atoms.get(a as usize).map(|atom| (a, atom))),
        );
        // Looked up by its first clause; the others are checked when it is found.
        let mut pairs: Vec<(u32, u32)> = gated
            .iter()
            .filter_map(|&t| clauses_of(t).map(|c| (t, c)))
            .flat_map(|(t, clauses)| {
                clauses
                    .first()
                    .into_iter()
                    .flat_map(move |first| first.iter().map(move |&a| (a, t)))
            })
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut postings: Vec<(u32, u32)> = Vec::new();
        let mut posted = Vec::with_capacity(pairs.len());
        for (atom, target) in pairs {
            if postings.last().is_none_or(|(a, _)| *a != atom) {
                postings.push((atom, u32::try_from(posted.len()).unwrap_or(u32::MAX)));
            }
            posted.push(target);
        }
        Selection {
            prefilter,
            gated: !gated.is_empty(),
            always: always.into_boxed_slice(),
            postings: postings.into_boxed_slice(),
            posted: posted.into_boxed_slice(),
        }
    }

    /// The index entries that select the targets `event` is tested against: by its channel
    /// and event ID, or the entry of events without a channel. Returns how many of `out` are
    /// set, and whether the event has a channel.
    fn event_entries(&self, event: &Event, binding: &Binding, out: &mut [u32; 4]) -> (usize, bool) {
        let Some(channel) = binding.values(event, self.channel).next() else {
            out[0] = self.no_channel;
            return (1, false);
        };
        let channel: &str = channel.lower();
        let event_id = binding
            .values(event, self.event_id)
            .next()
            .and_then(|v| v.number)
            .map(|n| n as i64);
        let mut count = 0;
        let mut add = |entry: Option<&u32>| {
            if let Some(&entry) = entry {
                out[count] = entry;
                count += 1;
            }
        };
        if let Some(id) = event_id {
            add(self.by_channel_and_id.get(channel).and_then(|m| m.get(&id)));
            add(self.by_id.get(&id));
        }
        add(self.by_channel.get(channel));
        add(Some(&self.any_windows));
        (count, true)
    }

    fn index_targets(
        &mut self,
        index: u32,
        source: &SourceMatch,
        rule: &crate::sigma::Rule,
        variants: &mut Vec<CompiledDetection>,
    ) -> Vec<(IndexKey, Target)> {
        let mut out = Vec::new();
        match source {
            SourceMatch::None(_) => {}
            SourceMatch::Any => out.push((IndexKey::Any, (index, 0))),
            SourceMatch::Windows(alternatives) => {
                for alternative in alternatives {
                    let variant =
                        if alternative.fields.is_empty() && alternative.conditions.is_empty() {
                            0
                        } else {
                            let renames: HashMap<&str, &str> = alternative
                                .fields
                                .iter()
                                .map(|(a, b)| (a.as_str(), b.as_str()))
                                .collect();
                            let rename = |f: &str| {
                                renames
                                    .get(f)
                                    .map_or_else(|| f.to_string(), |r| (*r).to_string())
                            };
                            match CompiledDetection::compile(
                                &rule.detection,
                                &mut self.fields,
                                &rename,
                                &alternative.conditions,
                            ) {
                                Ok(d) => {
                                    variants.push(d);
                                    u16::try_from(variants.len() - 1).unwrap_or(0)
                                }
                                Err(_) => continue,
                            }
                        };
                    let target = (index, variant);
                    match (
                        alternative.channels.is_empty(),
                        alternative.event_ids.is_empty(),
                    ) {
                        (false, false) => {
                            for c in &alternative.channels {
                                for id in &alternative.event_ids {
                                    out.push((
                                        IndexKey::ChannelAndId(c.as_str().into(), *id),
                                        target,
                                    ));
                                }
                            }
                        }
                        (false, true) => {
                            for c in &alternative.channels {
                                out.push((IndexKey::Channel(c.as_str().into()), target));
                            }
                        }
                        (true, false) => {
                            for id in &alternative.event_ids {
                                out.push((IndexKey::Id(*id), target));
                            }
                        }
                        (true, true) => out.push((IndexKey::Any, target)),
                    }
                }
            }
        }
        out
    }

    /// The compiled rules, in rule-set order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The compiled correlations.
    pub fn correlations(&self) -> &[CompiledCorrelation] {
        &self.correlations
    }

    /// The index of the rule of `file` and document `document`.
    pub fn rule_index(&self, file: &std::path::Path, document: usize) -> Option<u32> {
        self.rules
            .iter()
            .position(|r| r.info.file == file && r.info.document == document)
            .and_then(|i| u32::try_from(i).ok())
    }

    /// The indices of the rules `event` matches, in rule-set order. A Windows event (one with a
    /// `Channel`) is tested against the rules of its log source. An event without a `Channel`
    /// carries no log source to go by, so it is tested against every rule that can be
    /// evaluated, on the fields the rule names as it names them (no log-source renames): what
    /// a search over such events by the rule's converted query finds.
    pub fn matches<'s>(&self, event: &Event, scratch: &'s mut Scratch) -> &'s [u32] {
        scratch.binding.bind(&self.fields, event);
        scratch.matched.clear();
        scratch.candidates.clear();
        let mut entries = [u32::MAX; 4];
        let (_, windows) = self.event_entries(event, &scratch.binding, &mut entries);
        scratch.had_channel = windows;
        let at = scratch.selection(self, entries);
        let Scratch {
            binding,
            matched,
            candidates,
            scan,
            selections,
            ..
        } = scratch;
        let selection = &*selections[at].1;
        candidates.extend_from_slice(&selection.always);
        if selection.gated {
            selection.prefilter.scan(event, binding.field_ids(), scan);
            if !scan.hits.is_empty() {
                for &atom in &scan.hits {
                    candidates.extend_from_slice(selection.posted(atom));
                }
                candidates.sort_unstable();
                candidates.dedup();
            }
        }
        for &target in candidates.iter() {
            let (rule, variant) = self.targets[target as usize];
            if matched.last() == Some(&rule) {
                continue;
            }
            let clauses = self.clauses[target as usize].as_deref().unwrap_or_default();
            let held = clauses
                .iter()
                .skip(1)
                .all(|clause| clause.iter().any(|&a| scan.found(a)));
            if !held {
                continue;
            }
            let detection = &self.rules[rule as usize].variants[variant as usize];
            if detection.is_match(event, binding) {
                matched.push(rule);
            }
        }
        &scratch.matched
    }

    /// The variants of `rule` whose log-source alternative covers `event` (by channel, event
    /// ID and the alternative's own conditions).
    fn variants_for(&self, rule: u32, event: &Event, binding: &Binding) -> Vec<&CompiledDetection> {
        let Some(compiled) = self.rules.get(rule as usize) else {
            return Vec::new();
        };
        if compiled.unevaluable.is_some() {
            return Vec::new();
        }
        let mut entries = [0u32; 4];
        let (count, windows) = self.event_entries(event, binding, &mut entries);
        if !windows {
            return compiled.variants.first().into_iter().collect();
        }
        let mut out: Vec<&CompiledDetection> = Vec::new();
        for &entry in &entries[..count] {
            for &target in &self.entries[entry as usize].all {
                let (r, v) = self.targets[target as usize];
                if r != rule {
                    continue;
                }
                if let Some(d) = compiled.variants.get(v as usize) {
                    if d.requires_met(event, binding) && !out.iter().any(|o| std::ptr::eq(*o, d)) {
                        out.push(d);
                    }
                }
            }
        }
        out
    }

    /// Whether `rule` (alone) matches `event`.
    pub fn matches_rule(&self, rule: u32, event: &Event, scratch: &mut Scratch) -> bool {
        scratch.binding.bind(&self.fields, event);
        self.variants_for(rule, event, &scratch.binding)
            .iter()
            .any(|d| d.is_match(event, &scratch.binding))
    }

    /// Whether the log source of `rule` covers `event`.
    pub fn covers(&self, rule: u32, event: &Event, scratch: &mut Scratch) -> bool {
        scratch.binding.bind(&self.fields, event);
        !self.variants_for(rule, event, &scratch.binding).is_empty()
    }

    /// Every detection item of `rule` and whether it matched `event`; `None` when the rule's
    /// log source does not cover the event.
    pub fn explain(
        &self,
        rule: u32,
        event: &Event,
        scratch: &mut Scratch,
    ) -> Option<Vec<ItemVerdict>> {
        scratch.binding.bind(&self.fields, event);
        self.variants_for(rule, event, &scratch.binding)
            .first()
            .map(|d| d.explain(event, &scratch.binding))
    }

    /// The fields `rule` tests, as the rule names them, with the event's values (under the
    /// alternative's names), in rule order without repeats.
    pub fn tested_values(
        &self,
        rule: u32,
        event: &Event,
        scratch: &mut Scratch,
    ) -> Vec<(String, Vec<String>)> {
        scratch.binding.bind(&self.fields, event);
        let Some(plain) = self
            .rules
            .get(rule as usize)
            .and_then(|r| r.variants.first())
        else {
            return Vec::new();
        };
        let variants = self.variants_for(rule, event, &scratch.binding);
        let variant = variants
            .iter()
            .find(|d| d.is_match(event, &scratch.binding))
            .or(variants.first())
            .copied()
            .unwrap_or(plain);
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for (item, renamed) in plain.items().iter().zip(variant.items()) {
            let (Some(name), Some(id)) = (&item.field_name, renamed.field_id()) else {
                continue;
            };
            if out.iter().any(|(n, _)| n == name) {
                continue;
            }
            let values = scratch
                .binding
                .values(event, id)
                .map(|v| v.text.to_string())
                .collect();
            out.push((name.clone(), values));
        }
        out
    }

    /// Records the matches of `event` for the correlations that reference its matched rules.
    pub fn observe(
        &self,
        event: &Event,
        matched: &[u32],
        state: &mut CorrelationState,
        scratch: &mut Scratch,
    ) {
        if self.correlations.is_empty() || matched.is_empty() {
            return;
        }
        if state.hits.len() < self.correlations.len() {
            state.hits.resize(self.correlations.len(), Vec::new());
        }
        let time = event.timestamp.unwrap_or(state.last_time);
        state.last_time = time;
        let mut bound = false;
        for (c, correlation) in self.correlations.iter().enumerate() {
            if correlation.unevaluable.is_some() {
                continue;
            }
            for (position, rule) in correlation.rules.iter().enumerate() {
                if !matched.contains(rule) {
                    continue;
                }
                if !bound {
                    scratch.binding.bind(&self.fields, event);
                    bound = true;
                }
                let key = correlation.group_by[position]
                    .iter()
                    .map(|id| {
                        scratch
                            .binding
                            .values(event, *id)
                            .next()
                            .map_or_else(|| Box::from(""), |v| Box::from(v.lower()))
                    })
                    .collect();
                let value = correlation.field[position]
                    .and_then(|id| scratch.binding.values(event, id).next().cloned());
                state.hits[c].push(Hit {
                    time,
                    rule: position,
                    key,
                    value,
                });
            }
        }
    }

    /// For every correlation, how many times it fired over the observed events (the number of
    /// matching events at which its condition held over the events of the preceding timespan
    /// of the same group).
    pub fn correlation_results(&self, state: &CorrelationState) -> Vec<usize> {
        self.correlations
            .iter()
            .enumerate()
            .map(|(c, correlation)| {
                state
                    .hits
                    .get(c)
                    .map_or(0, |hits| fire_count(correlation, hits))
            })
            .collect()
    }
}

enum IndexKey {
    ChannelAndId(Box<str>, i64),
    Channel(Box<str>),
    Id(i64),
    Any,
    NoChannel,
}

fn holds(condition: &[(CorrelationOp, f64)], value: f64) -> bool {
    condition.iter().all(|(op, n)| match op {
        CorrelationOp::Gt => value > *n,
        CorrelationOp::Gte => value >= *n,
        CorrelationOp::Lt => value < *n,
        CorrelationOp::Lte => value <= *n,
        CorrelationOp::Eq => value == *n,
        CorrelationOp::Neq => value != *n,
    })
}

fn fire_count(correlation: &CompiledCorrelation, hits: &[Hit]) -> usize {
    let mut groups: HashMap<&[Box<str>], Vec<&Hit>> = HashMap::new();
    for hit in hits {
        groups.entry(hit.key.as_slice()).or_default().push(hit);
    }
    let mut fired = 0;
    for (_, mut group) in groups {
        group.sort_by_key(|h| h.time);
        let mut start = 0;
        for end in 0..group.len() {
            let now = group[end].time;
            while now - group[start].time > correlation.span_ms {
                start += 1;
            }
            let window = &group[start..=end];
            let value = match correlation.kind {
                CorrelationType::EventCount => window.len() as f64,
                CorrelationType::ValueCount => {
                    let mut values: Vec<&str> = window
                        .iter()
                        .filter_map(|h| h.value.as_ref().map(FieldValue::lower))
                        .collect();
                    values.sort_unstable();
                    values.dedup();
                    values.len() as f64
                }
                CorrelationType::Temporal => {
                    let mut rules: Vec<usize> = window.iter().map(|h| h.rule).collect();
                    rules.sort_unstable();
                    rules.dedup();
                    rules.len() as f64
                }
                CorrelationType::TemporalOrdered => {
                    ordered_prefix(window, correlation.rules.len()) as f64
                }
                CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                    let numbers: Vec<f64> = window
                        .iter()
                        .filter_map(|h| h.value.as_ref().and_then(|v| v.number))
                        .collect();
                    let sum: f64 = numbers.iter().sum();
                    if correlation.kind == CorrelationType::ValueSum {
                        sum
                    } else if numbers.is_empty() {
                        continue;
                    } else {
                        sum / numbers.len() as f64
                    }
                }
                CorrelationType::ValuePercentile => {
                    // The share (in percent) of the window's events holding this event's value.
                    let Some(current) = group[end].value.as_ref() else {
                        continue;
                    };
                    let same = window
                        .iter()
                        .filter(|h| {
                            h.value
                                .as_ref()
                                .is_some_and(|v| v.lower() == current.lower())
                        })
                        .count();
                    100.0 * same as f64 / window.len() as f64
                }
            };
            if holds(&correlation.condition, value) {
                fired += 1;
            }
        }
    }
    fired
}

/// How many of the referenced rules, in order, the window's events match one after the other,
/// ending with the window's last event: the full count when the order is complete.
fn ordered_prefix(window: &[&Hit], rules: usize) -> usize {
    let Some(last) = window.last() else {
        return 0;
    };
    if rules == 0 || last.rule != rules - 1 {
        return 0;
    }
    // Walk back: the latest occurrence of each earlier rule before the one after it.
    let mut want = rules - 1;
    let mut found = 1;
    for hit in window.iter().rev().skip(1) {
        if want == 0 {
            break;
        }
        if hit.rule == want - 1 {
            want -= 1;
            found += 1;
        }
    }
    found
}
