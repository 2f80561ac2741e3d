//! Correlation rules for the pySigma-family targets: the rules a correlation references are
//! converted with the target's dialect, then each target wraps them in its own aggregation
//! (Splunk `stats`, ES|QL `STATS`, EQL `sequence`, KQL `summarize`).

use crate::sigma::diagnostic::NodePath;
use crate::sigma::rule::{Correlation, CorrelationOp, CorrelationRule, CorrelationType};
use crate::sigma::value::Number;
use crate::sigma::{Document, SigmaKind};

use super::{Cx, Dialect, Out, State, build};
use crate::convert::{Backend, ConvertError, ConvertInput, Support, features};

/// A rule referenced by a correlation, converted.
#[derive(Debug, Clone)]
pub struct RuleQuery {
    /// The rule's `name`, else its `id`, else its title: how events of the rule are tagged.
    pub name: String,
    /// The target's condition expression of the rule.
    pub query: String,
    /// `(alias, field)`: the field of this rule's events each alias of `group-by` stands for.
    pub aliases: Vec<(String, String)>,
    /// The rule's `fields`.
    pub fields: Vec<String>,
}

/// A correlation with its referenced rules converted.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    /// The correlation.
    pub correlation: &'a Correlation,
    /// The referenced rules, in the order listed.
    pub rules: Vec<RuleQuery>,
}

impl Parts<'_> {
    /// The `fields` of the referenced rules that are not `group-by` fields, each once, in
    /// order: what pySigma's aggregating backends carry along (ES|QL's `values()`).
    pub fn carried_fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for field in self.rules.iter().flat_map(|r| &r.fields) {
            if !self.correlation.group_by.contains(field) && !out.contains(&field.as_str()) {
                out.push(field);
            }
        }
        out
    }

    /// The comparisons of the condition; for temporal types without one, "all the rules".
    pub fn conditions(&self) -> Vec<(CorrelationOp, Number)> {
        if self.correlation.condition.is_empty() && self.correlation.kind.is_temporal() {
            return vec![(CorrelationOp::Gte, Number::int(self.rules.len() as i64))];
        }
        self.correlation.condition.clone()
    }

    /// The condition as `name op n` tests joined by `and`, for a query's final `where`.
    pub fn threshold_tests(&self, name: &str) -> String {
        self.conditions()
            .iter()
            .map(|(op, n)| format!("{name} {} {}", op.symbol(), n.text))
            .collect::<Vec<_>>()
            .join(" and ")
    }

    /// Whether any referenced rule maps a `group-by` alias to one of its fields.
    pub fn has_aliases(&self) -> bool {
        self.rules.iter().any(|r| !r.aliases.is_empty())
    }

    /// The `group-by` field of rule `index` for `group` (the aliased field, or `group`).
    pub fn field_of<'b>(&'b self, index: usize, group: &'b str) -> &'b str {
        self.rules
            .get(index)
            .and_then(|r| r.aliases.iter().find(|(a, _)| a == group))
            .map_or(group, |(_, f)| f.as_str())
    }

    /// The aliases used in `group-by`, each with its field per rule.
    pub fn alias_columns(&self) -> Vec<(&str, Vec<&str>)> {
        self.correlation
            .group_by
            .iter()
            .filter(|g| {
                self.rules
                    .iter()
                    .any(|r| r.aliases.iter().any(|(a, _)| a == *g))
            })
            .map(|g| {
                let fields = (0..self.rules.len()).map(|i| self.field_of(i, g)).collect();
                (g.as_str(), fields)
            })
            .collect()
    }
}

/// The error for a correlation construct the target cannot express.
pub fn refuse(cx: &Cx<'_>, what: &str, reason: &str) -> ConvertError {
    cx.input.error(
        "correlation",
        &NodePath::root(cx.input.document.index).key("correlation"),
        format!("{} cannot express {what}: {reason}", cx.target),
    )
}

/// Refuses the correlation types not in `supported`.
pub fn require(
    cx: &Cx<'_>,
    rule: &CorrelationRule,
    supported: &[CorrelationType],
    reason: &str,
) -> Result<(), ConvertError> {
    let kind = rule.correlation.kind;
    if supported.contains(&kind) {
        return Ok(());
    }
    Err(refuse(
        cx,
        &format!("`{}` correlations", kind.name()),
        reason,
    ))
}

/// The field of a value correlation (`condition.field`), refused when several are given.
pub fn value_field<'a>(cx: &Cx<'_>, c: &'a Correlation) -> Result<&'a str, ConvertError> {
    match c.field.as_deref() {
        Some(f) if !f.contains(", ") => Ok(f),
        Some(_) => Err(refuse(
            cx,
            "a value correlation over several fields",
            "one aggregated field is supported",
        )),
        None => Err(refuse(cx, "a value correlation", "it names no `field`")),
    }
}

/// Converts the rules `rule` references with `dialect`. `finish` turns a converted condition
/// into the sub-query the target embeds (its deferred parts included).
pub fn resolve<'c, D, F>(
    dialect: &D,
    cx: &Cx<'_>,
    rule: &'c CorrelationRule,
    finish: F,
) -> Result<Parts<'c>, ConvertError>
where
    D: Dialect + Backend,
    F: Fn(&Cx<'_>, Out, &mut State) -> Result<String, ConvertError>,
{
    if rule.correlation.rules.is_empty() {
        return Err(refuse(cx, "this correlation", "it references no rule"));
    }
    let rules = cx.input.rules;
    let mut out = Vec::with_capacity(rule.correlation.rules.len());
    for reference in &rule.correlation.rules {
        let Some(at) = rules.lookup(&reference.reference) else {
            return Err(cx.input.error(
                "correlation",
                &reference.path,
                format!("no rule has the id or name `{}`", reference.reference),
            ));
        };
        let Some(file) = rules.files.get(at.file) else {
            continue;
        };
        // The rule as its filters tune it: a filtered rule is filtered inside correlations too.
        let tuned = rules.tuned(file, rules.document(at));
        let document: &Document = tuned.as_ref().unwrap_or_else(|| rules.document(at));
        let SigmaKind::Rule(referenced) = &document.kind else {
            return Err(cx.input.error(
                "correlation",
                &reference.path,
                format!(
                    "{} cannot express a correlation of correlations: `{}` is not a detection rule",
                    cx.target, reference.reference
                ),
            ));
        };
        let input = ConvertInput {
            file,
            document,
            rules,
            state: cx.input.state,
        };
        for (feature, path) in features(document) {
            if let Support::No(reason) = dialect.support(feature) {
                return Err(input.error(
                    feature.describe(),
                    &path,
                    format!(
                        "{} cannot express {} (in a rule of correlation `{}`): {reason}",
                        cx.target,
                        feature.describe(),
                        rule.meta.title
                    ),
                ));
            }
        }
        let detection = &referenced.detection;
        let [condition] = detection.conditions.as_slice() else {
            return Err(cx.input.error(
                "correlation",
                &reference.path,
                format!(
                    "`{}` has several conditions; a correlation needs one query per rule",
                    reference.reference
                ),
            ));
        };
        let sub = Cx {
            input: &input,
            target: cx.target,
        };
        let mut st = State::default();
        let converted = match build(detection, &condition.expr) {
            Some(tree) => dialect.convert(&sub, &tree, &mut st)?,
            None => Out::Nothing,
        };
        let query = finish(&sub, converted, &mut st)?;
        let meta = &referenced.meta;
        let name = meta
            .name
            .clone()
            .or_else(|| meta.id.clone())
            .unwrap_or_else(|| meta.title.clone());
        let aliases = rule
            .correlation
            .aliases
            .iter()
            .filter_map(|alias| {
                alias
                    .fields
                    .iter()
                    .find(|(r, _)| {
                        *r == reference.reference
                            || Some(r) == meta.name.as_ref()
                            || Some(r) == meta.id.as_ref()
                    })
                    .map(|(_, field)| (alias.alias.clone(), field.clone()))
            })
            .collect();
        out.push(RuleQuery {
            name,
            query,
            aliases,
            fields: meta.fields.clone(),
        });
    }
    Ok(Parts {
        correlation: &rule.correlation,
        rules: out,
    })
}
