//! `esql`: Elasticsearch ES|QL as `sigma convert -t esql --without-pipeline` (pySigma-
//! backend-elasticsearch 2.1.1) prints it: `from * metadata _id, _index, _version | where …`
//! with `==`, `in (…)` for plain lists, `starts_with()`/`ends_with()`, `like` for other
//! wildcards, `rlike`, `cidr_match()`, `is null`; precedence-based parentheses only.
//!
//! Beyond the reference: keyword (field-less) searches, which it refuses, become `qstr()`
//! full-text queries over every field (the query string the `lucene` target writes for them).

use crate::sigma::SigmaString;
use crate::sigma::condition::{AggregateFunction, AggregateOp};
use crate::sigma::diagnostic::NodePath;
use crate::sigma::rule::{CorrelationRule, CorrelationType};
use crate::sigma::value::{Cidr, CompareOp, Number, RegexFlags};

use super::text::{
    self, Cond, Cx, Dialect, Match, Op, Out, PipeAggregation, Res, State, StrForms, StrStyle,
    Tokens, correlation, is_dotted_word, network_text,
};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};

/// The `esql` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Esql;

const TOKENS: Tokens = Tokens {
    precedence: [Op::Not, Op::And, Op::Or],
    parenthesize: false,
    separator: " ",
    or: "or",
    and: "and",
    not: "not",
    eq: "==",
    string: StrStyle {
        quote: "\"",
        escape: "\\",
        wildcard_multi: "*",
        wildcard_single: "?",
        add_escaped: "\\",
    },
    or_as_in: true,
    and_as_in: false,
    in_allows_wildcards: false,
    or_in_op: "in",
    and_in_op: "",
    list_separator: ", ",
    re_escape: &["\""],
    re_escape_escape: true,
};

const FORMS: StrForms = StrForms {
    startswith: Some("starts_with({field}, {value})"),
    endswith: Some("ends_with({field}, {value})"),
    contains: None,
    wildcard: Some("{field} like {value}"),
};

/// An ES|QL string literal of `text` (backslash and quote escaped).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Dialect for Esql {
    fn tokens(&self) -> &Tokens {
        &TOKENS
    }

    fn field(&self, name: &str) -> String {
        if is_dotted_word(name) {
            name.to_string()
        } else {
            format!("`{name}`")
        }
    }

    fn str_forms(&self) -> StrForms {
        FORMS
    }

    /// Strings as the reference writes them (`\\`, `\"`, and `\*`/`\?` for literal
    /// wildcards), with line breaks escaped: ES|QL strings cannot hold them raw.
    fn value_str(&self, s: &SigmaString) -> String {
        let body = text::escape_string(s, &TOKENS.string, TOKENS.string.add_escaped);
        let body = if body.contains(['\n', '\r']) {
            body.replace('\n', "\\n").replace('\r', "\\r")
        } else {
            body
        };
        format!("\"{body}\"")
    }

    /// ES|QL compares strings case-sensitively (`==`, `like`, `starts_with`…), so a `|cased`
    /// value is written like any other.
    fn convert_cased(&self, _cx: &Cx<'_>, field: &str, s: &SigmaString, _m: &Match<'_>) -> Res {
        Ok(Out::Text(self.render_str(field, s, &FORMS)))
    }

    fn convert_null(&self, field: &str) -> String {
        format!("{} is null", self.field(field))
    }

    fn convert_re(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        pattern: &str,
        flags: RegexFlags,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        Ok(Out::Text(format!(
            "{} rlike \"{}\"",
            self.field(field),
            self.value_re(pattern, flags)
        )))
    }

    fn convert_cidr(&self, field: &str, cidr: &Cidr) -> String {
        format!("cidr_match({field}, \"{}\")", network_text(cidr))
    }

    fn convert_exists(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        exists: bool,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        let f = self.field(field);
        Ok(Out::Text(if exists {
            format!("{f} is not null")
        } else {
            format!("{f} is null")
        }))
    }

    fn convert_compare(&self, field: &str, op: CompareOp, n: &Number) -> String {
        format!("{}{}{}", self.field(field), op.symbol(), n.text)
    }

    fn convert_fieldref(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        other: &str,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        Ok(Out::Text(format!(
            "{}=={}",
            self.field(field),
            self.field(other)
        )))
    }

    fn convert_or(&self, cx: &Cx<'_>, args: &[Cond<'_>], st: &mut State) -> Res {
        match keyword_group(args, " OR ") {
            Some(q) => Ok(Out::Text(q)),
            None => self.join(cx, Op::Or, args, TOKENS.or, st),
        }
    }

    fn convert_and(&self, cx: &Cx<'_>, args: &[Cond<'_>], st: &mut State) -> Res {
        match keyword_group(args, " AND ") {
            Some(q) => Ok(Out::Text(q)),
            None => self.join(cx, Op::And, args, TOKENS.and, st),
        }
    }

    /// Field-less keywords: a `qstr()` full-text query over every field, with the query
    /// string the `lucene` target writes for the keyword.
    fn convert_keyword(&self, cx: &Cx<'_>, m: &Match<'_>, _st: &mut State) -> Res {
        match super::lucene::keyword_query(&m.value) {
            Some(query) => Ok(Out::Text(format!("qstr({})", literal(&query)))),
            None => Err(self.keyword_error(cx, m)),
        }
    }

    /// Correlations as the reference writes them: the rules' conditions OR-ed in one `where`
    /// (tagged by `eval event_type=case(…)` for temporal ones), a `date_trunc` time bucket,
    /// `stats … by timebucket, …` and a final `where`; `group-by` aliases become an
    /// `eval alias=case(…)` of each rule's field. Time spans are written `5minutes`.
    fn render_correlation(
        &self,
        cx: &Cx<'_>,
        rule: &CorrelationRule,
    ) -> Result<String, ConvertError> {
        use CorrelationType::*;
        correlation::require(
            cx,
            rule,
            &[EventCount, ValueCount, Temporal, ValueSum, ValueAvg],
            "ES|QL `stats` counts and aggregates per time bucket, but does not order the events of several rules",
        )?;
        let parts = correlation::resolve(self, cx, rule, |_, out, _| {
            Ok(match out {
                Out::Text(t) => t,
                _ => "true".to_string(),
            })
        })?;
        let c = parts.correlation;
        let single = parts.rules.len() == 1;
        let mut lines = Vec::new();
        let search = if let [only] = parts.rules.as_slice() {
            only.query.clone()
        } else {
            parts
                .rules
                .iter()
                .map(|r| format!("({})", r.query))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        lines.push(format!(
            "from * metadata _id, _index, _version | where {search}"
        ));
        if c.kind == Temporal {
            let cases: Vec<String> = parts
                .rules
                .iter()
                .map(|r| format!("{}, {}", r.query, literal(&r.name)))
                .collect();
            lines.push(format!("| eval event_type=case({})", cases.join(", ")));
        }
        for (alias, fields) in parts.alias_columns() {
            let value = if single {
                self.field(fields.first().copied().unwrap_or(alias))
            } else {
                let cases: Vec<String> = parts
                    .rules
                    .iter()
                    .zip(&fields)
                    .map(|(r, f)| format!("{}, {}", r.query, self.field(f)))
                    .collect();
                format!("case({})", cases.join(", "))
            };
            lines.push(format!("| eval {}={value}", self.field(alias)));
        }
        let (name, value) = match c.kind {
            EventCount => ("event_count", "count()".to_string()),
            ValueCount => (
                "value_count",
                format!(
                    "count_distinct({})",
                    self.field(correlation::value_field(cx, c)?)
                ),
            ),
            ValueSum => (
                "value_sum",
                format!("sum({})", self.field(correlation::value_field(cx, c)?)),
            ),
            ValueAvg => (
                "value_avg",
                format!("avg({})", self.field(correlation::value_field(cx, c)?)),
            ),
            _ => ("event_type_count", "count_distinct(event_type)".to_string()),
        };
        let groupby: String = c
            .group_by
            .iter()
            .map(|g| format!(", {}", self.field(g)))
            .collect();
        // The rules' other `fields` are kept as value lists, as pySigma's ES|QL backend does.
        let carried: String = parts
            .carried_fields()
            .iter()
            .map(|f| {
                let f = self.field(f);
                format!(", {f}=values({f})")
            })
            .collect();
        // `5minutes`: pySigma writes the span without a space, which ES|QL reads the same.
        lines.push(format!(
            "| eval timebucket=date_trunc({}{}, @timestamp) | stats {name}={value}{carried} by timebucket{groupby}",
            c.timespan.count,
            time_unit(c.timespan.unit)
        ));
        lines.push(format!("| where {}", parts.threshold_tests(name)));
        let mut text = lines.join("\n");
        text.push('\n');
        Ok(text)
    }

    /// `| count() by group > n` as `| stats` per group (and per `timeframe` bucket), then
    /// `| where`.
    fn aggregate(
        &self,
        _cx: &Cx<'_>,
        query: String,
        a: &PipeAggregation<'_>,
        _at: &NodePath,
    ) -> Result<String, ConvertError> {
        let value = match (a.function, a.field) {
            (AggregateFunction::Count, None) => "count()".to_string(),
            (AggregateFunction::Count, Some(f)) => format!("count_distinct({})", self.field(f)),
            (function, f) => format!("{}({})", function.name(), self.field(f.unwrap_or_default())),
        };
        let mut keys = Vec::new();
        let mut lines = vec![query];
        if let Some(t) = &a.timeframe {
            lines.push(format!(
                "| eval timebucket=date_trunc({}{}, @timestamp)",
                t.count,
                time_unit(t.unit)
            ));
            keys.push("timebucket".to_string());
        }
        if let Some(g) = a.group_by {
            keys.push(self.field(g));
        }
        let by = if keys.is_empty() {
            String::new()
        } else {
            format!(" by {}", keys.join(", "))
        };
        let column = a.column();
        lines.push(format!("| stats {column}={value}{by}"));
        let op = match a.op {
            AggregateOp::Eq => "==",
            other => other.symbol(),
        };
        lines.push(format!("| where {column} {op} {}", a.threshold.text));
        Ok(lines.join("\n"))
    }

    fn finish(&self, cx: &Cx<'_>, query: Out, _st: &mut State) -> Result<String, ConvertError> {
        let q = match query {
            Out::Text(q) => q,
            _ => "true".to_string(),
        };
        let input = cx.input;
        if input
            .rules
            .is_used_by_correlation(input.file, input.document)
        {
            // pySigma prints a rule a correlation uses as the correlation's condition.
            return Ok(q);
        }
        Ok(format!("from * metadata _id, _index, _version | where {q}"))
    }
}

/// The ES|QL name of a Sigma time span unit.
fn time_unit(unit: char) -> &'static str {
    match unit {
        's' => "seconds",
        'm' => "minutes",
        'h' => "hours",
        _ => "days",
    }
}

/// Several keywords of one item (OR-ed, or AND-ed under `|all`) as one `qstr()` query.
fn keyword_group(args: &[Cond<'_>], joiner: &str) -> Option<String> {
    let mut parts = Vec::with_capacity(args.len());
    for arg in args {
        match arg {
            Cond::Match(m) if m.field.is_none() => {
                parts.push(super::lucene::keyword_query(&m.value)?);
            }
            _ => return None,
        }
    }
    Some(format!("qstr({})", literal(&parts.join(joiner))))
}

impl Backend for Esql {
    fn name(&self) -> &'static str {
        "esql"
    }

    fn title(&self) -> &'static str {
        "Elasticsearch ES|QL"
    }

    fn support(&self, feature: Feature) -> Support {
        match feature {
            Feature::TimePart => Support::No(
                "date parts are not converted (ES|QL would need `date_extract()` per part)",
            ),
            Feature::Near => Support::No(
                "`| near` needs events of several searches close in time; write it as a temporal correlation rule",
            ),
            Feature::Placeholder => Support::No(text::PLACEHOLDER_REASON),
            Feature::Filter => Support::No(text::FILTER_REASON),
            _ => Support::Yes,
        }
    }

    fn join_outputs(&self, outputs: Vec<String>) -> String {
        text::join_queries(outputs)
    }

    fn render(&self, input: &ConvertInput<'_>) -> Result<String, ConvertError> {
        text::render(self, self.name(), input)
    }
}
