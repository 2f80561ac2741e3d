//! One rule's detection compiled for evaluation: fields turned into ids of the rule set's field
//! table, values into [`Matcher`]s, the condition into a tree over identifier indices.
//!
//! A detection item matches an event as the converters render it: values are alternatives
//! (`|all`: all must match), `|neq` negates the item, an absent field matches only `null` and
//! `|exists: false`, a multi-valued field matches when any of its values does, and keywords
//! (field-less values) match when any value of the event contains them.

use std::collections::HashMap;
use std::sync::Arc;

use super::event::{Event, FieldValue, civil_parts, parse_timestamp};
use super::hash::FastHash;
use super::matcher::{Matcher, Unevaluable};
use super::prefilter::Atom;
use crate::sigma::condition::Aggregation;
use crate::sigma::modifier::TimePart;
use crate::sigma::{Combine, ConditionExpr, Detection, FieldMatch, Quantifier, SearchBody};

/// Field names (compared case-insensitively) → small ids, shared by every rule of a set.
#[derive(Debug, Clone, Default)]
pub struct FieldTable {
    ids: HashMap<Box<str>, u32, FastHash>,
    names: Vec<Box<str>>,
    /// Which table this is, as it is now: a new number whenever a name is added (0 while
    /// empty), so that a [`Binding`] knows when what it remembers of a table still holds.
    serial: u64,
}

/// The serials of tables that got a name.
static TABLE_SERIALS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl FieldTable {
    /// The id of `name`, added if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        let key = name.to_ascii_lowercase();
        if let Some(id) = self.ids.get(key.as_str()) {
            return *id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.ids.insert(key.into_boxed_str(), id);
        self.names.push(name.into());
        self.serial = TABLE_SERIALS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        id
    }

    /// The id of a lowercase name, if any rule uses it.
    pub fn lookup_lower(&self, lower: &str) -> Option<u32> {
        self.ids.get(lower).copied()
    }

    /// The name of an id, as the first rule wrote it.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |n| n)
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Where each field id's values are in one event: filled per event, reused across events.
#[derive(Debug, Default)]
pub struct Binding {
    /// Per field id: start index into the event's fields and the count (0 = absent).
    slots: Vec<(u32, u32)>,
    touched: Vec<u32>,
    /// Per event field: its id (`u32::MAX` when no rule names it).
    ids: Vec<u32>,
    key: String,
    /// Per field position, the name the field there had in the event bound before and its
    /// id: events of one source list the same fields in the same order, and the reader shares
    /// one name among the events naming it, so the name is compared by address, not looked up.
    recent: Vec<Option<(Arc<str>, u32)>>,
    /// The serial of the table `recent` holds ids of.
    recent_table: u64,
}

impl Binding {
    /// Binds `event` to the field ids of `table`.
    pub fn bind(&mut self, table: &FieldTable, event: &Event) {
        for id in self.touched.drain(..) {
            self.slots[id as usize] = (0, 0);
        }
        if self.slots.len() < table.len() {
            self.slots.resize(table.len(), (0, 0));
        }
        self.ids.clear();
        if self.recent_table != table.serial {
            self.recent.clear();
            self.recent_table = table.serial;
        }
        if self.recent.len() < event.fields.len() {
            self.recent.resize(event.fields.len(), None);
        }
        let mut previous: Option<u32> = None;
        for (index, field) in event.fields.iter().enumerate() {
            let id = match &self.recent[index] {
                Some((name, id)) if Arc::ptr_eq(name, &field.name) => {
                    (*id != u32::MAX).then_some(*id)
                }
                _ => {
                    self.key.clear();
                    self.key.push_str(&field.name);
                    self.key.make_ascii_lowercase();
                    let id = table.lookup_lower(&self.key);
                    self.recent[index] = Some((Arc::clone(&field.name), id.unwrap_or(u32::MAX)));
                    id
                }
            };
            let Some(id) = id else {
                self.ids.push(u32::MAX);
                previous = None;
                continue;
            };
            self.ids.push(id);
            let slot = &mut self.slots[id as usize];
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            if slot.1 == 0 {
                *slot = (index, 1);
                self.touched.push(id);
            } else if previous == Some(id) && slot.0 + slot.1 == index {
                // The next value of a list.
                slot.1 += 1;
            }
            previous = Some(id);
        }
    }

    /// The values of field `id` in `event` (the event bound last).
    pub fn values<'e>(
        &self,
        event: &'e Event,
        id: u32,
    ) -> impl Iterator<Item = &'e FieldValue> + use<'e> {
        let (start, count) = self.slots.get(id as usize).copied().unwrap_or((0, 0));
        event.fields[start as usize..(start + count) as usize]
            .iter()
            .map(|f| &f.value)
    }

    /// Per field of the event bound last, its id (`u32::MAX` when no rule names it).
    pub fn field_ids(&self) -> &[u32] {
        &self.ids
    }

    fn has(&self, id: u32) -> bool {
        self.slots.get(id as usize).is_some_and(|s| s.1 > 0)
    }
}

/// One compiled detection item.
#[derive(Debug, Clone)]
pub struct Item {
    /// The field id (`None` for keywords).
    field: Option<u32>,
    /// One group per written value: any of its matchers.
    groups: Vec<Vec<Matcher>>,
    all: bool,
    negated: bool,
    time_part: Option<TimePart>,
    /// The key as the rule wrote it (`Image|endswith`).
    pub key_text: String,
    /// The field as the rule named it.
    pub field_name: Option<String>,
    /// For an item of many `contains` values (one of them to match), those values searched
    /// for at once.
    contains: Option<ContainsAny>,
}

/// An item's lowercase `contains` values, one automaton for all of them: a value matches the
/// groups it covers when it holds one of their texts. The other groups are tested one by one.
#[derive(Debug, Clone)]
struct ContainsAny {
    searcher: aho_corasick::AhoCorasick,
    /// The groups the searcher does not cover, by index.
    rest: Box<[usize]>,
}

/// How many `contains` texts an item needs before they are searched for together (below it,
/// one search per text costs no more).
const CONTAINS_TOGETHER: usize = 4;

/// The `contains` values of an item searched for together, when it has enough of them.
fn contains_any(groups: &[Vec<Matcher>], all: bool, time_part: bool) -> Option<ContainsAny> {
    if all || time_part {
        return None;
    }
    let needle = |m: &Matcher| match m {
        Matcher::Pattern {
            pattern: super::matcher::Pattern::Contains(finder),
            cased: false,
        } => Some(finder.needle().to_vec()),
        _ => None,
    };
    let mut needles = Vec::new();
    let mut rest = Vec::new();
    for (index, group) in groups.iter().enumerate() {
        let texts: Option<Vec<Vec<u8>>> = group.iter().map(needle).collect();
        match texts {
            Some(texts) if !texts.is_empty() => needles.extend(texts),
            _ => rest.push(index),
        }
    }
    if needles.len() < CONTAINS_TOGETHER {
        return None;
    }
    let searcher = aho_corasick::AhoCorasick::new(&needles).ok()?;
    Some(ContainsAny {
        searcher,
        rest: rest.into_boxed_slice(),
    })
}

impl Item {
    /// The field id the item tests (`None` for keywords).
    pub fn field_id(&self) -> Option<u32> {
        self.field
    }
}

#[derive(Debug, Clone)]
enum Body {
    AllOf(Vec<Item>),
    AnyOf(Vec<Body>),
    Keywords(Item),
}

#[derive(Debug, Clone)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Ident(usize),
}

/// A detection compiled against a field table (with one alternative's field renames).
#[derive(Debug, Clone)]
pub struct CompiledDetection {
    identifiers: Vec<(String, Body)>,
    conditions: Vec<Node>,
    /// Further conditions of the log-source alternative: field and lowercase values.
    requires: Vec<(u32, Vec<String>)>,
}

/// How one detection item fared on an event, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemVerdict {
    /// The search identifier.
    pub identifier: String,
    /// The key as written (`Image|endswith`, or `keywords`).
    pub key: String,
    /// Whether it matched.
    pub matched: bool,
}

impl CompiledDetection {
    /// Compiles `detection`; `rename` gives the event's name of a rule field.
    pub fn compile(
        detection: &Detection,
        table: &mut FieldTable,
        rename: &dyn Fn(&str) -> String,
        requires: &[(String, Vec<String>)],
    ) -> Result<CompiledDetection, Unevaluable> {
        let mut identifiers = Vec::with_capacity(detection.identifiers.len());
        for identifier in &detection.identifiers {
            identifiers.push((
                identifier.name.clone(),
                compile_body(&identifier.body, table, rename)?,
            ));
        }
        let position = |name: &str| identifiers.iter().position(|(n, _)| n == name);
        let mut conditions = Vec::new();
        for condition in &detection.conditions {
            if let Some(aggregation) = &condition.aggregation {
                let what = match aggregation {
                    Aggregation::Function { function, .. } => format!("`| {}()`", function.name()),
                    Aggregation::Near { .. } => "`| near`".to_string(),
                };
                return Err(Unevaluable(format!(
                    "the deprecated aggregation {what} of condition `{}` is not evaluated; write it as a correlation rule",
                    condition.text
                )));
            }
            conditions.push(compile_expr(&condition.expr, &position)?);
        }
        let requires = requires
            .iter()
            .map(|(field, values)| {
                (
                    table.intern(field),
                    values.iter().map(|v| v.to_lowercase()).collect(),
                )
            })
            .collect();
        Ok(CompiledDetection {
            identifiers,
            conditions,
            requires,
        })
    }

    /// Whether the event bound in `binding` meets the log-source alternative's own conditions
    /// (`EventType: DeleteValue`…).
    pub fn requires_met(&self, event: &Event, binding: &Binding) -> bool {
        self.requires.iter().all(|(id, values)| {
            binding
                .values(event, *id)
                .any(|v| values.iter().any(|w| w == v.lower()))
        })
    }

    /// Whether the event bound in `binding` matches.
    pub fn is_match(&self, event: &Event, binding: &Binding) -> bool {
        if !self.requires_met(event, binding) {
            return false;
        }
        let cx = Cx { event, binding };
        self.conditions
            .iter()
            .any(|node| eval_node(node, &self.identifiers, &cx))
    }

    /// Every item's verdict on the event bound in `binding`.
    pub fn explain(&self, event: &Event, binding: &Binding) -> Vec<ItemVerdict> {
        let cx = Cx { event, binding };
        let mut out = Vec::new();
        for (name, body) in &self.identifiers {
            explain_body(body, name, &cx, &mut out);
        }
        out
    }

    /// What every event this detection matches holds, for the prefilter: clauses that must all
    /// hold, each a set of atoms one of which the event must show; `None` when nothing is known
    /// (a negation, a regex without literals… decides). The first clause is the one to look
    /// the detection up by: text atoms before numbers (event IDs are common), then the fewest.
    pub fn required_atoms(&self) -> Option<Vec<Vec<Atom>>> {
        let mut clauses = match self.conditions.as_slice() {
            [condition] => node_clauses(condition, &self.identifiers)?,
            conditions => one_of(
                conditions
                    .iter()
                    .map(|c| node_clauses(c, &self.identifiers)),
            )?,
        };
        for clause in &mut clauses {
            clause.sort();
            clause.dedup();
        }
        clauses.sort_by_key(|c| clause_rank(c));
        clauses.dedup();
        Some(clauses)
    }

    /// The items of every identifier, for listing the fields a rule tests.
    pub fn items(&self) -> Vec<&Item> {
        fn walk<'a>(body: &'a Body, out: &mut Vec<&'a Item>) {
            match body {
                Body::AllOf(items) => out.extend(items),
                Body::Keywords(item) => out.push(item),
                Body::AnyOf(bodies) => bodies.iter().for_each(|b| walk(b, out)),
            }
        }
        let mut out = Vec::new();
        for (_, body) in &self.identifiers {
            walk(body, &mut out);
        }
        out
    }
}

fn compile_body(
    body: &SearchBody,
    table: &mut FieldTable,
    rename: &dyn Fn(&str) -> String,
) -> Result<Body, Unevaluable> {
    Ok(match body {
        SearchBody::AllOf(items) => Body::AllOf(
            items
                .iter()
                .map(|i| compile_item(i, table, rename))
                .collect::<Result<_, _>>()?,
        ),
        SearchBody::Keywords(item) => Body::Keywords(compile_item(item, table, rename)?),
        SearchBody::All(_) => compile_body(&body.distributed(), table, rename)?,
        SearchBody::AnyOf(bodies) => Body::AnyOf(
            bodies
                .iter()
                .map(|b| compile_body(b, table, rename))
                .collect::<Result<_, _>>()?,
        ),
    })
}

fn compile_item(
    item: &FieldMatch,
    table: &mut FieldTable,
    rename: &dyn Fn(&str) -> String,
) -> Result<Item, Unevaluable> {
    let field = item.field.as_deref().map(|f| table.intern(&rename(f)));
    let mut groups = Vec::with_capacity(item.values.len());
    for group in &item.values {
        let mut matchers = Vec::with_capacity(group.variants.len());
        for value in &group.variants {
            let value = match (field, value) {
                // A keyword is searched anywhere in a value, as the converters render it.
                (None, crate::sigma::Value::String(s)) => {
                    crate::sigma::Value::String(s.clone().with_leading_any().with_trailing_any())
                }
                (_, v) => v.clone(),
            };
            matchers.push(Matcher::compile(&value, item.cased, |name| {
                table.intern(&rename(name))
            })?);
        }
        groups.push(matchers);
    }
    let all = item.combine == Combine::All;
    let contains = field.and_then(|_| contains_any(&groups, all, item.time_part.is_some()));
    Ok(Item {
        field,
        groups,
        contains,
        all,
        negated: item.negated,
        time_part: item.time_part,
        key_text: if item.field.is_none() {
            "keywords".to_string()
        } else {
            item.key_text()
        },
        field_name: item.field.clone(),
    })
}

fn compile_expr(
    expr: &ConditionExpr,
    position: &dyn Fn(&str) -> Option<usize>,
) -> Result<Node, Unevaluable> {
    let ident = |name: &str| {
        position(name).map(Node::Ident).ok_or_else(|| {
            Unevaluable(format!(
                "the condition names `{name}`, which is not defined"
            ))
        })
    };
    Ok(match expr {
        ConditionExpr::And(items) => Node::And(
            items
                .iter()
                .map(|i| compile_expr(i, position))
                .collect::<Result<_, _>>()?,
        ),
        ConditionExpr::Or(items) => Node::Or(
            items
                .iter()
                .map(|i| compile_expr(i, position))
                .collect::<Result<_, _>>()?,
        ),
        ConditionExpr::Not(inner) => Node::Not(Box::new(compile_expr(inner, position)?)),
        ConditionExpr::Identifier(name) => ident(name)?,
        ConditionExpr::Selector(selector) => {
            let nodes = selector
                .identifiers
                .iter()
                .map(|n| ident(n))
                .collect::<Result<Vec<_>, _>>()?;
            match selector.quantifier {
                Quantifier::One => Node::Or(nodes),
                Quantifier::All => Node::And(nodes),
            }
        }
    })
}

/// Clauses: all must hold; one atom of each.
type Clauses = Vec<Vec<Atom>>;

/// How good a clause is to look a detection up by (smaller is better): text before numbers,
/// then the clause an event is least likely to hold, then the fewest atoms.
fn clause_rank(clause: &[Atom]) -> (bool, u32, usize) {
    (
        clause.iter().any(Atom::is_number),
        clause
            .iter()
            .map(Atom::likelihood)
            .fold(0u32, u32::saturating_add),
        clause.len(),
    )
}

/// All of the parts: every known clause of each (a part with none adds nothing).
fn all_of(parts: impl Iterator<Item = Option<Clauses>>) -> Option<Clauses> {
    let clauses: Clauses = parts.flatten().flatten().collect();
    (!clauses.is_empty()).then_some(clauses)
}

/// One of the parts: one clause, the union of each part's best clause; nothing known when
/// something is unknown of one part.
fn one_of(parts: impl Iterator<Item = Option<Clauses>>) -> Option<Clauses> {
    let mut clause = Vec::new();
    for part in parts {
        let best = part?.into_iter().min_by_key(|c| clause_rank(c))?;
        clause.extend(best);
    }
    (!clause.is_empty()).then_some(vec![clause])
}

fn node_clauses(node: &Node, identifiers: &[(String, Body)]) -> Option<Clauses> {
    match node {
        Node::And(items) => all_of(items.iter().map(|n| node_clauses(n, identifiers))),
        Node::Or(items) => one_of(items.iter().map(|n| node_clauses(n, identifiers))),
        Node::Not(_) => None,
        Node::Ident(i) => body_clauses(&identifiers[*i].1),
    }
}

fn body_clauses(body: &Body) -> Option<Clauses> {
    match body {
        Body::AllOf(items) => all_of(items.iter().map(item_clauses)),
        Body::AnyOf(bodies) => one_of(bodies.iter().map(body_clauses)),
        Body::Keywords(item) => item_clauses(item),
    }
}

fn item_clauses(item: &Item) -> Option<Clauses> {
    if item.negated || item.time_part.is_some() || item.groups.is_empty() {
        return None;
    }
    // One written value: any of its matchers (a value's modifier variants).
    let group = |g: &Vec<Matcher>| -> Option<Clauses> {
        let mut clause = Vec::new();
        for matcher in g {
            clause.extend(matcher.atoms(item.field)?);
        }
        (!clause.is_empty()).then_some(vec![clause])
    };
    if item.all {
        all_of(item.groups.iter().map(group))
    } else {
        one_of(item.groups.iter().map(group))
    }
}

struct Cx<'a> {
    event: &'a Event,
    binding: &'a Binding,
}

fn eval_node(node: &Node, identifiers: &[(String, Body)], cx: &Cx<'_>) -> bool {
    match node {
        Node::And(items) => items.iter().all(|n| eval_node(n, identifiers, cx)),
        Node::Or(items) => items.iter().any(|n| eval_node(n, identifiers, cx)),
        Node::Not(inner) => !eval_node(inner, identifiers, cx),
        Node::Ident(i) => eval_body(&identifiers[*i].1, cx),
    }
}

fn eval_body(body: &Body, cx: &Cx<'_>) -> bool {
    match body {
        Body::AllOf(items) => items.iter().all(|i| eval_item(i, cx)),
        Body::AnyOf(bodies) => bodies.iter().any(|b| eval_body(b, cx)),
        Body::Keywords(item) => eval_item(item, cx),
    }
}

fn explain_body(body: &Body, name: &str, cx: &Cx<'_>, out: &mut Vec<ItemVerdict>) {
    match body {
        Body::AllOf(items) => {
            for item in items {
                out.push(ItemVerdict {
                    identifier: name.to_string(),
                    key: item.key_text.clone(),
                    matched: eval_item(item, cx),
                });
            }
        }
        Body::AnyOf(bodies) => bodies.iter().for_each(|b| explain_body(b, name, cx, out)),
        Body::Keywords(item) => out.push(ItemVerdict {
            identifier: name.to_string(),
            key: item.key_text.clone(),
            matched: eval_item(item, cx),
        }),
    }
}

fn eval_item(item: &Item, cx: &Cx<'_>) -> bool {
    let group_matches = |group: &[Matcher]| match item.field {
        Some(id) => field_group_matches(item, id, group, cx),
        None => cx.event.fields.iter().any(|f| {
            f.value.kind == super::event::ValueKind::String
                && group
                    .iter()
                    .any(|m| m.matches_value(&f.value, &|_, _| false))
        }),
    };
    let matched = if let (Some(contains), Some(id)) = (&item.contains, item.field) {
        // The covered groups hold `contains` values only, which an absent field never matches.
        (cx.binding.has(id)
            && cx
                .binding
                .values(cx.event, id)
                .any(|v| contains.searcher.is_match(v.lower())))
            || contains
                .rest
                .iter()
                .any(|&g| group_matches(&item.groups[g]))
    } else if item.all {
        item.groups.iter().all(|g| group_matches(g))
    } else {
        item.groups.iter().any(|g| group_matches(g))
    };
    matched != item.negated
}

fn field_group_matches(item: &Item, id: u32, group: &[Matcher], cx: &Cx<'_>) -> bool {
    if !cx.binding.has(id) {
        return group.iter().any(Matcher::matches_absent);
    }
    let other = |other_id: u32, value: &FieldValue| {
        cx.binding
            .values(cx.event, other_id)
            .any(|o| o.lower() == value.lower())
    };
    cx.binding
        .values(cx.event, id)
        .any(|value| match item.time_part {
            Some(part) => time_part_value(value, part)
                .is_some_and(|v| group.iter().any(|m| m.matches_value(&v, &other))),
            None => group.iter().any(|m| m.matches_value(value, &other)),
        })
}

fn time_part_value(value: &FieldValue, part: TimePart) -> Option<FieldValue> {
    let millis = parse_timestamp(&value.text)?;
    let (year, month, day, hour, minute, week) = civil_parts(millis);
    let n = match part {
        TimePart::Minute => minute,
        TimePart::Hour => hour,
        TimePart::Day => day,
        TimePart::Week => week,
        TimePart::Month => month,
        TimePart::Year => year,
    };
    Some(FieldValue::string(&n.to_string()))
}
