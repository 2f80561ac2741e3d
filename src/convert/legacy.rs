//! The engine of the legacy sigmac family (`es-qs`, `graylog`, `xpack-watcher`): Lucene
//! query-string rendering that reproduces sigmatools 0.23.1 without a configuration, byte for
//! byte, and goes beyond it where it failed or was wrong.
//!
//! sigmac did not render the condition as written: it built its own tree and ran an optimizer
//! over it, and its output shape follows from that. This module rebuilds the same tree from
//! the shared IR and applies the same steps:
//!
//! 1. **Tree.** Every search identifier referenced by the condition becomes a *group* (a pair of
//!    parentheses) around its body: a map is an AND of its items, a list an OR of its elements
//!    (or an AND under `all of x`), a keyword list an OR of bare values. A field item is a
//!    *term* `(field, value)`; a list of plain values stays one term with a list value; `|all`
//!    is an AND of terms; values an expanding modifier produced (`base64offset`, `windash`)
//!    are an OR of terms. `a and b and c` is left-nested binary (`((a AND b) AND c)`).
//! 2. **Optimizer**, run on every parenthesised group and on the whole condition: groups are
//!    dropped, then repeatedly empty AND/OR nodes are removed, one-child nodes replaced by their
//!    child, duplicate children removed, and a child merged into its parent of the same kind
//!    when every child is of that kind or a term; finally every AND/OR gets a group again.
//!    The optimizer never looks inside a `NOT`, so what is negated keeps its raw shape (a
//!    group per identifier, no flattening).
//! 3. **Rendering.** A group is `( … )`, a `NOT` is `(NOT …)`; a group of bare keywords is
//!    `\*.keyword:(*a* OR *b*)`; a term's field gets `.keyword` when one of its values has an
//!    unescaped wildcard or is a regular expression, and then its values are not quoted;
//!    otherwise values are quoted. A bare keyword is quoted or not depending on the previous
//!    term rendered (sigmac kept that decision in a mutable flag; so do we). Values are
//!    escaped by sigmac's rule (`\` before whitespace and `+ - = ! ( ) { } [ ] ^ " ~ : /`,
//!    `\&&`, `\||`; graylog does not escape `=`); numbers are rendered as quoted strings; `null`
//!    is `NOT _exists_:F`; regular expressions lose their `^`/`$` anchors (Elasticsearch
//!    regular expressions always match the whole value) and are otherwise left as written.
//!
//! Where sigmac failed or printed a query that does not parse, this engine renders what the
//! target can express, in the same style (each deviation from the reference is listed in
//! `tests/parity/deviations.tsv`):
//!
//! - `keywords|all` (sigmac: `(:"a" AND :"b")`, an empty field name): `\*.keyword:(*a* AND
//!   *b*)`, the AND form of sigmac's own keyword lists;
//! - a `/` inside a regular expression ends a Lucene regular expression, so it is escaped
//!   (`\/`); sigmac left it as written and the query did not parse;
//! - several `|re` values, `|windash` on a list, `|base64offset` on a list: an OR of terms
//!   (an AND under `|all`), like sigmac's rendering of one such value;
//! - `|re|i`: the pattern is made case-insensitive by turning each letter `x` into `[xX]`
//!   (Lucene regular expressions have no flags); `|re|s` changes nothing (`.` already matches
//!   any character in Lucene); `|re|m` is refused (without anchors there are no lines);
//! - YAML booleans: `F:"true"`, quoted like numbers;
//! - `|exists`: `_exists_:F` / `NOT _exists_:F`; `|gt` & co: `F:>5`, `F:>=5`, `F:<5`, `F:<=5`;
//! - `|neq`: `(NOT F:"v")`; `|cased`: the `.keyword` sub-field, which Elasticsearch matches
//!   case-sensitively (analysed fields are lowercased);
//! - `|cidr`: an IPv4 network becomes the wildcard prefixes of its addresses on the
//!   `.keyword` sub-field (`10.0.0.0/8` → `10.*`; a prefix that is not on an octet boundary
//!   lists each value of the partial octet, so `172.16.0.0/12` → `172.16.*` … `172.31.*`), which
//!   is exact for the string fields this target assumes everywhere else (sigmac's own
//!   `startswith` IP filters use the same form); an IPv6 network is a quoted CIDR term on the
//!   field itself (`F:"fe80\:\:\/10"`), which Elasticsearch evaluates as a network on fields of
//!   type `ip` — IPv6 text has several spellings of one address, so no string pattern could be
//!   exact;
//! - a rule with several conditions: their OR;
//! - an OR of terms beside other items of the same map (`base64offset`, `windash` and the
//!   lists above) gets its own parentheses, so that under a `NOT` it does not read
//!   `(NOT (a OR b AND c))`.
//!
//! One sigmac flaw is kept because the corpus holds a single rule with it and the parity
//! target leaves no room: under a `NOT`, a list of maps is rendered `(NOT (a AND b OR c AND
//! d))` without inner parentheses, which Lucene's classic query parser (it has no operator
//! precedence) reads as `+a +b +c +d`.

use std::borrow::Cow;

use crate::sigma::detection::SearchIdentifier;
use crate::sigma::encode::WindashStyle;
use crate::sigma::value::{Cidr, CompareOp, Number, RegexFlags};
use crate::sigma::{
    Combine, ConditionExpr, Detection, FieldMatch, Modifier, Piece, Quantifier, RawValue,
    SearchBody, SelectorTarget, SigmaString, Value, ValueGroup,
};

use super::{ConvertError, ConvertInput, Feature, Support};

/// The tokens and quirks that distinguish the members of the legacy family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Between the values of a list (`field:(a OR b)`): ` OR ` (es-qs), ` ` (graylog).
    pub list_separator: &'static str,
    /// Whether `=` is escaped (es-qs yes, graylog no).
    pub escape_equals: bool,
}

/// The dialect of `es-qs` (and of the query inside an X-Pack Watcher).
pub const ES_QS: Dialect = Dialect {
    list_separator: " OR ",
    escape_equals: true,
};

/// The dialect of `graylog`.
pub const GRAYLOG: Dialect = Dialect {
    list_separator: " ",
    escape_equals: false,
};

/// What the legacy family can express of the IR (aggregations and correlations depend on the
/// member; the caller decides those).
pub fn support(feature: Feature) -> Support {
    match feature {
        Feature::FieldRef => Support::No(
            "a Lucene query tests each field against constant values; it cannot compare the values of two fields of the same event",
        ),
        Feature::Placeholder => Support::No(
            "`%name%` stands for a list kept outside the rule (user groups, server names…) and a Lucene query has no variables; replace the placeholders with their values before converting",
        ),
        Feature::QueryExpression => Support::No(
            "sigmac predates pipeline query expressions: they are written for the pySigma targets' languages (lucene, splunk, eql, esql, kusto)",
        ),
        Feature::TimePart => Support::No(
            "a Lucene query cannot extract the hour, day, week, month or year of a date field",
        ),
        Feature::Near => Support::No(
            "`| near` needs events to be correlated over time, which one query cannot do",
        ),
        Feature::Filter => {
            Support::No("a filter rule is applied to the rules it names, not converted on its own")
        }
        Feature::Aggregation => Support::No(
            "a query string selects events; it cannot count or aggregate them (the X-Pack Watcher target can)",
        ),
        Feature::Correlation => Support::No(
            "a correlation counts or orders events of other rules, which a query string cannot do (the X-Pack Watcher target can for event and value counts)",
        ),
        _ => Support::Yes,
    }
}

/// The queries of a rule document: one per condition, as sigmac prints them (without the
/// trailing newline).
pub fn rule_queries(
    dialect: &Dialect,
    input: &ConvertInput<'_>,
    detection: &Detection,
) -> Result<Vec<String>, ConvertError> {
    let mut queries = Vec::with_capacity(detection.conditions.len());
    for condition in &detection.conditions {
        let depth = tree_depth(&condition.expr);
        if depth > MAX_TREE_DEPTH {
            return Err(input.error(
                "condition",
                &condition.path,
                format!(
                    "the condition chains too many `and`/`or` operands ({depth} levels in sigmac's tree, at most {MAX_TREE_DEPTH}); split it into smaller groups such as `1 of selection_*`"
                ),
            ));
        }
        let builder = Builder { detection, input };
        let tree = builder.condition(&condition.expr)?;
        let tree = optimize_group(tree);
        let mut renderer = Renderer::new(dialect);
        renderer.node(&tree);
        queries.push(renderer.out);
    }
    Ok(queries)
}

/// The deepest tree [`rule_queries`] converts. sigmac's parser nests `a or b or c …` one level
/// per operand, and the builder, optimizer and renderer recurse over that tree, so an
/// absurdly long chain (thousands of operands; the longest in SigmaHQ has 24) would overflow
/// the stack of a rayon worker thread (2 MiB) instead of failing cleanly.
const MAX_TREE_DEPTH: usize = 256;

/// An upper bound of the depth of the sigmac tree of `expr`: an `and`/`or` chain of `n`
/// operands is `n` levels deep above its deepest operand. The recursion itself is bounded by
/// the condition parser's nesting limit.
fn tree_depth(expr: &ConditionExpr) -> usize {
    match expr {
        ConditionExpr::Identifier(_) | ConditionExpr::Selector(_) => 1,
        ConditionExpr::Not(inner) => 1 + tree_depth(inner),
        ConditionExpr::And(items) | ConditionExpr::Or(items) => {
            items.len() + items.iter().map(tree_depth).max().unwrap_or(0)
        }
    }
}

/// The one query of a rule document: the condition's query, or the OR of the queries of
/// several conditions (sigmac refused rules with several conditions).
pub fn rule_query(
    dialect: &Dialect,
    input: &ConvertInput<'_>,
    detection: &Detection,
) -> Result<String, ConvertError> {
    let mut queries = rule_queries(dialect, input, detection)?;
    if queries.len() == 1 {
        return Ok(queries.pop().unwrap_or_default());
    }
    Ok(join_alternatives(&queries))
}

/// The error for a correlation or filter document given to a target that renders detection
/// rules only (normally refused earlier through [`support`]).
pub fn not_a_detection_rule(target: &str, input: &ConvertInput<'_>) -> ConvertError {
    ConvertError {
        construct: input.document.kind.kind_name().to_string(),
        line: None,
        message: format!("{target} converts detection rules only"),
    }
}

/// `(a) OR (b)`: the OR of whole queries, each parenthesised unless it already is one group.
pub fn join_alternatives(queries: &[String]) -> String {
    if let [one] = queries {
        return one.clone();
    }
    let mut out = String::new();
    for (i, q) in queries.iter().enumerate() {
        if i > 0 {
            out.push_str(" OR ");
        }
        if is_one_group(q) {
            out.push_str(q);
        } else {
            out.push('(');
            out.push_str(q);
            out.push(')');
        }
    }
    out
}

/// Whether `q` is `( … )` with the first parenthesis closing at the end.
fn is_one_group(q: &str) -> bool {
    if !q.starts_with('(') || !q.ends_with(')') {
        return false;
    }
    let mut depth = 0usize;
    let mut escaped = false;
    let mut quoted = false;
    let mut regex = false;
    for (i, c) in q.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if !regex => quoted = !quoted,
            '/' if !quoted => regex = !regex,
            '(' if !quoted && !regex => depth += 1,
            ')' if !quoted && !regex => {
                depth = depth.saturating_sub(1);
                if depth == 0 && i + 1 < q.len() {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

// ---------------------------------------------------------------------------------------------
// The tree.

/// A value of a term.
#[derive(Debug, Clone)]
enum Scalar<'a> {
    /// A string pattern from the IR.
    Str(Cow<'a, SigmaString>),
    /// A string in sigmac's own form: the rule's text with Sigma's escapes unresolved and the
    /// position modifiers applied the way sigmac applied them. sigmac's output for plain and
    /// `contains`/`startswith`/`endswith` values follows from that text (including its quirks:
    /// a value ending in a backslash gets `\*` appended, a value ending in `\*` is taken to end
    /// with a wildcard), so rendering from it reproduces sigmac exactly.
    Raw(Cow<'a, str>),
    Num(&'a Number),
    Bool(bool),
}

impl PartialEq for Scalar<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Scalar::Str(a), Scalar::Str(b)) => a == b,
            (Scalar::Raw(a), Scalar::Raw(b)) => a == b,
            (Scalar::Num(a), Scalar::Num(b)) => a.text == b.text,
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// The value side of a term.
#[derive(Debug, Clone)]
enum TermValue<'a> {
    One(Scalar<'a>),
    List(Vec<Scalar<'a>>),
    Regex { pattern: &'a str, flags: RegexFlags },
    Null,
    Exists(bool),
    Compare(CompareOp, &'a Number),
}

impl PartialEq for TermValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (TermValue::One(a), TermValue::One(b)) => a == b,
            (TermValue::List(a), TermValue::List(b)) => a == b,
            // sigmac compared its regular-expression objects by identity: never equal.
            (TermValue::Regex { .. }, TermValue::Regex { .. }) => false,
            (TermValue::Null, TermValue::Null) => true,
            (TermValue::Exists(a), TermValue::Exists(b)) => a == b,
            (TermValue::Compare(o, a), TermValue::Compare(p, b)) => o == p && a.text == b.text,
            _ => false,
        }
    }
}

/// `field:value`.
#[derive(Debug, Clone, PartialEq)]
struct Term<'a> {
    field: &'a str,
    value: TermValue<'a>,
    /// Use the `.keyword` sub-field whatever the value (`|cased`, `|cidr`).
    keyword: bool,
}

/// A node of sigmac's condition tree.
#[derive(Debug, Clone)]
enum Node<'a> {
    And(Vec<Node<'a>>),
    Or(Vec<Node<'a>>),
    Not(Box<Node<'a>>),
    /// A parenthesised subexpression.
    Group(Box<Node<'a>>),
    Term(Term<'a>),
    /// A bare (field-less) value.
    Keyword(Scalar<'a>),
    /// Keywords that must all (or any) occur, rendered `\*.keyword:(*a* AND *b*)`; the
    /// optimizer treats it as a leaf.
    Keywords {
        all: bool,
        values: Vec<Scalar<'a>>,
    },
}

impl Node<'_> {
    /// sigmac's equality for duplicate removal: terms and bare values by value, every other
    /// node by identity (never equal to another).
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Node::Term(a), Node::Term(b)) => a == b,
            (Node::Keyword(a), Node::Keyword(b)) => a == b,
            _ => false,
        }
    }
}

struct Builder<'a, 'i> {
    detection: &'a Detection,
    input: &'i ConvertInput<'i>,
}

impl<'a> Builder<'a, '_> {
    fn identifier(&self, name: &str) -> Result<&'a SearchIdentifier, ConvertError> {
        self.detection.identifier(name).ok_or_else(|| ConvertError {
            construct: name.to_string(),
            line: None,
            message: format!("the condition names `{name}`, which the detection does not define"),
        })
    }

    /// The raw (unoptimized) tree of a condition expression, the way sigmac's parser built it.
    fn condition(&self, expr: &'a ConditionExpr) -> Result<Node<'a>, ConvertError> {
        Ok(match expr {
            ConditionExpr::Identifier(name) => {
                Node::Group(Box::new(self.body(&self.identifier(name)?.body, None)?))
            }
            ConditionExpr::Selector(selector) => {
                let combine = match selector.quantifier {
                    Quantifier::One => Combine::Any,
                    Quantifier::All => Combine::All,
                };
                let names: Vec<&str> = match &selector.target {
                    SelectorTarget::Them => {
                        selector.identifiers.iter().map(String::as_str).collect()
                    }
                    SelectorTarget::Pattern(p) if p.find('*').is_some_and(|i| i > 0) => {
                        selector.identifiers.iter().map(String::as_str).collect()
                    }
                    SelectorTarget::Pattern(p) => {
                        // `1 of name`: the identifier's own list takes the quantifier.
                        let body = &self.identifier(p)?.body;
                        return Ok(Node::Group(Box::new(self.body(body, Some(combine))?)));
                    }
                };
                let mut items = Vec::with_capacity(names.len());
                for name in names {
                    items.push(Node::Group(Box::new(
                        self.body(&self.identifier(name)?.body, None)?,
                    )));
                }
                Node::Group(Box::new(combined(combine, items)))
            }
            ConditionExpr::Not(inner) => {
                let inner = match inner.as_ref() {
                    e @ (ConditionExpr::Identifier(_) | ConditionExpr::Selector(_)) => {
                        self.condition(e)?
                    }
                    // `not (…)`: a parenthesised group, optimized on its own.
                    e => Node::Group(Box::new(optimize_group(self.condition(e)?))),
                };
                Node::Not(Box::new(inner))
            }
            ConditionExpr::And(items) | ConditionExpr::Or(items) => {
                let and = matches!(expr, ConditionExpr::And(_));
                let mut iter = items.iter();
                let Some(first) = iter.next() else {
                    return Ok(Node::And(Vec::new()));
                };
                let mut acc = self.condition(first)?;
                for item in iter {
                    let next = self.condition(item)?;
                    acc = if and {
                        Node::And(vec![acc, next])
                    } else {
                        Node::Or(vec![acc, next])
                    };
                }
                acc
            }
        })
    }

    /// The node of a search identifier's body. `list_combine` is the quantifier of `1 of x` /
    /// `all of x` naming this identifier alone, which applies to a list body.
    fn body(
        &self,
        body: &'a SearchBody,
        list_combine: Option<Combine>,
    ) -> Result<Node<'a>, ConvertError> {
        let combine = list_combine.unwrap_or(Combine::Any);
        Ok(match body {
            SearchBody::AllOf(items) => {
                let mut nodes = Vec::with_capacity(items.len());
                for item in items {
                    let node = self.item(item)?;
                    nodes.push(if items.len() > 1 { grouped(node) } else { node });
                }
                Node::And(nodes)
            }
            SearchBody::Keywords(item) if !item.is_list && item.values.len() == 1 => {
                self.item(item)?
            }
            SearchBody::Keywords(item) => combined(combine, self.keyword_values(item)?),
            SearchBody::All(parts) => {
                let mut nodes = Vec::with_capacity(parts.len());
                for part in parts {
                    let node = self.body(part, None)?;
                    nodes.push(if parts.len() > 1 { grouped(node) } else { node });
                }
                Node::And(nodes)
            }
            SearchBody::AnyOf(bodies) => {
                let mut nodes = Vec::new();
                for b in bodies {
                    match b {
                        SearchBody::Keywords(item) => nodes.extend(self.keyword_values(item)?),
                        other => nodes.push(self.body(other, None)?),
                    }
                }
                combined(combine, nodes)
            }
        })
    }

    /// The bare values of a keyword list.
    fn keyword_values(&self, item: &'a FieldMatch) -> Result<Vec<Node<'a>>, ConvertError> {
        Ok(self
            .keyword_scalars(item)?
            .into_iter()
            .map(Node::Keyword)
            .collect())
    }

    /// The values of a field-less item.
    fn keyword_scalars(&self, item: &'a FieldMatch) -> Result<Vec<Scalar<'a>>, ConvertError> {
        let mut out = Vec::with_capacity(item.values.len());
        for group in &item.values {
            for value in &group.variants {
                out.push(match value {
                    Value::String(s) => legacy_raw(group, &item.modifiers)
                        .map(Scalar::Raw)
                        .unwrap_or(Scalar::Str(Cow::Borrowed(s))),
                    Value::Number(n) => Scalar::Num(n),
                    Value::Bool(b) => Scalar::Bool(*b),
                    other => {
                        return Err(self.input.error(
                            item.key_text(),
                            &item.path,
                            format!(
                                "a keyword (field-less) search cannot use a {}; name the field it applies to",
                                other.kind_name()
                            ),
                        ));
                    }
                });
            }
        }
        Ok(out)
    }

    /// The node of one detection item.
    fn item(&self, item: &'a FieldMatch) -> Result<Node<'a>, ConvertError> {
        if item.modifiers.contains(&Modifier::Windash) {
            // sigmac knew only the `-` and `/` forms.
            let legacy = item.with_windash_style(WindashStyle::DashAndSlash);
            return self.item_owned(item, legacy);
        }
        let Some(field) = item.field.as_deref() else {
            return self.keyword_item(item);
        };
        let node = self.field_item(item, field)?;
        Ok(if item.negated {
            Node::Not(Box::new(node))
        } else {
            node
        })
    }

    /// A field-less item inside a map (`'|all': [...]`) or a single keyword.
    fn keyword_item(&self, item: &'a FieldMatch) -> Result<Node<'a>, ConvertError> {
        let mut values = self.keyword_scalars(item)?;
        if values.len() == 1 {
            if let Some(one) = values.pop() {
                return Ok(Node::Keyword(one));
            }
        }
        Ok(Node::Keywords {
            all: item.combine == Combine::All,
            values,
        })
    }

    /// An item whose values were re-expanded in sigmac's `windash` style (always strings).
    fn item_owned(
        &self,
        original: &'a FieldMatch,
        item: FieldMatch,
    ) -> Result<Node<'a>, ConvertError> {
        let groups: Vec<Vec<Scalar<'a>>> = item
            .values
            .into_iter()
            .map(|g| {
                g.variants
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(Scalar::Str(Cow::Owned(s))),
                        other => Err(self.input.error(
                            original.key_text(),
                            &original.path,
                            format!("`windash` cannot apply to a {}", other.kind_name()),
                        )),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let Some(field) = original.field.as_deref() else {
            let values: Vec<Scalar<'a>> = groups.into_iter().flatten().collect();
            return Ok(Node::Keywords { all: false, values });
        };
        let term = |s: Scalar<'a>| {
            Node::Term(Term {
                field,
                value: TermValue::One(s),
                keyword: original.cased,
            })
        };
        let node = if original.combine == Combine::All {
            Node::And(
                groups
                    .into_iter()
                    .map(|g| alternatives(g.into_iter().map(term).collect()))
                    .collect(),
            )
        } else if groups.iter().all(|g| g.len() == 1) && original.is_list {
            Node::Term(Term {
                field,
                value: TermValue::List(groups.into_iter().flatten().collect()),
                keyword: original.cased,
            })
        } else {
            alternatives(groups.into_iter().flatten().map(term).collect())
        };
        Ok(if original.negated {
            Node::Not(Box::new(node))
        } else {
            node
        })
    }

    fn field_item(&self, item: &'a FieldMatch, field: &'a str) -> Result<Node<'a>, ConvertError> {
        let keyword = item.cased;
        let term = |value: TermValue<'a>, keyword: bool| {
            Node::Term(Term {
                field,
                value,
                keyword,
            })
        };
        // Each written value as the nodes of its variants.
        let mut groups: Vec<Vec<Node<'a>>> = Vec::with_capacity(item.values.len());
        let mut plain: Vec<Scalar<'a>> = Vec::with_capacity(item.values.len());
        let mut all_plain = true;
        for group in &item.values {
            let mut nodes = Vec::with_capacity(group.variants.len());
            for value in &group.variants {
                let scalar = match value {
                    Value::String(s) => Some(
                        legacy_raw(group, &item.modifiers)
                            .map(Scalar::Raw)
                            .unwrap_or(Scalar::Str(Cow::Borrowed(s))),
                    ),
                    Value::Number(n) => Some(Scalar::Num(n)),
                    Value::Bool(b) => Some(Scalar::Bool(*b)),
                    _ => None,
                };
                if let Some(s) = scalar {
                    if group.variants.len() == 1 {
                        plain.push(s.clone());
                    } else {
                        all_plain = false;
                    }
                    nodes.push(term(TermValue::One(s), keyword));
                    continue;
                }
                all_plain = false;
                nodes.push(match value {
                    Value::Regex { flags, .. } if flags.multi_line => {
                        return Err(self.input.error(
                            item.key_text(),
                            &item.path,
                            "Elasticsearch regular expressions always match the whole value; there are no lines for `|m` to apply to",
                        ));
                    }
                    Value::Regex { pattern, flags } => term(
                        TermValue::Regex {
                            pattern,
                            flags: *flags,
                        },
                        true,
                    ),
                    Value::Null => term(TermValue::Null, false),
                    Value::Exists(b) => term(TermValue::Exists(*b), false),
                    Value::Compare(op, n) => term(TermValue::Compare(*op, n), false),
                    Value::Cidr(c) => cidr_node(field, std::slice::from_ref(c)),
                    other => {
                        return Err(self.input.error(
                            item.key_text(),
                            &item.path,
                            format!("{} cannot be rendered", other.kind_name()),
                        ));
                    }
                });
            }
            groups.push(nodes);
        }
        if item.combine == Combine::All {
            return Ok(Node::And(groups.into_iter().map(alternatives).collect()));
        }
        if item.is_list && all_plain {
            return Ok(term(TermValue::List(plain), keyword));
        }
        let networks: Vec<&Cidr> = item
            .all_values()
            .filter_map(|v| match v {
                Value::Cidr(c) => Some(c),
                _ => None,
            })
            .collect();
        if networks.len() > 1 {
            // A list of networks: the IPv4 prefixes merge into one list term.
            let networks: Vec<Cidr> = networks.into_iter().cloned().collect();
            return Ok(cidr_node(field, &networks));
        }
        // Several typed values (`|re` lists…) or expanded variants: one alternative each.
        Ok(alternatives(groups.into_iter().flatten().collect()))
    }
}

/// An OR of terms beside other items of a map, in parentheses: sigmac left them out, which
/// under a `NOT` (where its optimizer does not put them back) made `(NOT (a OR b AND c))`,
/// where `AND` takes `b` away from the alternatives.
fn grouped(node: Node<'_>) -> Node<'_> {
    match node {
        Node::Or(_) => Node::Group(Box::new(node)),
        other => other,
    }
}

/// `nodes` joined by the quantifier.
fn combined(combine: Combine, nodes: Vec<Node<'_>>) -> Node<'_> {
    match combine {
        Combine::Any => Node::Or(nodes),
        Combine::All => Node::And(nodes),
    }
}

/// One node, or the OR of several.
fn alternatives(mut nodes: Vec<Node<'_>>) -> Node<'_> {
    match nodes.pop() {
        Some(last) if nodes.is_empty() => last,
        Some(last) => {
            nodes.push(last);
            Node::Or(nodes)
        }
        None => Node::Or(nodes),
    }
}

/// The node of `|cidr` values: the wildcard prefixes of the IPv4 networks as one list term on
/// the `.keyword` sub-field, and a CIDR term (for `ip` fields) per IPv6 network.
fn cidr_node<'a>(field: &'a str, networks: &[Cidr]) -> Node<'a> {
    let mut prefixes: Vec<Scalar<'a>> = Vec::new();
    // `None`: where the IPv4 term goes (the place of the first IPv4 network).
    let mut slots: Vec<Option<Node<'a>>> = Vec::with_capacity(networks.len());
    for cidr in networks {
        match cidr.ipv4_wildcard_prefixes() {
            Some(list) => {
                if prefixes.is_empty() {
                    slots.push(None);
                }
                prefixes.extend(
                    list.iter()
                        .map(|p| Scalar::Str(Cow::Owned(SigmaString::parse(p)))),
                );
            }
            None => slots.push(Some(Node::Term(Term {
                field,
                value: TermValue::One(Scalar::Str(Cow::Owned(SigmaString::literal(&cidr.text)))),
                keyword: false,
            }))),
        }
    }
    let mut ipv4 = Some(prefixes);
    let nodes = slots
        .into_iter()
        .map(|slot| {
            slot.unwrap_or_else(|| {
                let mut values = ipv4.take().unwrap_or_default();
                let value = if values.len() == 1 {
                    TermValue::One(values.remove(0))
                } else {
                    TermValue::List(values)
                };
                Node::Term(Term {
                    field,
                    value,
                    keyword: true,
                })
            })
        })
        .collect();
    alternatives(nodes)
}

// ---------------------------------------------------------------------------------------------
// The optimizer.

/// sigmac's treatment of a parenthesised group: groups removed, the optimizer run to a fixed
/// point, groups put back around every AND/OR.
fn optimize_group(node: Node<'_>) -> Node<'_> {
    let mut tree = Some(strip(node));
    let mut changed = true;
    while changed {
        let Some(node) = tree.take() else { break };
        let (next, c) = optimize(node, false);
        tree = next;
        changed = c;
    }
    match tree {
        Some(t) => unstrip(t),
        None => Node::And(Vec::new()),
    }
}

fn strip(node: Node<'_>) -> Node<'_> {
    match node {
        Node::Group(inner) => strip(*inner),
        Node::And(items) => Node::And(items.into_iter().map(strip).collect()),
        Node::Or(items) => Node::Or(items.into_iter().map(strip).collect()),
        other => other,
    }
}

fn unstrip(node: Node<'_>) -> Node<'_> {
    match node {
        Node::And(items) => Node::Group(Box::new(Node::And(
            items.into_iter().map(unstrip).collect(),
        ))),
        Node::Or(items) => {
            Node::Group(Box::new(Node::Or(items.into_iter().map(unstrip).collect())))
        }
        other => other,
    }
}

/// One pass of sigmac's optimizer over `node`: the new node (`None` when it vanished) and
/// whether anything changed.
fn optimize(node: Node<'_>, changes: bool) -> (Option<Node<'_>>, bool) {
    match node {
        Node::And(items) => optimize_list(items, true, changes),
        Node::Or(items) => optimize_list(items, false, changes),
        Node::Not(inner) => {
            if let Node::Not(inner_inner) = *inner {
                return optimize(*inner_inner, true);
            }
            let (item, c) = optimize(*inner, changes);
            match item {
                Some(item) => (Some(Node::Not(Box::new(item))), c),
                None => (None, true),
            }
        }
        other => (Some(other), changes),
    }
}

fn optimize_list(items: Vec<Node<'_>>, and: bool, changes: bool) -> (Option<Node<'_>>, bool) {
    let rebuild = |items| {
        if and {
            Node::And(items)
        } else {
            Node::Or(items)
        }
    };
    if items.is_empty() {
        return (None, true);
    }
    if items.len() == 1 {
        let mut items = items;
        return optimize(items.pop().unwrap_or(Node::And(Vec::new())), true);
    }
    // Duplicates (sigmac's equality: terms and bare values by value).
    let mut unique: Vec<Node<'_>> = Vec::with_capacity(items.len());
    let mut removed = false;
    for item in items {
        if unique.iter().any(|u| u.same(&item)) {
            removed = true;
        } else {
            unique.push(item);
        }
    }
    if removed {
        return optimize(rebuild(unique), true);
    }
    let items = unique;
    // OR(X, OR(Y)) → OR(X, Y) when every child is of the same kind or a term.
    let same_kind = |n: &Node<'_>| match n {
        Node::And(_) => and,
        Node::Or(_) => !and,
        _ => false,
    };
    if items.iter().any(same_kind)
        && items
            .iter()
            .all(|n| same_kind(n) || matches!(n, Node::Term(_)))
    {
        let mut merged = Vec::with_capacity(items.len() + 4);
        for item in items {
            match item {
                Node::And(inner) | Node::Or(inner) => merged.extend(inner),
                other => merged.push(other),
            }
        }
        return optimize(rebuild(merged), true);
    }
    let mut changed = changes;
    let mut out = Vec::with_capacity(items.len());
    let mut vanished = false;
    for item in items {
        let (node, c) = optimize(item, changes);
        changed |= c;
        match node {
            Some(n) => out.push(n),
            None => vanished = true,
        }
    }
    if vanished {
        // sigmac kept a `None` child for the next pass to remove; the result is the same.
        changed = true;
    }
    (Some(rebuild(out)), changed)
}

// ---------------------------------------------------------------------------------------------
// Rendering.

struct Renderer<'d> {
    dialect: &'d Dialect,
    out: String,
    /// sigmac's `matchKeyword` flag: whether the last term used the `.keyword` sub-field,
    /// which decides whether a following bare value is quoted.
    match_keyword: bool,
}

impl<'d> Renderer<'d> {
    fn new(dialect: &'d Dialect) -> Self {
        Renderer {
            dialect,
            out: String::with_capacity(256),
            match_keyword: true,
        }
    }

    /// Renders `node`; `false` (and nothing written) when it renders to nothing.
    fn node(&mut self, node: &Node<'_>) -> bool {
        match node {
            Node::And(items) => self.join(items, " AND "),
            Node::Or(items) => self.join(items, " OR "),
            Node::Not(inner) => {
                let start = self.out.len();
                self.out.push_str("(NOT ");
                if self.node(inner) {
                    self.out.push(')');
                    true
                } else {
                    self.out.truncate(start);
                    false
                }
            }
            Node::Group(inner) => {
                if let Some((all, values)) = bare_keyword_list(inner) {
                    self.keyword_list(all, false, values.iter().copied());
                    return true;
                }
                let start = self.out.len();
                self.out.push('(');
                if self.node(inner) {
                    self.out.push(')');
                    true
                } else {
                    self.out.truncate(start);
                    false
                }
            }
            Node::Term(term) => {
                self.term(term);
                true
            }
            Node::Keyword(value) => {
                self.value(value);
                true
            }
            Node::Keywords { all, values } => {
                // Ours (sigmac had no working form): numbers are searched as text too.
                self.keyword_list(*all, true, values.iter());
                true
            }
        }
    }

    fn join(&mut self, items: &[Node<'_>], token: &str) -> bool {
        let start = self.out.len();
        let mut any = false;
        for item in items {
            let before = self.out.len();
            if any {
                self.out.push_str(token);
            }
            if self.node(item) {
                any = true;
            } else {
                self.out.truncate(before);
            }
        }
        if !any {
            self.out.truncate(start);
        }
        any
    }

    /// `\*.keyword:(*a* OR *b*)`: values wrapped in `*` and searched in every keyword field
    /// (numbers too when `wrap_numbers`; sigmac left them bare).
    fn keyword_list<'s, 'a: 's>(
        &mut self,
        all: bool,
        wrap_numbers: bool,
        values: impl Iterator<Item = &'s Scalar<'a>>,
    ) {
        self.out.push_str("\\*.keyword:(");
        self.match_keyword = true;
        for (i, value) in values.enumerate() {
            if i > 0 {
                self.out.push_str(if all { " AND " } else { " OR " });
            }
            let escaped = match value {
                Scalar::Str(s) => {
                    let wrapped = s.as_ref().clone().with_leading_any().with_trailing_any();
                    self.escaped(&Scalar::Str(Cow::Owned(wrapped)))
                }
                Scalar::Raw(raw) => {
                    // sigmac wrapped the rule's text, escapes and all.
                    let mut wrapped = String::with_capacity(raw.len() + 2);
                    if !raw.starts_with('*') {
                        wrapped.push('*');
                    }
                    wrapped.push_str(raw);
                    if !raw.ends_with('*') {
                        wrapped.push('*');
                    }
                    self.escaped(&Scalar::Raw(Cow::Owned(wrapped)))
                }
                Scalar::Num(_) if wrap_numbers => format!("*{}*", self.escaped(value)),
                other => self.escaped(other),
            };
            self.emit(&escaped);
        }
        self.out.push(')');
        self.match_keyword = false;
    }

    fn term(&mut self, term: &Term<'_>) {
        let field = term.field;
        match &term.value {
            TermValue::Null | TermValue::Exists(false) => {
                self.match_keyword = term.keyword;
                self.out.push_str("NOT _exists_:");
                self.out.push_str(field);
                return;
            }
            TermValue::Exists(true) => {
                self.match_keyword = term.keyword;
                self.out.push_str("_exists_:");
                self.out.push_str(field);
                return;
            }
            _ => {}
        }
        let escaped: Vec<String> = match &term.value {
            TermValue::One(s) => vec![self.escaped(s)],
            TermValue::List(list) => list.iter().map(|s| self.escaped(s)).collect(),
            _ => Vec::new(),
        };
        let keyword = term.keyword
            || matches!(term.value, TermValue::Regex { .. })
            || escaped.iter().any(|e| legacy_has_wildcard(e));
        self.match_keyword = keyword;
        self.out.push_str(field);
        if keyword {
            self.out.push_str(".keyword");
        }
        self.out.push(':');
        match &term.value {
            TermValue::One(_) | TermValue::List(_) if escaped.len() == 1 => self.emit(&escaped[0]),
            TermValue::One(_) | TermValue::List(_) => {
                self.out.push('(');
                for (i, e) in escaped.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(self.dialect.list_separator);
                    }
                    self.emit(e);
                }
                self.out.push(')');
            }
            TermValue::Regex { pattern, flags } => self.regex(pattern, *flags),
            TermValue::Compare(op, n) => {
                self.out.push_str(op.symbol());
                escape_into(&n.text, self.dialect, &mut self.out);
            }
            TermValue::Null | TermValue::Exists(_) => {}
        }
    }

    /// A bare value (a keyword outside a keyword list).
    fn value(&mut self, value: &Scalar<'_>) {
        let escaped = self.escaped(value);
        self.emit(&escaped);
    }

    /// A value escaped for the query string.
    fn escaped(&self, value: &Scalar<'_>) -> String {
        let mut out = String::new();
        match value {
            Scalar::Str(s) => {
                for piece in s.pieces() {
                    match piece {
                        Piece::Text(t) => escape_into(t, self.dialect, &mut out),
                        Piece::AnyString => out.push('*'),
                        Piece::AnyChar => out.push('?'),
                        Piece::Placeholder(p) => {
                            out.push('%');
                            escape_into(p, self.dialect, &mut out);
                            out.push('%');
                        }
                    }
                }
            }
            Scalar::Raw(raw) => escape_raw(raw, self.dialect, &mut out),
            Scalar::Num(n) => escape_into(&n.text, self.dialect, &mut out),
            Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
        out
    }

    /// sigmac's `generateValueNode` on an escaped value: `""` for the empty string; unquoted
    /// on a `.keyword` term or when it has a wildcard; quoted otherwise.
    fn emit(&mut self, escaped: &str) {
        if escaped.is_empty() {
            self.out.push_str("\"\"");
        } else if self.match_keyword || legacy_has_wildcard(escaped) {
            self.out.push_str(escaped);
        } else {
            // Inside quotes a line break needs no escape; sigmac wrote `\` before it, which
            // Lucene tolerates but stricter parsers (luqum) reject.
            self.out.push('"');
            if escaped.contains(['\n', '\r']) {
                self.out
                    .push_str(&escaped.replace("\\\n", "\n").replace("\\\r", "\r"));
            } else {
                self.out.push_str(escaped);
            }
            self.out.push('"');
        }
    }

    fn regex(&mut self, pattern: &str, flags: RegexFlags) {
        let body = strip_anchors(pattern);
        self.out.push('/');
        if flags.ignore_case {
            let folded = fold_case(&body);
            escape_regex_slashes(&folded, &mut self.out);
        } else {
            escape_regex_slashes(&body, &mut self.out);
        }
        self.out.push('/');
    }
}

/// If `node` is an AND/OR of bare values only, its kind and values.
fn bare_keyword_list<'n, 'a>(node: &'n Node<'a>) -> Option<(bool, Vec<&'n Scalar<'a>>)> {
    let (all, items) = match node {
        Node::And(items) => (true, items),
        Node::Or(items) => (false, items),
        _ => return None,
    };
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Node::Keyword(v @ (Scalar::Str(_) | Scalar::Raw(_) | Scalar::Num(_))) => values.push(v),
            _ => return None,
        }
    }
    Some((all, values))
}

/// sigmac's anchor handling: Elasticsearch regular expressions match the whole value, so
/// `^x$` → `x`, `^x` → `x.*`, `x$` → `.*x`.
fn strip_anchors(pattern: &str) -> Cow<'_, str> {
    let starts = pattern.starts_with('^');
    let ends = pattern.ends_with('$');
    if starts && ends && pattern.len() >= 2 {
        Cow::Borrowed(&pattern[1..pattern.len() - 1])
    } else if starts {
        let rest = &pattern[1..];
        if pattern.ends_with(".*") {
            Cow::Borrowed(rest)
        } else {
            Cow::Owned(format!("{rest}.*"))
        }
    } else if ends {
        let rest = &pattern[..pattern.len() - 1];
        if pattern.starts_with(".*") {
            Cow::Borrowed(rest)
        } else {
            Cow::Owned(format!(".*{rest}"))
        }
    } else {
        Cow::Borrowed(pattern)
    }
}

/// Copies a regular expression, escaping each unescaped `/` (which would end it).
fn escape_regex_slashes(pattern: &str, out: &mut String) {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '/' => out.push_str("\\/"),
            c => out.push(c),
        }
    }
}

/// A case-insensitive form of a regular expression for engines without flags: each letter
/// outside a character class becomes `[xX]`; a class gets the other case of its letters and
/// letter ranges. Escapes are left alone.
pub fn fold_case(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 2);
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                out.push(c);
                if let Some(&n) = chars.get(i + 1) {
                    out.push(n);
                }
                i += 2;
            }
            '[' => {
                // Find the end of the class.
                let mut j = i + 1;
                if chars.get(j) == Some(&'^') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                let end = j.min(chars.len());
                let class: String = chars[i..end].iter().collect();
                out.push_str(&class);
                let mut extra = String::new();
                let add = |c: char, extra: &mut String| {
                    if !class.contains(c) && !extra.contains(c) {
                        extra.push(c);
                    }
                };
                let mut k = i + 1;
                while k < end {
                    let a = chars[k];
                    if a == '\\' {
                        k += 2;
                        continue;
                    }
                    if chars.get(k + 1) == Some(&'-') && k + 2 < end {
                        let b = chars[k + 2];
                        let range = format!("{}-{}", swap_case(a), swap_case(b));
                        if a.is_ascii_alphabetic()
                            && b.is_ascii_alphabetic()
                            && a.is_ascii_lowercase() == b.is_ascii_lowercase()
                            && !class.contains(&range)
                        {
                            extra.push_str(&range);
                        }
                        k += 3;
                        continue;
                    }
                    if a.is_alphabetic() && swap_case(a) != a {
                        add(swap_case(a), &mut extra);
                    }
                    k += 1;
                }
                out.push_str(&extra);
                if end < chars.len() {
                    out.push(']');
                }
                i = end + 1;
            }
            '{' => {
                // A repetition count: copied as is.
                let close = chars[i..].iter().position(|&c| c == '}');
                match close {
                    Some(len) => {
                        out.extend(&chars[i..=i + len]);
                        i += len + 1;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            c if c.is_alphabetic() && swap_case(c) != c => {
                out.push('[');
                out.push(c);
                out.push(swap_case(c));
                out.push(']');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn swap_case(c: char) -> char {
    if c.is_lowercase() {
        c.to_uppercase().next().unwrap_or(c)
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// The text sigmac worked on for a written string value: the rule's text with the position
/// modifiers applied its way, when the modifier chain is one sigmac handled on plain text
/// (none, `contains`, `startswith`, `endswith`, with `all`). `None` for other chains (their
/// values are rendered from the IR).
fn legacy_raw<'a>(group: &'a ValueGroup, modifiers: &[Modifier]) -> Option<Cow<'a, str>> {
    let RawValue::String(raw) = &group.original else {
        return None;
    };
    if group.variants.len() != 1 || !matches!(group.variants.first(), Some(Value::String(_))) {
        return None;
    }
    let mut text = Cow::Borrowed(raw.as_str());
    for m in modifiers {
        match m {
            Modifier::All => {}
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => {
                if *m != Modifier::StartsWith && !text.starts_with('*') {
                    text = Cow::Owned(format!("*{text}"));
                }
                if *m != Modifier::EndsWith && !text.ends_with('*') {
                    let tail = if text.ends_with('\\') { "\\*" } else { "*" };
                    text = Cow::Owned(format!("{text}{tail}"));
                }
            }
            _ => return None,
        }
    }
    Some(text)
}

/// sigmac's test for a wildcard in a value: a `*` or `?` not preceded by a backslash, or
/// preceded by two.
fn legacy_has_wildcard(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        (b == b'*' || b == b'?')
            && (i == 0 || bytes[i - 1] != b'\\' || (i >= 2 && bytes[i - 2] == b'\\'))
    })
}

/// sigmac's escaping of the rule's own text (Sigma escapes unresolved): like [`escape_into`],
/// but a backslash is escaped only when it is neither preceded by a backslash nor followed by
/// `*`, `?` or a backslash (sigmac took those for escapes already), and `\u` after a backslash
/// gets one more (es-qs only).
fn escape_raw(raw: &str, dialect: &Dialect, out: &mut String) {
    let mut chars = raw.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match c {
            '\\' => {
                let after_backslash = previous == Some('\\');
                if !after_backslash && !matches!(next, Some('*' | '?' | '\\')) {
                    out.push_str("\\\\");
                } else if dialect.escape_equals && after_backslash && next == Some('u') {
                    out.push_str("\\\\u");
                    chars.next();
                    previous = Some('u');
                    continue;
                } else {
                    out.push('\\');
                }
            }
            '&' if next == Some('&') => {
                out.push_str("\\&&");
                chars.next();
                previous = Some('&');
                continue;
            }
            '|' if next == Some('|') => {
                out.push_str("\\||");
                chars.next();
                previous = Some('|');
                continue;
            }
            '=' if !dialect.escape_equals => out.push('='),
            '+' | '-' | '=' | '!' | '(' | ')' | '{' | '}' | '[' | ']' | '^' | '"' | '~' | ':'
            | '/' => push_escaped_after_run(c, out),
            c if is_python_space(c) => push_escaped_after_run(c, out),
            c => out.push(c),
        }
        previous = Some(c);
    }
}

/// Pushes `\\c`. sigmac kept a backslash run before a special character as the rule wrote
/// it, so an odd run (three backslashes before a quote) left the character's own escape undone and the query broken
/// (an unterminated quote); one more backslash keeps the run literal and the escape whole.
fn push_escaped_after_run(c: char, out: &mut String) {
    let run = out.bytes().rev().take_while(|&b| b == b'\\').count();
    if run % 2 == 1 {
        out.push('\\');
    }
    out.push('\\');
    out.push(c);
}

/// sigmac's escaping of a literal text for the Lucene query string: `\` before whitespace and
/// `+ - = ! ( ) { } [ ] ^ " ~ : /` (graylog: not `=`), `\&&`, `\||`; a literal backslash, `*`
/// or `?` is escaped too (sigmac saw them as `\\`, `\*`, `\?` in the rule and kept them).
pub fn escape_into(text: &str, dialect: &Dialect, out: &mut String) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '*' => out.push_str("\\*"),
            '?' => out.push_str("\\?"),
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                out.push_str("\\&&");
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                out.push_str("\\||");
            }
            '=' if !dialect.escape_equals => out.push('='),
            '+' | '-' | '=' | '!' | '(' | ')' | '{' | '}' | '[' | ']' | '^' | '"' | '~' | ':'
            | '/' => {
                out.push('\\');
                out.push(c);
            }
            c if is_python_space(c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
}

/// Python's `\s` for text: Unicode white space plus the information separators U+001C–U+001F.
fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(text: &str, dialect: &Dialect) -> String {
        let mut out = String::new();
        escape_into(text, dialect, &mut out);
        out
    }

    #[test]
    fn escaping_follows_sigmac() {
        assert_eq!(
            esc("a+b-c=d!e(f)g{h}i[j]k^l~m:n/o|p", &ES_QS),
            r"a\+b\-c\=d\!e\(f\)g\{h\}i\[j\]k\^l\~m\:n\/o|p"
        );
        assert_eq!(esc("c=d", &GRAYLOG), "c=d");
        assert_eq!(esc("x && y || z", &ES_QS), r"x\ \&&\ y\ \||\ z");
        assert_eq!(esc("&&&", &ES_QS), r"\&&&");
        assert_eq!(esc("tab\there", &ES_QS), "tab\\\there");
        assert_eq!(esc(r"C:\Windows", &ES_QS), r"C\:\\Windows");
        assert_eq!(esc("lit*star?", &ES_QS), r"lit\*star\?");
        assert_eq!(esc("<b> # % $ @ .", &ES_QS), r"<b>\ #\ %\ $\ @\ .");
    }

    #[test]
    fn raw_escaping_keeps_sigma_escapes() {
        let raw = |text: &str, dialect: &Dialect| {
            let mut out = String::new();
            escape_raw(text, dialect, &mut out);
            out
        };
        // A lone backslash doubles; `\\`, `\*` stay as the rule wrote them.
        assert_eq!(raw(r"\PSEXESVC", &ES_QS), r"\\PSEXESVC");
        assert_eq!(raw(r"\\PSEXESVC", &ES_QS), r"\\PSEXESVC");
        assert_eq!(raw(r"\\\\\*\\IPC$", &ES_QS), r"\\\\\*\\IPC$");
        assert_eq!(raw(r"lit\*star", &ES_QS), r"lit\*star");
        // An odd backslash run before an escaped character stays literal (sigmac broke here).
        assert_eq!(raw(r#"\\\""#, &ES_QS), r#"\\\\\""#);
        assert_eq!(raw(r#"\\""#, &ES_QS), r#"\\\""#);
        // `\u` after a backslash gets one more in es-qs only.
        assert_eq!(raw(r"a\\u b", &ES_QS), r"a\\\u\ b");
        assert_eq!(raw(r"a\\u", &GRAYLOG), r"a\\u");
        assert_eq!(raw("x && y || z=1", &GRAYLOG), r"x\ \&&\ y\ \||\ z=1");
    }

    #[test]
    fn sigmac_wildcard_test() {
        assert!(legacy_has_wildcard("a*"));
        assert!(!legacy_has_wildcard(r"a\*"));
        assert!(legacy_has_wildcard(r"a\\*"));
        assert!(legacy_has_wildcard("?"));
        assert!(!legacy_has_wildcard("plain"));
    }

    #[test]
    fn anchors_are_stripped() {
        assert_eq!(strip_anchors("^a$"), "a");
        assert_eq!(strip_anchors("^a"), "a.*");
        assert_eq!(strip_anchors("^a.*"), "a.*");
        assert_eq!(strip_anchors("a$"), ".*a");
        assert_eq!(strip_anchors(".*a$"), ".*a");
        assert_eq!(strip_anchors("a"), "a");
        assert_eq!(strip_anchors(""), "");
        assert_eq!(strip_anchors("^"), ".*");
    }

    #[test]
    fn slashes_in_regexes_are_escaped_once() {
        let mut out = String::new();
        escape_regex_slashes(r"a/b\/c[^/]", &mut out);
        assert_eq!(out, r"a\/b\/c[^\/]");
    }

    #[test]
    fn case_folding_covers_letters_classes_and_ranges() {
        assert_eq!(fold_case("ab"), "[aA][bB]");
        assert_eq!(fold_case(r"\d+x"), r"\d+[xX]");
        assert_eq!(fold_case("[a-f0-9]"), "[a-f0-9A-F]");
        assert_eq!(fold_case("[^q]"), "[^qQ]");
        assert_eq!(fold_case("[Cc]"), "[Cc]");
        assert_eq!(fold_case("[a-zA-Z]"), "[a-zA-Z]");
        assert_eq!(fold_case("a{2,3}"), "[aA]{2,3}");
        assert_eq!(fold_case("1.2"), "1.2");
    }

    #[test]
    fn one_group_detection() {
        assert!(is_one_group("(a AND b)"));
        assert!(!is_one_group("(a) AND (b)"));
        assert!(is_one_group(r"(a:\(x AND b:/\)/)"));
        assert!(!is_one_group("a"));
    }

    fn tree_text(node: &Node<'_>) -> String {
        match node {
            Node::And(items) => format!(
                "AND[{}]",
                items.iter().map(tree_text).collect::<Vec<_>>().join(",")
            ),
            Node::Or(items) => format!(
                "OR[{}]",
                items.iter().map(tree_text).collect::<Vec<_>>().join(",")
            ),
            Node::Not(inner) => format!("NOT({})", tree_text(inner)),
            Node::Group(inner) => format!("G({})", tree_text(inner)),
            Node::Term(t) => t.field.to_string(),
            Node::Keyword(_) => "kw".into(),
            Node::Keywords { .. } => "kws".into(),
        }
    }

    fn term(field: &str) -> Node<'_> {
        Node::Term(Term {
            field,
            value: TermValue::Null,
            keyword: false,
        })
    }

    #[test]
    fn optimizer_flattens_only_same_kind_and_terms() {
        // ((a AND b) AND NOT c): the NOT keeps the outer AND from absorbing the inner one.
        let tree = Node::And(vec![
            Node::And(vec![term("a"), term("b")]),
            Node::Not(Box::new(term("c"))),
        ]);
        assert_eq!(
            tree_text(&optimize_group(tree)),
            "G(AND[G(AND[a,b]),NOT(c)])"
        );
        let tree = Node::And(vec![
            Node::Group(Box::new(Node::And(vec![term("a")]))),
            Node::And(vec![term("b"), Node::And(vec![term("c"), term("d")])]),
        ]);
        assert_eq!(tree_text(&optimize_group(tree)), "G(AND[a,b,c,d])");
        // Duplicate terms vanish, one-child nodes collapse.
        let tree = Node::Or(vec![term("a"), term("a")]);
        assert_eq!(tree_text(&optimize_group(tree)), "a");
    }
}
