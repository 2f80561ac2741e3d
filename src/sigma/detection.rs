//! The `detection` section: search identifiers (maps, lists of maps, keyword lists), detection
//! items with their modifier chains, and the values those modifiers produce.
//!
//! Parsing here validates everything the specification constrains (modifier names and chains,
//! value types, regexes, networks) and lowers each item to typed [`Value`]s, so backends never
//! re-implement a modifier.

use std::borrow::Cow;

use serde_yaml::Value as Yaml;

use super::condition::Condition;
use super::diagnostic::{Code, NodePath, Problem};
use super::encode::{self, WindashStyle};
use super::modifier::{self, Modifier, TimePart};
use super::value::{Cidr, Number, RegexFlags, SigmaString, Value};

/// A value as written in the rule, before modifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// A YAML string, with Sigma's escapes unresolved.
    String(String),
    /// A YAML number.
    Number(Number),
    /// A YAML boolean.
    Bool(bool),
    /// YAML null.
    Null,
}

impl RawValue {
    fn from_yaml(value: &Yaml) -> Option<RawValue> {
        Some(match value {
            Yaml::String(s) => RawValue::String(s.clone()),
            Yaml::Number(n) => RawValue::Number(Number::from_yaml(n)),
            Yaml::Bool(b) => RawValue::Bool(*b),
            Yaml::Null => RawValue::Null,
            Yaml::Tagged(t) => return RawValue::from_yaml(&t.value),
            Yaml::Sequence(_) | Yaml::Mapping(_) => return None,
        })
    }

    /// The value as the rule wrote it, for display.
    pub fn display(&self) -> String {
        match self {
            RawValue::String(s) => s.clone(),
            RawValue::Number(n) => n.text.clone(),
            RawValue::Bool(b) => b.to_string(),
            RawValue::Null => "null".to_string(),
        }
    }
}

/// The values one written value turned into after modifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueGroup {
    /// The value as written.
    pub original: RawValue,
    /// The resulting values: one, or several when an expanding modifier (`windash`,
    /// `base64offset`) produced variants, which are alternatives (OR).
    pub variants: Vec<Value>,
    /// Whether an expanding modifier produced the variants.
    pub expanded: bool,
}

/// How written values combine within one detection item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Combine {
    /// Any value matches (the default).
    Any,
    /// All values must match (`|all`).
    All,
}

/// One detection item: a field (or the whole event for keywords), its modifiers and values.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMatch {
    /// The field name, `None` for keyword (full-text) search.
    pub field: Option<String>,
    /// The modifier chain as written.
    pub modifiers: Vec<Modifier>,
    /// One group per written value, in order.
    pub values: Vec<ValueGroup>,
    /// OR (default) or AND (`|all`) of the groups.
    pub combine: Combine,
    /// Whether the values were written as a YAML list (even of one element).
    pub is_list: bool,
    /// `|cased`: match case-sensitively.
    pub cased: bool,
    /// `|neq`: the item matches when the field does *not* equal the values.
    pub negated: bool,
    /// A time modifier: compare this part of a date field.
    pub time_part: Option<TimePart>,
    /// Where the item is in the rule file.
    pub path: NodePath,
}

impl FieldMatch {
    /// Every resulting value, flattened over groups and variants.
    pub fn all_values(&self) -> impl Iterator<Item = &Value> {
        self.values.iter().flat_map(|g| g.variants.iter())
    }

    /// The item's key as written (`Image|endswith`).
    pub fn key_text(&self) -> String {
        let mut s = self.field.clone().unwrap_or_default();
        for m in &self.modifiers {
            s.push('|');
            s.push_str(m.name());
        }
        s
    }

    /// Re-applies the modifiers to the written values with another `windash` style, for
    /// backends that reproduce a converter with fewer dash forms.
    pub fn with_windash_style(&self, style: WindashStyle) -> FieldMatch {
        if !self.modifiers.contains(&Modifier::Windash) {
            return self.clone();
        }
        let mut item = self.clone();
        let options = LowerOptions { windash: style };
        for group in &mut item.values {
            if let Ok(g) = lower_value(&group.original, &self.modifiers, &options) {
                *group = g;
            }
        }
        item
    }
}

/// The body of a search identifier.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchBody {
    /// A map: every item must match.
    AllOf(Vec<FieldMatch>),
    /// A list of plain values: keyword search, any matches.
    Keywords(FieldMatch),
    /// A list of maps (or of maps and keywords): any element matches.
    AnyOf(Vec<SearchBody>),
    /// Every part matches: what a processing pipeline makes of a map one of whose items it
    /// replaced by alternatives (a field mapped to several fields, pySigma's nested detection),
    /// kept in place so that targets write `a and (x1 or x2)` as pySigma does.
    All(Vec<SearchBody>),
}

impl SearchBody {
    /// The same body without [`SearchBody::All`]: the AND of alternatives distributed into an
    /// OR of maps, for consumers that only take maps of items (it means the same).
    pub fn distributed(&self) -> SearchBody {
        match self {
            SearchBody::AllOf(_) | SearchBody::Keywords(_) => self.clone(),
            SearchBody::AnyOf(bodies) => {
                SearchBody::AnyOf(bodies.iter().map(SearchBody::distributed).collect())
            }
            SearchBody::All(parts) => {
                let mut groups: Vec<Vec<FieldMatch>> = vec![Vec::new()];
                for part in parts {
                    let alternatives = part.alternatives();
                    groups = groups
                        .iter()
                        .flat_map(|g| {
                            alternatives.iter().map(move |a| {
                                let mut g = g.clone();
                                g.extend(a.iter().cloned());
                                g
                            })
                        })
                        .collect();
                }
                match groups.len() {
                    1 => SearchBody::AllOf(groups.pop().unwrap_or_default()),
                    _ => SearchBody::AnyOf(groups.into_iter().map(SearchBody::AllOf).collect()),
                }
            }
        }
    }

    /// The body as an OR of AND-groups of items.
    fn alternatives(&self) -> Vec<Vec<FieldMatch>> {
        match self {
            SearchBody::AllOf(items) => vec![items.clone()],
            SearchBody::Keywords(item) => vec![vec![item.clone()]],
            SearchBody::AnyOf(bodies) => bodies.iter().flat_map(|b| b.alternatives()).collect(),
            SearchBody::All(_) => self.distributed().alternatives(),
        }
    }

    /// Every field match of the body, in order.
    pub fn items(&self) -> Vec<&FieldMatch> {
        let mut out = Vec::new();
        self.walk_items(&mut |m| out.push(m));
        out
    }

    /// Calls `f` on every field match of the body, in order.
    pub fn walk_items<'a>(&'a self, f: &mut dyn FnMut(&'a FieldMatch)) {
        match self {
            SearchBody::AllOf(items) => items.iter().for_each(f),
            SearchBody::Keywords(item) => f(item),
            SearchBody::AnyOf(bodies) | SearchBody::All(bodies) => {
                bodies.iter().for_each(|b| b.walk_items(&mut *f))
            }
        }
    }

    /// Calls `f` on every field match of the body, in order, to change it.
    pub fn walk_items_mut(&mut self, f: &mut dyn FnMut(&mut FieldMatch)) {
        match self {
            SearchBody::AllOf(items) => items.iter_mut().for_each(f),
            SearchBody::Keywords(item) => f(item),
            SearchBody::AnyOf(bodies) | SearchBody::All(bodies) => {
                bodies.iter_mut().for_each(|b| b.walk_items_mut(&mut *f))
            }
        }
    }
}

/// A named search identifier of the detection (`selection`, `filter_main`…).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchIdentifier {
    /// The name.
    pub name: String,
    /// What it matches.
    pub body: SearchBody,
    /// Where it is defined.
    pub path: NodePath,
}

/// A parsed `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Search identifiers, in the order written.
    pub identifiers: Vec<SearchIdentifier>,
    /// The conditions (a list of conditions means any of them).
    pub conditions: Vec<Condition>,
    /// The deprecated `timeframe` of v1 aggregations.
    pub timeframe: Option<String>,
}

impl Detection {
    /// The search identifier called `name`.
    pub fn identifier(&self, name: &str) -> Option<&SearchIdentifier> {
        self.identifiers.iter().find(|i| i.name == name)
    }

    /// Every field match of every search identifier.
    pub fn field_matches(&self) -> Vec<&FieldMatch> {
        let mut out = Vec::new();
        for identifier in &self.identifiers {
            identifier.body.walk_items(&mut |m| out.push(m));
        }
        out
    }
}

/// Options of the lowering of values.
#[derive(Debug, Clone, Copy, Default)]
pub struct LowerOptions {
    /// The dash forms `windash` produces.
    pub windash: WindashStyle,
}

/// Parses the search identifiers of a detection map (everything but `condition` and
/// `timeframe`), reporting problems.
pub(crate) fn parse_identifiers(
    map: &serde_yaml::Mapping,
    path: &NodePath,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Vec<SearchIdentifier> {
    let mut identifiers = Vec::new();
    for (key, value) in map {
        let Some(name) = key_string(key) else {
            problems.push(Problem::at(
                Code::InvalidType,
                path,
                "search identifier names must be strings",
            ));
            continue;
        };
        if name == "condition" || name == "timeframe" {
            continue;
        }
        let ident_path = path.key(&name);
        if let Some(body) = parse_body(value, &ident_path, problems, budget, 0) {
            identifiers.push(SearchIdentifier {
                name: name.into_owned(),
                body,
                path: ident_path,
            });
        }
    }
    identifiers
}

/// A YAML key as a string (numbers and booleans as YAML writes them); borrowed for the string
/// keys nearly every key is.
pub(crate) fn key_string(key: &Yaml) -> Option<Cow<'_, str>> {
    match key {
        Yaml::String(s) => Some(Cow::Borrowed(s)),
        Yaml::Number(n) => Some(Cow::Owned(n.to_string())),
        Yaml::Bool(b) => Some(Cow::Owned(b.to_string())),
        _ => None,
    }
}

fn parse_body(
    value: &Yaml,
    path: &NodePath,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
    depth: usize,
) -> Option<SearchBody> {
    match value {
        Yaml::Mapping(map) => {
            if map.is_empty() {
                problems.push(Problem::at(
                    Code::EmptyDetection,
                    path,
                    "search identifier has no field items",
                ));
                return None;
            }
            let mut items = Vec::new();
            for (key, value) in map {
                let Some(key) = key_string(key) else {
                    problems.push(Problem::at(
                        Code::InvalidType,
                        path,
                        "field names must be strings",
                    ));
                    continue;
                };
                if let Some(item) = parse_item(&key, value, &path.key(&key), path, problems, budget)
                {
                    items.push(item);
                }
            }
            (!items.is_empty()).then_some(SearchBody::AllOf(items))
        }
        Yaml::Sequence(list) => {
            if list.is_empty() {
                problems.push(Problem::at(
                    Code::EmptyDetection,
                    path,
                    "search identifier is an empty list",
                ));
                return None;
            }
            if depth > 0 {
                problems.push(Problem::at(
                    Code::InvalidValue,
                    path,
                    "lists inside lists are not allowed in a search identifier",
                ));
                return None;
            }
            let all_plain = list
                .iter()
                .all(|v| !matches!(v, Yaml::Mapping(_) | Yaml::Sequence(_)));
            if all_plain {
                let items: Vec<(Option<usize>, &Yaml)> =
                    list.iter().enumerate().map(|(i, v)| (Some(i), v)).collect();
                return parse_keywords(&items, path, path, problems, budget)
                    .map(SearchBody::Keywords);
            }
            let mut bodies = Vec::new();
            let mut keywords: Vec<(Option<usize>, &Yaml)> = Vec::new();
            for (i, element) in list.iter().enumerate() {
                match element {
                    Yaml::Mapping(_) | Yaml::Sequence(_) => {
                        if let Some(b) =
                            parse_body(element, &path.index(i), problems, budget, depth + 1)
                        {
                            bodies.push(b);
                        }
                    }
                    _ => keywords.push((Some(i), element)),
                }
            }
            if let Some((Some(first), _)) = keywords.first() {
                if let Some(k) =
                    parse_keywords(&keywords, path, &path.index(*first), problems, budget)
                {
                    bodies.insert(0, SearchBody::Keywords(k));
                }
            }
            (!bodies.is_empty()).then_some(SearchBody::AnyOf(bodies))
        }
        Yaml::Tagged(t) => parse_body(&t.value, path, problems, budget, depth),
        Yaml::Null => {
            problems.push(Problem::at(
                Code::EmptyDetection,
                path,
                "search identifier is empty",
            ));
            None
        }
        scalar => {
            // A single keyword written without a list. The specification wants a map or a
            // list here, but pySigma and sigmac read a scalar as one keyword, so that meaning
            // is kept; the warning says how it was read.
            problems.push(Problem::at(
                Code::Discouraged,
                path,
                "a search identifier should be a map of fields or a list; this single value is read as a keyword (full-text) search",
            ));
            parse_keywords(&[(None, scalar)], path, path, problems, budget)
                .map(SearchBody::Keywords)
        }
    }
}

/// Keywords: plain values searched in the whole event. `items` are the values with their index
/// in the identifier's list at `list_path` (`None` for a single keyword written without a list);
/// `path` is where the resulting item is said to be.
fn parse_keywords(
    items: &[(Option<usize>, &Yaml)],
    list_path: &NodePath,
    path: &NodePath,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<FieldMatch> {
    let mut values = Vec::with_capacity(items.len());
    for (index, item) in items {
        match RawValue::from_yaml(item) {
            Some(RawValue::Null) => {
                let at = index.map_or_else(|| list_path.clone(), |i| list_path.index(i));
                problems.push(Problem::at(
                    Code::InvalidValue,
                    &at,
                    "a keyword cannot be null",
                ));
                return None;
            }
            Some(value) => values.push(value),
            None => {}
        }
    }
    lower_item(None, Vec::new(), values, true, path, problems, budget)
}

/// Splits `Field|mod1|mod2` and validates the chain. `None` (with a problem) if invalid.
fn parse_key(
    key: &str,
    map_path: &NodePath,
    problems: &mut Vec<Problem>,
) -> Option<(Option<String>, Vec<Modifier>)> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mut modifiers = Vec::new();
    for name in parts {
        match Modifier::parse(name) {
            Some(m) => modifiers.push(m),
            None => {
                let hint = suggest_modifier(name)
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                problems.push(Problem::at(
                    Code::UnknownModifier,
                    &map_path.key_name(key),
                    format!("unknown modifier `{name}` in `{key}`{hint}"),
                ));
                return None;
            }
        }
    }
    if let Err(e) = modifier::check_chain(&modifiers) {
        problems.push(Problem::at(
            Code::IllegalModifierChain,
            &map_path.key_name(key),
            format!("in `{key}`: {}", e.message),
        ));
        return None;
    }
    let field = (!field.is_empty()).then(|| field.to_string());
    Some((field, modifiers))
}

fn suggest_modifier(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 25] = [
        "contains",
        "startswith",
        "endswith",
        "all",
        "base64",
        "base64offset",
        "utf16le",
        "utf16be",
        "utf16",
        "wide",
        "windash",
        "re",
        "cidr",
        "exists",
        "gt",
        "gte",
        "lt",
        "lte",
        "neq",
        "fieldref",
        "cased",
        "expand",
        "minute",
        "hour",
        "month",
    ];
    let lower = name.to_ascii_lowercase();
    NAMES
        .iter()
        .copied()
        .filter(|n| edit_distance(&lower, n) <= 2 || lower == *n)
        .min_by_key(|n| edit_distance(&lower, n))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn parse_item(
    key: &str,
    value: &Yaml,
    value_path: &NodePath,
    map_path: &NodePath,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<FieldMatch> {
    // Paths are built only for problems: a valid rule never needs them.
    let (field, modifiers) = parse_key(key, map_path, problems)?;
    let (values, is_list) = match value {
        Yaml::Sequence(list) => {
            if list.is_empty() && field.is_some() {
                // pySigma reads an item without values as "the field is absent": every one
                // of its backends renders it as the null check, whatever the modifiers (they
                // have nothing to transform). The same meaning here, with a warning.
                problems.push(Problem::at(
                    Code::Discouraged,
                    value_path,
                    format!("`{key}` has an empty list of values; it matches events where the field is absent, like `null`"),
                ));
                return lower_item(
                    field,
                    Vec::new(),
                    vec![RawValue::Null],
                    false,
                    value_path,
                    problems,
                    budget,
                );
            }
            if list.is_empty() {
                problems.push(Problem::at(
                    Code::InvalidValue,
                    value_path,
                    format!("`{key}` has an empty list of values"),
                ));
                return None;
            }
            let mut values = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                match RawValue::from_yaml(v) {
                    Some(v) => values.push(v),
                    None => {
                        problems.push(Problem::at(
                            Code::InvalidValue,
                            &value_path.index(i),
                            format!("values of `{key}` must be strings, numbers, booleans or null, not nested lists or maps"),
                        ));
                        return None;
                    }
                }
            }
            (values, true)
        }
        Yaml::Mapping(_) => {
            problems.push(Problem::at(
                Code::InvalidValue,
                value_path,
                format!("the value of `{key}` is a map; field values must be scalars or lists"),
            ));
            return None;
        }
        other => match RawValue::from_yaml(other) {
            Some(v) => (vec![v], false),
            None => return None,
        },
    };
    if let Some(null) = values
        .iter()
        .position(|v| matches!(v, RawValue::Null))
        .filter(|_| values.len() > 1)
    {
        problems.push(Problem::at(
            Code::InvalidValue,
            &value_path.index(null),
            format!(
                "`{key}`: null cannot be part of a list of values; use a separate search identifier"
            ),
        ));
        return None;
    }
    if field.is_none() && values.iter().any(|v| matches!(v, RawValue::Null)) {
        problems.push(Problem::at(
            Code::InvalidValue,
            value_path,
            "a keyword cannot be null",
        ));
        return None;
    }
    if modifiers.contains(&Modifier::All) && values.len() == 1 {
        problems.push(Problem::at(
            Code::Discouraged,
            &map_path.key_name(key),
            format!("`{key}`: the `all` modifier on a single value has no effect (the specification does not allow it)"),
        ));
    }
    lower_item(
        field, modifiers, values, is_list, value_path, problems, budget,
    )
}

/// A bound on the values the expanding modifiers (`windash`, `base64offset`) may produce for
/// one file: each value can multiply into hundreds of patterns, so without it a small file could
/// ask for gigabytes.
#[derive(Debug, Clone)]
pub struct PatternBudget {
    limit: usize,
    used: usize,
}

impl PatternBudget {
    /// The budget of one rule file: far above any real rule (the SigmaHQ corpus needs at most a
    /// few hundred per file).
    pub const PER_FILE: usize = 100_000;

    /// A budget of `limit` values.
    pub fn new(limit: usize) -> Self {
        PatternBudget { limit, used: 0 }
    }

    /// Spends `n` values; `false` once the budget is exhausted.
    fn take(&mut self, n: usize) -> bool {
        self.used = self.used.saturating_add(n);
        self.used <= self.limit
    }
}

impl Default for PatternBudget {
    fn default() -> Self {
        PatternBudget::new(PatternBudget::PER_FILE)
    }
}

fn lower_item(
    field: Option<String>,
    modifiers: Vec<Modifier>,
    values: Vec<RawValue>,
    is_list: bool,
    path: &NodePath,
    problems: &mut Vec<Problem>,
    budget: &mut PatternBudget,
) -> Option<FieldMatch> {
    let options = LowerOptions::default();
    let mut groups = Vec::with_capacity(values.len());
    let mut ok = true;
    for (i, raw) in values.into_iter().enumerate() {
        match lower_value(&raw, &modifiers, &options) {
            Ok(group) => {
                if !budget.take(group.variants.len()) {
                    let key = field.clone().unwrap_or_default();
                    problems.push(Problem::at(
                        Code::InvalidValue,
                        path,
                        format!(
                            "`{key}`: the file's values expand to more than {} patterns (`windash`, `base64offset`); split the rule",
                            budget.limit
                        ),
                    ));
                    return None;
                }
                groups.push(group);
            }
            Err((code, message)) => {
                let at = if is_list { path.index(i) } else { path.clone() };
                let key = field.clone().unwrap_or_default();
                let chain: String = modifiers.iter().map(|m| format!("|{m}")).collect();
                problems.push(Problem::at(code, &at, format!("`{key}{chain}`: {message}")));
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    Some(FieldMatch {
        field,
        combine: if modifiers.contains(&Modifier::All) {
            Combine::All
        } else {
            Combine::Any
        },
        cased: modifiers.contains(&Modifier::Cased),
        negated: modifiers.contains(&Modifier::Neq),
        time_part: modifiers.iter().find_map(|m| match m {
            Modifier::Time(t) => Some(*t),
            _ => None,
        }),
        modifiers,
        values: groups,
        is_list,
        path: path.clone(),
    })
}

/// An intermediate value while modifiers are applied.
enum Working {
    Str(SigmaString),
    Bytes(Vec<u8>),
    Done(Value),
}

/// Applies a modifier chain to one written value.
pub fn lower_value(
    raw: &RawValue,
    modifiers: &[Modifier],
    options: &LowerOptions,
) -> Result<ValueGroup, (Code, String)> {
    let illegal = |m: &Modifier, what: &str| {
        Err((
            Code::IllegalModifierChain,
            format!("modifier `{m}` cannot be applied to {what}"),
        ))
    };
    let expand = modifiers.contains(&Modifier::Expand);
    let mut variants: Vec<Working> = vec![match raw {
        RawValue::String(s) => {
            if expand {
                Working::Str(SigmaString::parse_with_placeholders(s))
            } else {
                Working::Str(SigmaString::parse(s))
            }
        }
        RawValue::Number(n) => Working::Done(Value::Number(n.clone())),
        RawValue::Bool(b) => Working::Done(Value::Bool(*b)),
        RawValue::Null => Working::Done(Value::Null),
    }];
    let mut expanded = false;
    for m in modifiers {
        match m {
            Modifier::All | Modifier::Cased | Modifier::Neq | Modifier::Expand => {
                if matches!(raw, RawValue::Null) && *m != Modifier::Neq {
                    return illegal(m, "null");
                }
                if *m == Modifier::Expand && !matches!(raw, RawValue::String(_)) {
                    return illegal(m, "a non-string value");
                }
            }
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                let mut out = Vec::with_capacity(variants.len());
                for v in variants {
                    let s = match v {
                        Working::Str(s) => s,
                        // Legacy converters matched numbers as text; so do we.
                        Working::Done(Value::Number(n)) => SigmaString::literal(&n.text),
                        Working::Bytes(_) => return illegal(m, "encoded bytes"),
                        Working::Done(v) => return illegal(m, &format!("a {}", v.kind_name())),
                    };
                    out.push(Working::Str(match m {
                        Modifier::Contains => s.with_leading_any().with_trailing_any(),
                        Modifier::StartsWith => s.with_trailing_any(),
                        _ => s.with_leading_any(),
                    }));
                }
                variants = out;
            }
            Modifier::Utf16Le | Modifier::Wide | Modifier::Utf16Be | Modifier::Utf16 => {
                let mut out = Vec::with_capacity(variants.len());
                for v in variants {
                    let Working::Str(s) = v else {
                        return illegal(m, "a non-string value");
                    };
                    let Some(text) = s.as_plain() else {
                        return illegal(m, "a value with wildcards");
                    };
                    out.push(Working::Bytes(match m {
                        Modifier::Utf16Be => encode::utf16be(&text),
                        Modifier::Utf16 => encode::utf16_bom(&text),
                        _ => encode::utf16le(&text),
                    }));
                }
                variants = out;
            }
            Modifier::Base64 | Modifier::Base64Offset => {
                let mut out = Vec::with_capacity(variants.len() * 3);
                for v in variants {
                    let bytes = match v {
                        Working::Str(s) => match s.as_plain() {
                            Some(text) => text.into_bytes(),
                            None => {
                                return illegal(
                                    m,
                                    "a value with wildcards (they would be encoded)",
                                );
                            }
                        },
                        Working::Bytes(b) => b,
                        Working::Done(Value::Number(n)) => n.text.clone().into_bytes(),
                        Working::Done(v) => return illegal(m, &format!("a {}", v.kind_name())),
                    };
                    if *m == Modifier::Base64 {
                        out.push(Working::Str(SigmaString::literal(&encode::base64(&bytes))));
                    } else {
                        expanded = true;
                        for variant in encode::base64_offsets(&bytes) {
                            out.push(Working::Str(SigmaString::literal(&variant)));
                        }
                    }
                }
                variants = out;
            }
            Modifier::Windash => {
                let mut out = Vec::new();
                for v in variants {
                    let Working::Str(s) = v else {
                        return illegal(m, "a non-string value");
                    };
                    let dashes = encode::windash_dashes(&s);
                    if dashes > encode::MAX_WINDASH_DASHES {
                        return Err((
                            Code::InvalidValue,
                            format!(
                                "`windash` would vary {dashes} option dashes (5^{dashes} variants); split the value into values of at most {} options",
                                encode::MAX_WINDASH_DASHES
                            ),
                        ));
                    }
                    let expansion = encode::windash(&s, options.windash);
                    expanded |= expansion.len() > 1;
                    out.extend(expansion.into_iter().map(Working::Str));
                }
                variants = out;
            }
            Modifier::Re => {
                let RawValue::String(pattern) = raw else {
                    return illegal(m, "a non-string value");
                };
                if let Err(e) = check_regex(pattern) {
                    return Err((
                        Code::InvalidRegex,
                        format!("invalid regular expression: {e}"),
                    ));
                }
                variants = vec![Working::Done(Value::Regex {
                    pattern: pattern.clone(),
                    flags: RegexFlags::default(),
                })];
            }
            Modifier::ReIgnoreCase | Modifier::ReMultiLine | Modifier::ReDotAll => {
                for v in &mut variants {
                    if let Working::Done(Value::Regex { flags, .. }) = v {
                        set_flag(flags, *m);
                    }
                }
            }
            Modifier::Cidr => {
                let RawValue::String(text) = raw else {
                    return illegal(m, "a non-string value");
                };
                match Cidr::parse(text.trim()) {
                    Ok(c) => variants = vec![Working::Done(Value::Cidr(c))],
                    Err(e) => {
                        return Err((Code::InvalidCidr, format!("invalid network `{text}`: {e}")));
                    }
                }
            }
            Modifier::Exists => {
                let RawValue::Bool(b) = raw else {
                    return illegal(m, "anything but `true` or `false`");
                };
                variants = vec![Working::Done(Value::Exists(*b))];
            }
            Modifier::Compare(op) => {
                let n = match raw {
                    RawValue::Number(n) => n.clone(),
                    RawValue::String(s) => match s.trim().parse::<i64>() {
                        Ok(i) => Number::int(i),
                        Err(_) => return illegal(m, &format!("the non-numeric value `{s}`")),
                    },
                    _ => return illegal(m, "a non-numeric value"),
                };
                variants = vec![Working::Done(Value::Compare(*op, n))];
            }
            Modifier::FieldRef => {
                let RawValue::String(name) = raw else {
                    return illegal(m, "a non-string value");
                };
                variants = vec![Working::Done(Value::FieldRef(name.clone()))];
            }
            Modifier::Time(part) => {
                let n = match raw {
                    RawValue::Number(n) => n.clone(),
                    _ => return illegal(m, "a non-numeric value"),
                };
                if let (Some((lo, hi)), Some(i)) = (part.range(), n.as_i64()) {
                    if i < lo || i > hi {
                        return Err((
                            Code::InvalidValue,
                            format!("`{}` must be between {lo} and {hi}, not {i}", part.name()),
                        ));
                    }
                }
            }
        }
    }
    let variants = variants
        .into_iter()
        .map(|v| match v {
            Working::Str(s) => Value::String(s),
            // Encoded bytes not followed by base64: shown as the text they decode to.
            Working::Bytes(b) => Value::String(SigmaString::literal(&String::from_utf8_lossy(&b))),
            Working::Done(v) => v,
        })
        .collect();
    Ok(ValueGroup {
        original: raw.clone(),
        variants,
        expanded,
    })
}

fn set_flag(flags: &mut RegexFlags, m: Modifier) {
    match m {
        Modifier::ReIgnoreCase => flags.ignore_case = true,
        Modifier::ReMultiLine => flags.multi_line = true,
        _ => flags.dot_all = true,
    }
}

/// Validates a regular expression. Sigma's flavour is a PCRE subset; constructs the Rust
/// engine lacks but PCRE has (look-around, backreferences) are accepted. Only the syntax is
/// checked: compiling every rule's regexes would cost more than parsing the rest of the rule.
fn check_regex(pattern: &str) -> Result<(), String> {
    use regex_syntax::ast::ErrorKind;
    match regex_syntax::Parser::new().parse(pattern) {
        Ok(_) => Ok(()),
        Err(regex_syntax::Error::Parse(e))
            if matches!(
                e.kind(),
                ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference
            ) =>
        {
            Ok(())
        }
        Err(regex_syntax::Error::Parse(e)) => Err(e.kind().to_string()),
        Err(regex_syntax::Error::Translate(e)) => Err(e.kind().to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::value::Piece;

    fn lower(raw: &str, chain: &str) -> Result<ValueGroup, (Code, String)> {
        let modifiers: Vec<Modifier> = chain
            .split('|')
            .filter(|s| !s.is_empty())
            .map(|m| Modifier::parse(m).unwrap())
            .collect();
        lower_value(
            &RawValue::String(raw.into()),
            &modifiers,
            &LowerOptions::default(),
        )
    }

    #[test]
    fn position_modifiers_add_wildcards_once() {
        let g = lower("*abc", "contains").unwrap();
        assert_eq!(g.variants, vec![Value::String(SigmaString::parse("*abc*"))]);
        let g = lower("abc", "endswith").unwrap();
        assert_eq!(g.variants, vec![Value::String(SigmaString::parse("*abc"))]);
    }

    #[test]
    fn encodings_chain() {
        let g = lower("::FromBase64String", "base64offset|contains").unwrap();
        assert_eq!(g.variants.len(), 3);
        assert!(g.expanded);
        assert_eq!(
            g.variants[0],
            Value::String(SigmaString::from_pieces([
                Piece::AnyString,
                Piece::Text("OjpGcm9tQmFzZTY0U3RyaW5n".into()),
                Piece::AnyString
            ]))
        );
        let g = lower("cmd", "wide|base64").unwrap();
        assert_eq!(
            g.variants,
            vec![Value::String(SigmaString::literal("YwBtAGQA"))]
        );
        assert!(lower("a*b", "base64").is_err());
    }

    #[test]
    fn typed_modifiers() {
        assert!(matches!(
            lower("10.0.0.0/8", "cidr").unwrap().variants[0],
            Value::Cidr(_)
        ));
        assert_eq!(lower("10.0.0/8", "cidr").unwrap_err().0, Code::InvalidCidr);
        assert_eq!(lower("a(b", "re").unwrap_err().0, Code::InvalidRegex);
        assert!(lower("(?<=a)b", "re").is_ok());
        let g = lower("^a$", "re|i|s").unwrap();
        assert_eq!(
            g.variants[0],
            Value::Regex {
                pattern: "^a$".into(),
                flags: RegexFlags {
                    ignore_case: true,
                    multi_line: false,
                    dot_all: true
                }
            }
        );
        assert_eq!(
            lower("yes", "exists").unwrap_err().0,
            Code::IllegalModifierChain
        );
    }

    #[test]
    fn expansions_are_bounded() {
        assert_eq!(
            lower(" -a -b -c -d -e", "windash").unwrap_err().0,
            Code::InvalidValue
        );
        assert_eq!(
            lower(" -a -b -c -d", "windash").unwrap().variants.len(),
            625
        );
        let values: Vec<RawValue> = (0..200)
            .map(|i| RawValue::String(format!(" -a -b -c -d {i}")))
            .collect();
        let mut problems = Vec::new();
        let mut budget = PatternBudget::new(100_000);
        let item = lower_item(
            Some("CommandLine".into()),
            vec![Modifier::Windash],
            values,
            true,
            &NodePath::root(0),
            &mut problems,
            &mut budget,
        );
        assert!(item.is_none());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].code, Code::InvalidValue);
    }
}
