//! Running a chain of pipelines over one document, with pySigma's semantics: items in order,
//! each applied when its rule conditions hold; detection-item transformations only to the items
//! their detection-item and field-name conditions select; which items changed what tracked per
//! rule, per detection item and per field name, for `processing_item_applied` conditions.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::custom::{ItemChange, RuleContext};
use super::model::*;
use super::{Chain, Processed, ProcessingState, Refusal};
use crate::sigma::diagnostic::NodePath;
use crate::sigma::value::Number;
use crate::sigma::{
    Combine, ConditionExpr, Document, FieldMatch, LogSource, Piece, RawValue, Rule, SearchBody,
    SearchIdentifier, SigmaKind, SigmaString, Value, ValueGroup,
};

/// How many values placeholders may expand one value into before the rule is refused.
const MAX_EXPANSION: usize = 256;

/// The per-rule bookkeeping of one run.
struct Run<'c> {
    chain: &'c Chain,
    /// Ids of the items whose rule conditions held.
    applied: HashSet<String>,
    /// Field name → ids of the items that produced it (the `fields` list, correlations).
    field_applied: HashMap<String, BTreeSet<String>>,
    /// Detection item (identifier, path) → ids of the items that changed it.
    item_applied: HashMap<(String, NodePath), BTreeSet<String>>,
    state: ProcessingState,
    attributes: BTreeMap<String, PipelineValue>,
    added_conditions: usize,
    pipeline: String,
}

/// What a detection-item transformation did to one item.
enum Outcome {
    /// Nothing.
    Unchanged,
    /// Changed in place.
    Changed,
    /// Removed.
    Drop,
    /// Replaced, in place, by an OR of these AND-groups of items (pySigma's nested detection).
    AnyOf(Vec<Vec<FieldMatch>>),
}

pub(super) fn apply(chain: &Chain, document: &Document) -> Result<Processed, Refusal> {
    let mut run = Run {
        chain,
        applied: HashSet::new(),
        field_applied: HashMap::new(),
        item_applied: HashMap::new(),
        state: ProcessingState::new(),
        attributes: BTreeMap::new(),
        added_conditions: 0,
        pipeline: String::new(),
    };
    let kind = match &document.kind {
        SigmaKind::Rule(rule) => {
            let mut rule = rule.clone();
            for pipeline in chain.pipelines() {
                run.pipeline = pipeline.name.clone();
                for item in &pipeline.items {
                    run.rule_item(item, &mut rule, document.index)?;
                }
            }
            SigmaKind::Rule(rule)
        }
        SigmaKind::Correlation(correlation) => {
            let mut correlation = correlation.clone();
            for pipeline in chain.pipelines() {
                run.pipeline = pipeline.name.clone();
                for item in &pipeline.items {
                    run.correlation_item(item, &mut correlation)?;
                }
            }
            SigmaKind::Correlation(correlation)
        }
        SigmaKind::Filter(_) => document.kind.clone(),
    };
    Ok(Processed {
        document: Document {
            index: document.index,
            global: document.global,
            kind,
        },
        state: run.state,
        attributes: run.attributes,
    })
}

impl Run<'_> {
    fn refuse(&self, item: &ProcessingItem, path: Option<NodePath>, message: String) -> Refusal {
        Refusal {
            pipeline: self.pipeline.clone(),
            item: item.id.clone(),
            message,
            path,
        }
    }

    fn rule_item(
        &mut self,
        item: &ProcessingItem,
        rule: &mut Rule,
        index: usize,
    ) -> Result<(), Refusal> {
        if !item
            .rule_conditions
            .holds(|c| self.rule_condition(c, Some(rule)))
        {
            return Ok(());
        }
        if let Some(id) = &item.id {
            self.applied.insert(id.clone());
        }
        match &item.transformation {
            Transformation::ChangeLogsource {
                category,
                product,
                service,
            } => {
                rule.logsource = LogSource {
                    category: category.clone(),
                    product: product.clone(),
                    service: service.clone(),
                    ..LogSource::default()
                };
            }
            Transformation::AddCondition {
                conditions,
                template,
                negated,
            } => self.add_condition(rule, index, conditions, *template, *negated),
            Transformation::AddField(fields) => rule.meta.fields.extend(fields.iter().cloned()),
            Transformation::RemoveField(fields) => rule.meta.fields.retain(|f| !fields.contains(f)),
            Transformation::SetField(fields) => rule.meta.fields = fields.clone(),
            Transformation::SetState { key, value } => {
                self.state.insert(key.clone(), value.clone());
            }
            Transformation::SetCustomAttribute { attribute, value } => {
                self.attributes.insert(attribute.clone(), value.clone());
            }
            Transformation::RuleFailure(message) => {
                return Err(self.refuse(item, None, message.clone()));
            }
            Transformation::Custom(custom) => {
                let mut context = RuleContext {
                    rule,
                    state: &mut self.state,
                };
                custom
                    .apply(&mut context)
                    .map_err(|m| self.refuse(item, None, m))?;
                if custom.per_item() {
                    self.detection_items(item, rule)?;
                }
            }
            t => {
                if let Some(rename) = Rename::of(t) {
                    rule.meta.fields = std::mem::take(&mut rule.meta.fields)
                        .into_iter()
                        .flat_map(|f| self.rename_listed(item, &rename, f))
                        .collect();
                    for condition in &mut rule.detection.conditions {
                        if let Some(crate::sigma::Aggregation::Function {
                            field, group_by, ..
                        }) = &mut condition.aggregation
                        {
                            for f in [field, group_by].into_iter().flatten() {
                                let renamed = self.rename_listed(item, &rename, f.clone());
                                if let [one] = renamed.as_slice() {
                                    *f = one.clone();
                                }
                            }
                        }
                    }
                }
                self.detection_items(item, rule)?;
            }
        }
        Ok(())
    }

    fn correlation_item(
        &mut self,
        item: &ProcessingItem,
        correlation: &mut crate::sigma::CorrelationRule,
    ) -> Result<(), Refusal> {
        if !item.rule_conditions.holds(|c| self.rule_condition(c, None)) {
            return Ok(());
        }
        if let Some(id) = &item.id {
            self.applied.insert(id.clone());
        }
        match &item.transformation {
            Transformation::SetState { key, value } => {
                self.state.insert(key.clone(), value.clone());
            }
            Transformation::SetCustomAttribute { attribute, value } => {
                self.attributes.insert(attribute.clone(), value.clone());
            }
            Transformation::RuleFailure(message) => {
                return Err(self.refuse(item, None, message.clone()));
            }
            Transformation::AddField(fields) => {
                correlation.meta.fields.extend(fields.iter().cloned())
            }
            Transformation::RemoveField(fields) => {
                correlation.meta.fields.retain(|f| !fields.contains(f))
            }
            Transformation::SetField(fields) => correlation.meta.fields = fields.clone(),
            t => {
                let Some(rename) = Rename::of(t) else {
                    return Ok(());
                };
                let c = &mut correlation.correlation;
                let aliases: HashSet<String> = c.aliases.iter().map(|a| a.alias.clone()).collect();
                for alias in &mut c.aliases {
                    for (_, field) in &mut alias.fields {
                        *field = self.single(item, &rename, field, "an alias mapping")?;
                    }
                }
                let group_by = std::mem::take(&mut c.group_by);
                for f in group_by {
                    if aliases.contains(&f) {
                        c.group_by.push(f);
                    } else {
                        c.group_by.extend(self.rename_listed(item, &rename, f));
                    }
                }
                if let Some(field) = &mut c.field {
                    if !aliases.contains(field.as_str()) {
                        *field = self.single(item, &rename, field, "the condition field")?;
                    }
                }
                correlation.meta.fields = std::mem::take(&mut correlation.meta.fields)
                    .into_iter()
                    .flat_map(|f| self.rename_listed(item, &rename, f))
                    .collect();
            }
        }
        Ok(())
    }

    fn single(
        &mut self,
        item: &ProcessingItem,
        rename: &Rename<'_>,
        field: &str,
        what: &str,
    ) -> Result<String, Refusal> {
        let mut names = self.rename_listed(item, rename, field.to_string());
        if names.len() > 1 {
            return Err(self.refuse(
                item,
                None,
                format!(
                    "field `{field}` maps to several fields, which {what} of a correlation cannot take"
                ),
            ));
        }
        Ok(names.pop().unwrap_or_default())
    }

    /// A field of a list (`fields`, `group-by`) renamed, with field-name tracking.
    fn rename_listed(
        &mut self,
        item: &ProcessingItem,
        rename: &Rename<'_>,
        field: String,
    ) -> Vec<String> {
        let Some(names) = rename.apply(&field) else {
            return vec![field];
        };
        if !self.field_name_matches(item, Some(&field)) {
            return vec![field];
        }
        if names != [field.clone()] {
            let mut ids = self.field_applied.remove(&field).unwrap_or_default();
            if let Some(id) = &item.id {
                ids.insert(id.clone());
            }
            for n in &names {
                self.field_applied.insert(n.clone(), ids.clone());
            }
        }
        names
    }

    fn add_condition(
        &mut self,
        rule: &mut Rule,
        index: usize,
        conditions: &[(String, Vec<PipelineValue>, bool)],
        template: bool,
        negated: bool,
    ) {
        self.added_conditions += 1;
        let name = format!("_pipeline_condition_{}", self.added_conditions);
        let path = NodePath::root(index).key("logsource");
        let substitute = |text: &str| -> String {
            if !template {
                return text.to_string();
            }
            let part = |p: &Option<String>| p.clone().unwrap_or_else(|| "None".to_string());
            let mut out = text.to_string();
            for (key, value) in [
                ("category", part(&rule.logsource.category)),
                ("product", part(&rule.logsource.product)),
                ("service", part(&rule.logsource.service)),
            ] {
                out = out
                    .replace(&format!("${{{key}}}"), &value)
                    .replace(&format!("${key}"), &value);
            }
            out
        };
        let items = conditions
            .iter()
            .map(|(field, values, is_list)| FieldMatch {
                field: Some(field.clone()),
                modifiers: Vec::new(),
                values: values
                    .iter()
                    .map(|v| condition_group(v, &substitute))
                    .collect(),
                combine: Combine::Any,
                is_list: *is_list,
                cased: false,
                negated: false,
                time_part: None,
                path: path.clone(),
            })
            .collect();
        rule.detection.identifiers.push(SearchIdentifier {
            name: name.clone(),
            body: SearchBody::AllOf(items),
            path,
        });
        for condition in &mut rule.detection.conditions {
            let expr = std::mem::replace(&mut condition.expr, ConditionExpr::And(Vec::new()));
            let added = ConditionExpr::Identifier(name.clone());
            let added = if negated {
                ConditionExpr::Not(Box::new(added))
            } else {
                added
            };
            condition.expr = ConditionExpr::And(vec![added, expr]);
        }
    }

    fn rule_condition(&self, condition: &RuleCondition, rule: Option<&Rule>) -> bool {
        match condition {
            RuleCondition::Logsource {
                category,
                product,
                service,
            } => rule.is_some_and(|r| {
                let same =
                    |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
                same(category, &r.logsource.category)
                    && same(product, &r.logsource.product)
                    && same(service, &r.logsource.service)
            }),
            RuleCondition::ContainsDetectionItem { field, value } => rule.is_some_and(|r| {
                r.detection
                    .field_matches()
                    .iter()
                    .any(|m| &m.field == field && m.all_values().any(|v| value_text(v) == *value))
            }),
            RuleCondition::ContainsField(field) => rule.is_some_and(|r| {
                r.detection
                    .field_matches()
                    .iter()
                    .any(|m| m.field.as_deref() == Some(field))
            }),
            RuleCondition::ProcessingItemApplied(id) => self.applied.contains(id),
            RuleCondition::ProcessingState { key, value, op } => self.state_holds(key, value, *op),
            RuleCondition::IsSigmaRule => rule.is_some(),
            RuleCondition::IsSigmaCorrelationRule => rule.is_none(),
            RuleCondition::RuleAttribute {
                attribute,
                value,
                op,
            } => rule.is_some_and(|r| attribute_holds(r, attribute, value, *op)),
            RuleCondition::Tag(tag) => {
                rule.is_some_and(|r| r.meta.tags.iter().any(|t| t.eq_ignore_ascii_case(tag)))
            }
        }
    }

    fn state_holds(&self, key: &str, want: &PipelineValue, op: StateOp) -> bool {
        let Some(have) = self.state.get(key) else {
            return op == StateOp::Ne;
        };
        compare(&have.text(), &want.text(), op)
    }

    /// The field-name conditions on a bare field name.
    fn field_name_matches(&self, item: &ProcessingItem, field: Option<&str>) -> bool {
        item.field_name_conditions
            .holds(|c| self.field_condition_on_name(c, field))
    }

    fn field_condition_on_name(&self, condition: &FieldNameCondition, field: Option<&str>) -> bool {
        match condition {
            FieldNameCondition::Include(list) => field.is_some_and(|f| list.contains(f)),
            FieldNameCondition::Exclude(list) => !field.is_some_and(|f| list.contains(f)),
            FieldNameCondition::ProcessingItemApplied(id) => field
                .and_then(|f| self.field_applied.get(f))
                .is_some_and(|ids| ids.contains(id)),
            FieldNameCondition::ProcessingState { key, value, op } => {
                self.state_holds(key, value, *op)
            }
        }
    }

    /// Whether a processing item's detection-item and field-name conditions select `m`.
    fn item_matches(&self, item: &ProcessingItem, ident: &str, m: &FieldMatch) -> bool {
        // Looked up only for `processing_item_applied` conditions: the key costs an allocation.
        let tracked = || {
            if self.item_applied.is_empty() {
                return None;
            }
            self.item_applied.get(&(ident.to_string(), m.path.clone()))
        };
        let detection = item.detection_item_conditions.holds(|c| match c {
            DetectionItemCondition::MatchString {
                pattern,
                cond,
                negate,
            } => quantified(m, *cond, |v| {
                let hit = matches!(v, Value::String(s)
                    if pattern.find(&sigma_text(s)).is_some_and(|f| f.start() == 0));
                hit != *negate
            }),
            DetectionItemCondition::MatchValue { value, cond } => {
                quantified(m, *cond, |v| value_equals(v, value))
            }
            DetectionItemCondition::ContainsWildcard(cond) => quantified(
                m,
                *cond,
                |v| matches!(v, Value::String(s) if s.has_wildcards()),
            ),
            DetectionItemCondition::IsNull(cond) => {
                quantified(m, *cond, |v| matches!(v, Value::Null))
            }
            DetectionItemCondition::ProcessingItemApplied(id) => {
                tracked().is_some_and(|ids| ids.contains(id))
            }
            DetectionItemCondition::ProcessingState { key, value, op } => {
                self.state_holds(key, value, *op)
            }
        });
        if !detection {
            return false;
        }
        item.field_name_conditions.holds(|c| match c {
            FieldNameCondition::ProcessingItemApplied(id) => {
                tracked().is_some_and(|ids| ids.contains(id))
            }
            other => {
                self.field_condition_on_name(other, m.field.as_deref())
                    || m.all_values().any(|v| match v {
                        Value::FieldRef(f) => self.field_condition_on_name(other, Some(f)),
                        _ => false,
                    })
            }
        })
    }

    fn mark(&mut self, item: &ProcessingItem, ident: &str, m: &FieldMatch) {
        if !self.chain.tracks_detection_items() {
            return;
        }
        if let Some(id) = &item.id {
            self.item_applied
                .entry((ident.to_string(), m.path.clone()))
                .or_default()
                .insert(id.clone());
        }
    }

    fn detection_items(&mut self, item: &ProcessingItem, rule: &mut Rule) -> Result<(), Refusal> {
        let mut identifiers = std::mem::take(&mut rule.detection.identifiers);
        let result = identifiers.iter_mut().try_for_each(|identifier| {
            let name = identifier.name.clone();
            let body = std::mem::replace(&mut identifier.body, SearchBody::AnyOf(Vec::new()));
            // A search identifier whose every item was dropped is kept empty: the condition
            // goes on without it, as pySigma leaves an empty detection out of the query.
            identifier.body = self
                .body(item, &name, body)?
                .unwrap_or(SearchBody::AllOf(Vec::new()));
            Ok(())
        });
        rule.detection.identifiers = identifiers;
        result
    }

    /// A body after the item's transformation: `None` when every item was dropped.
    fn body(
        &mut self,
        item: &ProcessingItem,
        ident: &str,
        body: SearchBody,
    ) -> Result<Option<SearchBody>, Refusal> {
        Ok(match body {
            SearchBody::AllOf(items) => {
                // Items replaced by alternatives stay in place: the map becomes an AND of its
                // items, some of them ORs (`a and (x1 or x2)`, as pySigma nests them).
                // `Ok` is an item kept as it is, `Err` one replaced by alternatives (or by
                // nothing, when every alternative was empty).
                let mut parts: Vec<Result<FieldMatch, Option<SearchBody>>> =
                    Vec::with_capacity(items.len());
                let mut nested = false;
                for mut m in items {
                    match self.one(item, ident, &mut m)? {
                        Outcome::Unchanged | Outcome::Changed => parts.push(Ok(m)),
                        Outcome::Drop => {}
                        Outcome::AnyOf(groups) => {
                            nested = true;
                            parts.push(Err(any_of(groups)));
                        }
                    }
                }
                if !nested {
                    let kept: Vec<FieldMatch> = parts.into_iter().flatten().collect();
                    (!kept.is_empty()).then_some(SearchBody::AllOf(kept))
                } else {
                    let mut parts: Vec<SearchBody> = parts
                        .into_iter()
                        .filter_map(|part| match part {
                            Ok(m) => Some(SearchBody::AllOf(vec![m])),
                            Err(body) => body,
                        })
                        .collect();
                    match parts.len() {
                        0 => None,
                        1 => parts.pop(),
                        _ => Some(SearchBody::All(parts)),
                    }
                }
            }
            SearchBody::All(parts) => {
                let mut out = Vec::with_capacity(parts.len());
                for part in parts {
                    if let Some(b) = self.body(item, ident, part)? {
                        out.push(b);
                    }
                }
                match out.len() {
                    0 => None,
                    1 => out.pop(),
                    _ => Some(SearchBody::All(out)),
                }
            }
            SearchBody::Keywords(mut m) => match self.one(item, ident, &mut m)? {
                Outcome::Unchanged | Outcome::Changed if m.field.is_none() => {
                    Some(SearchBody::Keywords(m))
                }
                Outcome::Unchanged | Outcome::Changed => Some(SearchBody::AllOf(vec![m])),
                Outcome::Drop => None,
                Outcome::AnyOf(groups) => any_of(groups),
            },
            SearchBody::AnyOf(bodies) => {
                let mut out = Vec::with_capacity(bodies.len());
                for b in bodies {
                    // An element that became an OR stays one element (pySigma nests it).
                    if let Some(b) = self.body(item, ident, b)? {
                        out.push(b);
                    }
                }
                match out.len() {
                    0 => None,
                    1 => out.pop(),
                    _ => Some(SearchBody::AnyOf(out)),
                }
            }
        })
    }

    /// Applies a detection-item transformation to one item it selects.
    fn one(
        &mut self,
        item: &ProcessingItem,
        ident: &str,
        m: &mut FieldMatch,
    ) -> Result<Outcome, Refusal> {
        if !self.item_matches(item, ident, m) {
            return Ok(Outcome::Unchanged);
        }
        let outcome = match &item.transformation {
            Transformation::DetectionItemFailure(message) => {
                return Err(self.refuse(item, Some(m.path.clone()), message.clone()));
            }
            Transformation::DropDetectionItem => Outcome::Drop,
            Transformation::Custom(custom) => match custom
                .apply_item(&self.state, m)
                .map_err(|message| self.refuse(item, Some(m.path.clone()), message))?
            {
                ItemChange::Unchanged => Outcome::Unchanged,
                ItemChange::Changed => Outcome::Changed,
                ItemChange::AnyOf(groups) => Outcome::AnyOf(groups),
            },
            Transformation::HashesFields {
                valid_hash_algos,
                field_prefix,
                drop_algo_prefix,
                field_to_parse,
            } => {
                let Some(field) = m.field.as_deref() else {
                    return Ok(Outcome::Unchanged);
                };
                if !field_to_parse.iter().any(|f| f == field) {
                    return Ok(Outcome::Unchanged);
                }
                let Some(texts) = m
                    .all_values()
                    .map(|v| match v {
                        Value::String(s) => Some(s.display_text()),
                        _ => None,
                    })
                    .collect::<Option<Vec<String>>>()
                else {
                    return Ok(Outcome::Unchanged);
                };
                let mut by_field: Vec<(String, Vec<String>)> = Vec::new();
                for text in texts {
                    let parts: Vec<&str> = if text.contains('|') {
                        text.split('|').collect()
                    } else {
                        text.split('=').collect()
                    };
                    let (algo, hash) = match parts.as_slice() {
                        [algo, hash] => (
                            algo.trim_start_matches('*').to_uppercase(),
                            hash.trim_matches(['*', '?']).to_string(),
                        ),
                        _ => {
                            let hash = parts[0].trim_matches(['*', '?']).to_string();
                            let algo = match hash.len() {
                                32 => "MD5",
                                40 => "SHA1",
                                64 => "SHA256",
                                128 => "SHA512",
                                _ => "",
                            };
                            (algo.to_string(), hash)
                        }
                    };
                    if algo.is_empty() || !valid_hash_algos.contains(&algo) {
                        continue;
                    }
                    let name = format!(
                        "{field_prefix}{}",
                        if *drop_algo_prefix { "" } else { &algo }
                    );
                    match by_field.iter_mut().find(|(f, _)| *f == name) {
                        Some((_, values)) => values.push(hash),
                        None => by_field.push((name, vec![hash])),
                    }
                }
                if by_field.is_empty() {
                    return Err(self.refuse(
                        item,
                        Some(m.path.clone()),
                        format!(
                            "no valid hash algorithm in `{}` (valid: {})",
                            m.key_text(),
                            valid_hash_algos.join(", ")
                        ),
                    ));
                }
                let items: Vec<FieldMatch> = by_field
                    .into_iter()
                    .map(|(name, hashes)| FieldMatch {
                        field: (!name.is_empty()).then_some(name),
                        modifiers: Vec::new(),
                        is_list: hashes.len() > 1,
                        values: hashes
                            .iter()
                            .map(|h| ValueGroup {
                                original: RawValue::String(h.clone()),
                                variants: vec![Value::String(SigmaString::parse(h))],
                                expanded: false,
                            })
                            .collect(),
                        combine: Combine::Any,
                        cased: false,
                        negated: false,
                        time_part: None,
                        path: m.path.clone(),
                    })
                    .collect();
                self.mark(item, ident, m);
                return Ok(if let [one] = items.as_slice() {
                    *m = one.clone();
                    Outcome::Changed
                } else {
                    Outcome::AnyOf(items.into_iter().map(|i| vec![i]).collect())
                });
            }
            t => {
                if let Some(rename) = Rename::of(t) {
                    self.rename_item(item, &rename, m)
                } else {
                    self.values(item, m)?
                }
            }
        };
        if !matches!(outcome, Outcome::Unchanged) {
            self.mark(item, ident, m);
        }
        Ok(outcome)
    }

    fn rename_item(
        &mut self,
        item: &ProcessingItem,
        rename: &Rename<'_>,
        m: &mut FieldMatch,
    ) -> Outcome {
        let mut changed = false;
        for group in &mut m.values {
            let mut variants = Vec::with_capacity(group.variants.len());
            for v in group.variants.drain(..) {
                match v {
                    Value::FieldRef(f) if self.field_name_matches(item, Some(&f)) => {
                        match rename.apply(&f) {
                            Some(names) => {
                                changed = true;
                                variants.extend(names.into_iter().map(Value::FieldRef));
                            }
                            None => variants.push(Value::FieldRef(f)),
                        }
                    }
                    other => variants.push(other),
                }
            }
            group.variants = variants;
        }
        let Some(field) = m.field.clone() else {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        };
        let Some(names) = rename.apply(&field) else {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        };
        if !self.field_name_matches(item, Some(&field)) {
            return if changed {
                Outcome::Changed
            } else {
                Outcome::Unchanged
            };
        }
        match names.as_slice() {
            [one] => {
                m.field = Some(one.clone());
                Outcome::Changed
            }
            _ => Outcome::AnyOf(
                names
                    .into_iter()
                    .map(|n| {
                        vec![FieldMatch {
                            field: Some(n),
                            ..m.clone()
                        }]
                    })
                    .collect(),
            ),
        }
    }

    /// Value transformations.
    fn values(&mut self, item: &ProcessingItem, m: &mut FieldMatch) -> Result<Outcome, Refusal> {
        let mut changed = false;
        let mut groups = Vec::with_capacity(m.values.len());
        for group in std::mem::take(&mut m.values) {
            let single = group.variants.len() == 1 && !group.expanded;
            let mut results: Vec<Vec<Value>> = Vec::new();
            for v in &group.variants {
                match self
                    .value(item, v)
                    .map_err(|msg| self.refuse(item, Some(m.path.clone()), msg))?
                {
                    Some(new) => {
                        changed = true;
                        results.push(new);
                    }
                    None => results.push(vec![v.clone()]),
                }
            }
            if single {
                // One written value that became several: several values, as pySigma lists them.
                for v in results.into_iter().flatten() {
                    groups.push(ValueGroup {
                        original: group.original.clone(),
                        variants: vec![v],
                        expanded: false,
                    });
                }
            } else {
                groups.push(ValueGroup {
                    original: group.original.clone(),
                    variants: results.into_iter().flatten().collect(),
                    expanded: group.expanded,
                });
            }
        }
        if groups.len() > 1 {
            m.is_list = true;
        }
        m.values = groups;
        Ok(if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    }

    /// One value transformed: `None` when the transformation leaves it alone.
    fn value(&self, item: &ProcessingItem, v: &Value) -> Result<Option<Vec<Value>>, String> {
        Ok(match (&item.transformation, v) {
            (
                Transformation::ReplaceString {
                    regex,
                    replacement,
                    skip_special,
                    interpret_special,
                },
                Value::String(_) | Value::Number(_),
            ) => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => SigmaString::literal(&n.text),
                    _ => unreachable!("matched above"),
                };
                let replacement = rust_replacement(replacement);
                let new = if *skip_special {
                    let mut out = SigmaString::default();
                    for piece in s.pieces() {
                        match piece {
                            Piece::Text(t) => {
                                let replaced = regex.replace_all(t, replacement.as_str());
                                if *interpret_special {
                                    for p in SigmaString::parse(&replaced).pieces() {
                                        out.push(p.clone());
                                    }
                                } else {
                                    out.push_str(&replaced);
                                }
                            }
                            other => out.push(other.clone()),
                        }
                    }
                    out
                } else {
                    let text = sigma_text(&s);
                    let replaced = regex.replace_all(&text, replacement.as_str());
                    let doubled = double_lone_backslashes(&replaced);
                    if s.has_placeholders() {
                        SigmaString::parse_with_placeholders(&doubled)
                    } else {
                        SigmaString::parse(&doubled)
                    }
                };
                Some(vec![Value::String(new)])
            }
            (Transformation::MapString(map), Value::String(s)) => {
                map.get(&sigma_text(s)).map(|targets| {
                    targets
                        .iter()
                        .map(|t| Value::String(SigmaString::parse(t)))
                        .collect()
                })
            }
            (Transformation::SetValue(value), _) => Some(vec![pipeline_value(value)]),
            (Transformation::ConvertType(TargetType::Str), Value::Number(n)) => {
                Some(vec![Value::String(SigmaString::literal(&n.text))])
            }
            (Transformation::ConvertType(TargetType::Num), Value::String(s)) => {
                let number = s
                    .as_plain()
                    .and_then(|t| t.parse::<serde_yaml::Number>().ok());
                match number {
                    Some(n) => Some(vec![Value::Number(Number::from_yaml(&n))]),
                    None => {
                        return Err(format!(
                            "`convert_type` to a number: `{}` is not a number",
                            sigma_text(s)
                        ));
                    }
                }
            }
            (Transformation::Case(method), Value::String(s)) => {
                Some(vec![Value::String(s.map_text(|t| match method {
                    CaseMethod::Lower => t.to_lowercase(),
                    CaseMethod::Upper => t.to_uppercase(),
                    CaseMethod::SnakeCase => snake_case(t),
                }))])
            }
            (Transformation::WildcardPlaceholders(filter), Value::String(s))
                if has_handled(s, filter) =>
            {
                Some(vec![Value::String(SigmaString::from_pieces(
                    s.pieces().iter().map(|p| match p {
                        Piece::Placeholder(name) if filter.handles(name) => Piece::AnyString,
                        other => other.clone(),
                    }),
                ))])
            }
            (
                Transformation::QueryExpressionPlaceholders {
                    expression,
                    mapping,
                    filter,
                },
                Value::String(s),
            ) if s.has_placeholders() => match s.pieces() {
                [Piece::Placeholder(name)] if filter.handles(name) => {
                    Some(vec![Value::QueryExpression {
                        expression: expression.clone(),
                        id: mapping.get(name).unwrap_or(name).clone(),
                    }])
                }
                [Piece::Placeholder(_)] => None,
                _ => {
                    return Err(format!(
                        "`query_expression_placeholders` replaces values that are a placeholder alone, and `{}` holds more than its placeholder",
                        sigma_text(s)
                    ));
                }
            },
            (Transformation::ValuePlaceholders(filter), Value::String(s))
                if has_handled(s, filter) =>
            {
                let mut strings = vec![SigmaString::default()];
                for piece in s.pieces() {
                    match piece {
                        Piece::Placeholder(name) if filter.handles(name) => {
                            let Some(values) = self.chain.var(name) else {
                                return Err(format!(
                                    "placeholder `%{name}%` has no value: the pipelines define no variable `{name}` in `vars`"
                                ));
                            };
                            strings = strings
                                .iter()
                                .flat_map(|prefix| {
                                    values.iter().map(move |value| {
                                        let mut s = prefix.clone();
                                        for p in SigmaString::parse(&value.text()).pieces() {
                                            s.push(p.clone());
                                        }
                                        s
                                    })
                                })
                                .collect();
                            if strings.len() > MAX_EXPANSION * 16 {
                                return Err(format!(
                                    "placeholders expand to more than {} values",
                                    MAX_EXPANSION * 16
                                ));
                            }
                        }
                        other => strings.iter_mut().for_each(|s| s.push(other.clone())),
                    }
                }
                Some(strings.into_iter().map(Value::String).collect())
            }
            _ => None,
        })
    }
}

/// The body of an OR of AND-groups of items (`None` when there is no group).
fn any_of(groups: Vec<Vec<FieldMatch>>) -> Option<SearchBody> {
    let mut bodies: Vec<SearchBody> = groups
        .into_iter()
        .filter(|g| !g.is_empty())
        .map(SearchBody::AllOf)
        .collect();
    match bodies.len() {
        0 => None,
        1 => bodies.pop(),
        _ => Some(SearchBody::AnyOf(bodies)),
    }
}

/// A field-name transformation: what a field becomes, or `None` when it is left alone.
enum Rename<'t> {
    Map(&'t BTreeMap<String, Vec<String>>),
    PrefixMap(&'t [(String, Vec<String>)]),
    Prefix(&'t str),
    Suffix(&'t str),
}

impl<'t> Rename<'t> {
    fn of(t: &'t Transformation) -> Option<Rename<'t>> {
        Some(match t {
            Transformation::FieldNameMapping(m) => Rename::Map(m),
            Transformation::FieldNamePrefixMapping(m) => Rename::PrefixMap(m),
            Transformation::FieldNamePrefix(p) => Rename::Prefix(p),
            Transformation::FieldNameSuffix(s) => Rename::Suffix(s),
            _ => return None,
        })
    }

    fn apply(&self, field: &str) -> Option<Vec<String>> {
        match self {
            Rename::Map(m) => m.get(field).cloned(),
            Rename::PrefixMap(m) => m.iter().find_map(|(prefix, targets)| {
                field
                    .strip_prefix(prefix.as_str())
                    .map(|rest| targets.iter().map(|t| format!("{t}{rest}")).collect())
            }),
            Rename::Prefix(p) => Some(vec![format!("{p}{field}")]),
            Rename::Suffix(s) => Some(vec![format!("{field}{s}")]),
        }
    }
}

fn has_handled(s: &SigmaString, filter: &PlaceholderFilter) -> bool {
    s.pieces()
        .iter()
        .any(|p| matches!(p, Piece::Placeholder(n) if filter.handles(n)))
}

fn quantified(m: &FieldMatch, q: Quantifier, test: impl FnMut(&Value) -> bool) -> bool {
    let mut values = m.all_values();
    match q {
        Quantifier::Any => values.any(test),
        Quantifier::All => values.all(test),
    }
}

fn value_equals(v: &Value, want: &PipelineValue) -> bool {
    match (v, want) {
        (Value::String(s), PipelineValue::Text(t)) => s.as_plain().as_deref() == Some(t),
        (Value::Number(n), PipelineValue::Number(w)) => {
            n.as_f64() == w.as_f64().unwrap_or(f64::NAN)
        }
        (Value::Bool(b), PipelineValue::Bool(w)) => b == w,
        (Value::Null, PipelineValue::Null) => true,
        _ => false,
    }
}

/// A value as text, for `contains_detection_item`.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => sigma_text(s),
        Value::Number(n) => n.text.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        Value::FieldRef(f) => f.clone(),
        _ => String::new(),
    }
}

/// A Sigma string written back in Sigma's notation: wildcards as `*`/`?`, literal `*`/`?`
/// escaped, backslashes as they are (what pySigma's `str()` of a string gives).
pub(crate) fn sigma_text(s: &SigmaString) -> String {
    let mut out = String::new();
    for piece in s.pieces() {
        match piece {
            Piece::Text(t) => {
                for c in t.chars() {
                    if matches!(c, '*' | '?') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Piece::AnyString => out.push('*'),
            Piece::AnyChar => out.push('?'),
            Piece::Placeholder(p) => {
                out.push('%');
                out.push_str(p);
                out.push('%');
            }
        }
    }
    out
}

/// Doubles each backslash not followed by `*` or `?`, so that parsing the text as a Sigma
/// string gives the backslash back.
fn double_lone_backslashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        out.push(*c);
        if *c == '\\' && !matches!(chars.get(i + 1), Some('*' | '?')) {
            out.push('\\');
        }
    }
    out
}

/// A Python `re.sub` replacement (`\1`, `\g<name>`) in the regex crate's syntax (`${1}`).
fn rust_replacement(python: &str) -> String {
    let mut out = String::with_capacity(python.len());
    let mut chars = python.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                _ => out.push('\\'),
            },
            other => out.push(other),
        }
    }
    out
}

fn snake_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous_lower = false;
    for c in text.chars() {
        if c.is_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else if c == ' ' || c == '-' {
            out.push('_');
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// The detection value a pipeline value stands for.
fn pipeline_value(v: &PipelineValue) -> Value {
    match v {
        PipelineValue::Text(t) => Value::String(SigmaString::parse(t)),
        PipelineValue::Number(n) => Value::Number(Number::from_yaml(n)),
        PipelineValue::Bool(b) => Value::Bool(*b),
        PipelineValue::Null => Value::Null,
    }
}

fn condition_group(v: &PipelineValue, substitute: &impl Fn(&str) -> String) -> ValueGroup {
    let (original, value) = match v {
        PipelineValue::Text(t) => {
            let t = substitute(t);
            (
                RawValue::String(t.clone()),
                Value::String(SigmaString::parse(&t)),
            )
        }
        PipelineValue::Number(n) => (
            RawValue::Number(Number::from_yaml(n)),
            Value::Number(Number::from_yaml(n)),
        ),
        PipelineValue::Bool(b) => (RawValue::Bool(*b), Value::Bool(*b)),
        PipelineValue::Null => (RawValue::Null, Value::Null),
    };
    ValueGroup {
        original,
        variants: vec![value],
        expanded: false,
    }
}

fn compare(have: &str, want: &str, op: StateOp) -> bool {
    let ordering = match (have.parse::<f64>(), want.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(have.cmp(want)),
    };
    use std::cmp::Ordering::*;
    match op {
        StateOp::Eq => have == want,
        StateOp::Ne => have != want,
        StateOp::Lt => ordering == Some(Less),
        StateOp::Lte => matches!(ordering, Some(Less | Equal)),
        StateOp::Gt => ordering == Some(Greater),
        StateOp::Gte => matches!(ordering, Some(Greater | Equal)),
    }
}

fn attribute_holds(rule: &Rule, attribute: &str, want: &str, op: StateOp) -> bool {
    let meta = &rule.meta;
    let level_rank = |l: &str| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| x.eq_ignore_ascii_case(l))
    };
    let have = match attribute {
        "level" => {
            let Some(level) = meta.level else {
                return false;
            };
            let (Some(a), Some(b)) = (level_rank(level.name()), level_rank(want)) else {
                return false;
            };
            return compare(&a.to_string(), &b.to_string(), op);
        }
        "status" => meta.status.map(|s| s.name().to_string()),
        "id" => meta.id.clone(),
        "title" => Some(meta.title.clone()),
        "name" => meta.name.clone(),
        "author" => meta.author.clone(),
        "taxonomy" => meta.taxonomy.clone(),
        "date" => meta
            .date
            .as_ref()
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        "modified" => meta
            .modified
            .as_ref()
            .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)),
        other => meta
            .custom
            .iter()
            .find(|(k, _)| k == other)
            .and_then(|(_, v)| match v {
                serde_yaml::Value::String(s) => Some(s.clone()),
                serde_yaml::Value::Number(n) => Some(n.to_string()),
                serde_yaml::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }),
    };
    have.is_some_and(|h| compare(&h, want, op))
}
