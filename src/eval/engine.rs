//! The compiled rule set: every rule compiled once against one field table, indexed by the log
//! source it covers (Windows channel and event ID), so an event is tested only against the rules
//! of its log source; and the correlation rules over the matches of the rules they reference.

use std::collections::HashMap;
use std::path::PathBuf;

use super::compile::{Binding, CompiledDetection, FieldTable, ItemVerdict};
use super::event::{Event, FieldValue};
use super::logsource::{LogSourceTable, SourceMatch};
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

/// The compiled rule set.
#[derive(Debug, Default)]
pub struct Engine {
    fields: FieldTable,
    rules: Vec<CompiledRule>,
    correlations: Vec<CompiledCorrelation>,
    by_channel_and_id: HashMap<Box<str>, HashMap<i64, Vec<Target>>>,
    by_channel: HashMap<Box<str>, Vec<Target>>,
    by_id: HashMap<i64, Vec<Target>>,
    any_windows: Vec<Target>,
    evaluable: Vec<u32>,
    channel: u32,
    event_id: u32,
    /// Every rule's required literals in one automaton, run once per event over its values.
    prefilter: Option<aho_corasick::AhoCorasick>,
    /// Per rule: the prefilter literals one of which an event must hold (`None`: always test).
    required: Vec<Option<Box<[u32]>>>,
}

/// Per-thread state of evaluation, reused across events.
#[derive(Debug, Default)]
pub struct Scratch {
    binding: Binding,
    matched: Vec<u32>,
    targets: Vec<Target>,
    haystack: Vec<u8>,
    found: Vec<u64>,
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
        let mut engine = Engine::default();
        engine.channel = engine.fields.intern("Channel");
        engine.event_id = engine.fields.intern("EventID");
        let mut by_reference: HashMap<&str, u32> = HashMap::new();
        let mut names: HashMap<u32, &str> = HashMap::new();
        for (at, file, document) in set.documents() {
            let SigmaKind::Rule(rule) = &document.kind else {
                continue;
            };
            if !keep(at.file, document.index) {
                continue;
            }
            let index = u32::try_from(engine.rules.len()).unwrap_or(u32::MAX);
            for key in [&rule.meta.id, &rule.meta.name].into_iter().flatten() {
                by_reference.entry(key.as_str()).or_insert(index);
            }
            if let Some(name) = &rule.meta.name {
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
                let targets = engine.index_targets(index, &source, rule, &mut variants);
                for (key, target) in targets {
                    match key {
                        IndexKey::ChannelAndId(c, id) => engine
                            .by_channel_and_id
                            .entry(c)
                            .or_default()
                            .entry(id)
                            .or_default()
                            .push(target),
                        IndexKey::Channel(c) => {
                            engine.by_channel.entry(c).or_default().push(target)
                        }
                        IndexKey::Id(id) => engine.by_id.entry(id).or_default().push(target),
                        IndexKey::Any => engine.any_windows.push(target),
                    }
                }
                engine.evaluable.push(index);
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
        engine.build_prefilter();
        engine
    }

    /// Collects the required literals of every rule into one automaton: an event is tested
    /// against a rule only when its values hold one of the rule's literals, so most of the
    /// rules of a busy log source cost one bit test per event.
    fn build_prefilter(&mut self) {
        let mut ids: HashMap<String, u32> = HashMap::new();
        let mut literals: Vec<String> = Vec::new();
        self.required = self
            .rules
            .iter()
            .map(|rule| {
                let set = rule.variants.first()?.required_literals()?;
                if set.is_empty() {
                    return None;
                }
                Some(
                    set.into_iter()
                        .map(|l| {
                            *ids.entry(l.clone()).or_insert_with(|| {
                                literals.push(l);
                                u32::try_from(literals.len() - 1).unwrap_or(u32::MAX)
                            })
                        })
                        .collect(),
                )
            })
            .collect();
        if literals.is_empty() {
            return;
        }
        self.prefilter = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::Standard)
            .build(&literals)
            .ok();
        if self.prefilter.is_none() {
            self.required.iter_mut().for_each(|r| *r = None);
        }
    }

    /// Runs the prefilter over the event's values, marking the literals found.
    fn scan(&self, event: &Event, scratch: &mut Scratch) {
        let Some(automaton) = &self.prefilter else {
            return;
        };
        scratch.haystack.clear();
        for field in &event.fields {
            scratch
                .haystack
                .extend_from_slice(field.value.lower().as_bytes());
            scratch.haystack.push(0);
        }
        let words = automaton.patterns_len().div_ceil(64);
        scratch.found.clear();
        scratch.found.resize(words, 0);
        for m in automaton.find_overlapping_iter(aho_corasick::Input::new(&scratch.haystack)) {
            let id = m.pattern().as_usize();
            scratch.found[id / 64] |= 1 << (id % 64);
        }
    }

    /// Whether the prefilter allows testing `rule` on the scanned event.
    fn may_match(&self, rule: u32, scratch: &Scratch) -> bool {
        match self.required.get(rule as usize) {
            Some(Some(ids)) => ids.iter().any(|&id| {
                scratch
                    .found
                    .get(id as usize / 64)
                    .is_some_and(|w| w & (1 << (id % 64)) != 0)
            }),
            _ => true,
        }
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

    /// The (rule, variant) pairs to test `event` against, given its binding.
    fn candidates(&self, event: &Event, binding: &Binding, out: &mut Vec<Target>) -> bool {
        let channel = binding.values(event, self.channel).next();
        let Some(channel) = channel else {
            return false;
        };
        let channel: &str = channel.lower();
        self.candidates_in(event, binding, channel, out);
        true
    }

    fn candidates_in(
        &self,
        event: &Event,
        binding: &Binding,
        channel: &str,
        out: &mut Vec<Target>,
    ) {
        let event_id = binding
            .values(event, self.event_id)
            .next()
            .and_then(|v| v.number)
            .map(|n| n as i64);
        if let Some(id) = event_id {
            if let Some(list) = self.by_channel_and_id.get(channel).and_then(|m| m.get(&id)) {
                out.extend_from_slice(list);
            }
            if let Some(list) = self.by_id.get(&id) {
                out.extend_from_slice(list);
            }
        }
        if let Some(list) = self.by_channel.get(channel) {
            out.extend_from_slice(list);
        }
        out.extend_from_slice(&self.any_windows);
    }

    /// The indices of the rules `event` matches, in rule-set order. A Windows event (one with a
    /// `Channel`) is tested against the rules of its log source; any other event against every
    /// rule that can be evaluated.
    pub fn matches<'s>(&self, event: &Event, scratch: &'s mut Scratch) -> &'s [u32] {
        scratch.binding.bind(&self.fields, event);
        scratch.matched.clear();
        scratch.targets.clear();
        let mut targets = std::mem::take(&mut scratch.targets);
        let windows = self.candidates(event, &scratch.binding, &mut targets);
        if !windows || !targets.is_empty() {
            self.scan(event, scratch);
        }
        if windows {
            for &(rule, variant) in &targets {
                if !self.may_match(rule, scratch) {
                    continue;
                }
                let detection = &self.rules[rule as usize].variants[variant as usize];
                if detection.is_match(event, &scratch.binding) {
                    scratch.matched.push(rule);
                }
            }
            scratch.matched.sort_unstable();
            scratch.matched.dedup();
        } else {
            for &rule in &self.evaluable {
                if self.may_match(rule, scratch)
                    && self.rules[rule as usize].variants[0].is_match(event, &scratch.binding)
                {
                    scratch.matched.push(rule);
                }
            }
        }
        scratch.targets = targets;
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
        let mut targets = Vec::new();
        if !self.candidates(event, binding, &mut targets) {
            return compiled.variants.first().into_iter().collect();
        }
        let mut out: Vec<&CompiledDetection> = Vec::new();
        for (_, v) in targets.iter().filter(|(r, _)| *r == rule) {
            if let Some(d) = compiled.variants.get(*v as usize) {
                if d.requires_met(event, binding) && !out.iter().any(|o| std::ptr::eq(*o, d)) {
                    out.push(d);
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
