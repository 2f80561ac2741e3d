//! `kusto`: Microsoft Sentinel KQL `where` expressions as `sigma convert -t kusto` prints them
//! (pySigma-backend-kusto 1.0.1); after a pipeline that chose the table (state `query_table`:
//! `microsoft_xdr`, `sentinel_asim`, `azure_monitor`), `Table\n| where <expression>`. `=~` for strings, `==` for numbers,
//! `contains`/`startswith`/`endswith`, `matches regex`, `in~ (…)` and `has_all (…)` lists with
//! the wildcard values OR-ed (AND-ed) after them, `not(…)`, `isnull()`, `ipv4_is_in_range()`.
//!
//! Beyond the reference: field names the reference quoted twice (`''c-uri''`, not KQL) are
//! written `['c-uri']` throughout such a query; literal backslashes before a `*` keep their
//! escape (the reference re-parses the text and turns `\\` into `\`); `|cased` uses the
//! case-sensitive operators (`==`, `contains_cs`…), `|exists` `isnotempty()`/`isempty()`,
//! `|fieldref` compares the two columns, and YAML booleans compare with `==`.
//!
//! Kept as the reference writes them, for parity, although not right in KQL: field names that
//! are not identifiers in single quotes (`'c-uri'` is a string literal; `['c-uri']` names the
//! column), IPv6 networks through `ipv4_is_in_range()` (`ipv6_is_match()` would match them),
//! and keywords as bare string literals (`* contains "…"` would search every column).

use crate::pipeline::kusto::QUERY_TABLE;
use crate::sigma::SigmaString;
use crate::sigma::condition::{AggregateFunction, AggregateOp};
use crate::sigma::diagnostic::NodePath;
use crate::sigma::rule::{CorrelationRule, CorrelationType};
use crate::sigma::value::{Cidr, CompareOp, Number, Piece, RegexFlags};

use super::text::{
    self, Cond, Cx, Dialect, Match, Op, Out, PipeAggregation, Res, State, StrForms, StrStyle,
    Tokens, Val, correlation, is_word, network_text,
};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};

/// The `kusto` target. `brackets` writes every non-identifier field name as `['name']`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kusto {
    brackets: bool,
}

/// The registered `kusto` target.
pub const KUSTO: Kusto = Kusto { brackets: false };

const TOKENS: Tokens = Tokens {
    precedence: [Op::Not, Op::And, Op::Or],
    parenthesize: true,
    separator: " ",
    or: "or",
    and: "and",
    not: "not",
    eq: " =~ ",
    string: StrStyle {
        quote: "\"",
        escape: "\\",
        wildcard_multi: "*",
        wildcard_single: "*",
        add_escaped: "\\",
    },
    or_as_in: true,
    and_as_in: true,
    in_allows_wildcards: true,
    or_in_op: "in~",
    and_in_op: "has_all",
    list_separator: ", ",
    re_escape: &["\""],
    re_escape_escape: true,
};

const FORMS: StrForms = StrForms {
    startswith: Some("{field} startswith {value}"),
    endswith: Some("{field} endswith {value}"),
    contains: Some("{field} contains {value}"),
    wildcard: Some("{field} matches regex \"{regex}\""),
};

const CASED_FORMS: StrForms = StrForms {
    startswith: Some("{field} startswith_cs {value}"),
    endswith: Some("{field} endswith_cs {value}"),
    contains: Some("{field} contains_cs {value}"),
    wildcard: Some("{field} matches regex \"{regex}\""),
};

/// Writes text into a KQL string literal body.
fn push_escaped(out: &mut String, text: &str) {
    // The escaped characters are ASCII, so the text is scanned as bytes and copied in runs.
    let mut run = 0;
    for (i, b) in text.bytes().enumerate() {
        let escaped = match b {
            b'\\' => "\\\\",
            b'"' => "\\\"",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => continue,
        };
        out.push_str(&text[run..i]);
        out.push_str(escaped);
        run = i + 1;
    }
    out.push_str(&text[run..]);
}

/// Whether the characters between the first and the last hold a wildcard (pySigma's
/// `value[1:-1].contains_special()`).
fn inner_wildcard(s: &SigmaString) -> bool {
    let len: usize = s
        .pieces()
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.chars().count(),
            _ => 1,
        })
        .sum();
    let mut at = 0;
    for piece in s.pieces() {
        match piece {
            Piece::Text(t) => at += t.chars().count(),
            _ => {
                if at > 0 && at + 1 < len {
                    return true;
                }
                at += 1;
            }
        }
    }
    false
}

impl Kusto {
    /// Whether the reference would quote a field name twice in this tree (a value with a
    /// leading or trailing wildcard in an in-list of a field that needs quoting), which makes
    /// its query unparseable.
    fn doubles_quotes(&self, cond: &Cond<'_>) -> bool {
        match cond {
            Cond::And(args) | Cond::Or(args) => {
                if self.decide_in(cond) {
                    let quoted = args.iter().any(
                        |a| matches!(a, Cond::Match(m) if m.field.is_some_and(|f| !is_word(f))),
                    );
                    let wildcard = args.iter().any(|a| {
                        matches!(a, Cond::Match(Match { value: Val::Str(s), .. })
                            if s.has_wildcards() && !inner_wildcard(s))
                    });
                    if quoted && wildcard {
                        return true;
                    }
                }
                args.iter().any(|a| self.doubles_quotes(a))
            }
            Cond::Not(arg) => self.doubles_quotes(arg),
            Cond::Match(_) => false,
        }
    }

    fn cased_str(&self, field: &str, s: &SigmaString) -> String {
        if !s.has_wildcards() {
            return format!("{} == {}", self.field(field), self.value_str(s));
        }
        self.render_str(field, s, &CASED_FORMS)
    }
}

impl Dialect for Kusto {
    fn tokens(&self) -> &Tokens {
        &TOKENS
    }

    /// A YAML boolean compares with `==`: `=~` (the reference's choice) is KQL's
    /// case-insensitive *string* equality.
    fn convert_bool(&self, field: &str, b: bool) -> String {
        format!("{} == {b}", self.field(field))
    }

    fn field(&self, name: &str) -> String {
        if is_word(name) {
            name.to_string()
        } else if self.brackets {
            format!("['{}']", name.replace('\\', "\\\\").replace('\'', "\\'"))
        } else {
            format!("'{name}'")
        }
    }

    fn value_str(&self, s: &SigmaString) -> String {
        let mut out = String::from("\"");
        for piece in s.pieces() {
            match piece {
                Piece::Text(t) => push_escaped(&mut out, t),
                Piece::AnyString | Piece::AnyChar => out.push('*'),
                Piece::Placeholder(p) => {
                    out.push('%');
                    out.push_str(p);
                    out.push('%');
                }
            }
        }
        out.push('"');
        out
    }

    fn str_forms(&self) -> StrForms {
        FORMS
    }

    fn convert_not(&self, cx: &Cx<'_>, arg: &Cond<'_>, st: &mut State) -> Res {
        let inner = if arg.op().is_some() {
            self.convert_group(cx, arg, st)?
        } else {
            self.convert(cx, arg, st)?
        };
        Ok(match inner {
            Out::Text(t) => Out::Text(format!("not({t})")),
            other => other,
        })
    }

    fn decide_in(&self, cond: &Cond<'_>) -> bool {
        let args = match cond {
            Cond::Or(a) | Cond::And(a) => a,
            _ => return false,
        };
        let mut field = None;
        args.iter().all(|arg| match arg {
            Cond::Match(Match {
                field: Some(f),
                value: Val::Str(_) | Val::Num(_),
                ..
            }) => *field.get_or_insert(*f) == *f,
            _ => false,
        })
    }

    /// The reference's list form: the plain values in one `in~`/`has_all` list, then each
    /// wildcard value as its own clause (`contains`…, or the `contains` of each literal part
    /// when a wildcard sits inside the value).
    fn convert_in(&self, _cx: &Cx<'_>, cond: &Cond<'_>, _st: &mut State) -> Res {
        let (args, list_op, joiner) = match cond {
            Cond::Or(a) => (a, TOKENS.or_in_op, TOKENS.or),
            Cond::And(a) => (a, TOKENS.and_in_op, TOKENS.and),
            _ => return Ok(Out::Nothing),
        };
        let mut field = "";
        let mut plain = Vec::new();
        let mut clauses = Vec::new();
        for arg in args {
            let Cond::Match(m) = arg else { continue };
            field = m.field.unwrap_or_default();
            match &m.value {
                Val::Num(n) => plain.push(format!("\"{}\"", n.text)),
                Val::Str(s) if !s.has_wildcards() => plain.push(self.value_str(s)),
                Val::Str(s) if inner_wildcard(s) => {
                    let f = self.field(field);
                    let parts: Vec<String> = s
                        .pieces()
                        .iter()
                        .filter_map(|p| match p {
                            Piece::Text(t) => Some(format!(
                                "{f} contains {}",
                                self.value_str(&SigmaString::literal(t))
                            )),
                            _ => None,
                        })
                        .collect();
                    clauses.push(format!("({})", parts.join(" and ")));
                }
                Val::Str(s) => clauses.push(self.render_str(field, s, &FORMS)),
                _ => {}
            }
        }
        let mut out = String::new();
        if !plain.is_empty() {
            out = format!("{} {list_op} ({})", self.field(field), plain.join(", "));
        }
        for clause in clauses {
            if !out.is_empty() {
                out.push_str(&format!(" {joiner} "));
            }
            out.push_str(&clause);
        }
        Ok(Out::Text(out))
    }

    fn convert_cased(&self, _cx: &Cx<'_>, field: &str, s: &SigmaString, _m: &Match<'_>) -> Res {
        Ok(Out::Text(self.cased_str(field, s)))
    }

    fn convert_num(&self, field: &str, n: &Number) -> String {
        format!("{} == {}", self.field(field), n.text)
    }

    fn convert_null(&self, field: &str) -> String {
        format!("isnull({})", self.field(field))
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
            "{} matches regex \"{}\"",
            self.field(field),
            self.value_re(pattern, flags)
        )))
    }

    fn value_re(&self, pattern: &str, flags: RegexFlags) -> String {
        let mut out = String::new();
        if !flags.is_empty() {
            out.push_str("(?");
            out.push_str(&flags.letters());
            out.push(')');
        }
        push_escaped(&mut out, pattern);
        out
    }

    /// `ipv4_is_in_range()`, also for IPv6 networks as the reference writes them (where
    /// `ipv6_is_match()` would be right: kept for parity, see the module notes).
    fn convert_cidr(&self, field: &str, cidr: &Cidr) -> String {
        let function = "ipv4_is_in_range";
        let f = if self.brackets {
            self.field(field)
        } else {
            field.to_string()
        };
        format!("{function}({f}, \"{}\")", network_text(cidr))
    }

    fn convert_exists(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        exists: bool,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        let function = if exists { "isnotempty" } else { "isempty" };
        Ok(Out::Text(format!("{function}({})", self.field(field))))
    }

    fn convert_compare(&self, field: &str, op: CompareOp, n: &Number) -> String {
        format!("{} {} {}", self.field(field), op.symbol(), n.text)
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
            "{} == {}",
            self.field(field),
            self.field(other)
        )))
    }

    /// Correlations as a `summarize` pipeline after the `where` expression: the rules'
    /// conditions OR-ed (tagged by `extend event_type = case(…)` for temporal ones), then
    /// `summarize … by bin(TimeGenerated, span), …` and a final `where`.
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
            "`summarize` counts and aggregates per time bin, but does not order the events of several rules",
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
        lines.push(if let [only] = parts.rules.as_slice() {
            only.query.clone()
        } else {
            parts
                .rules
                .iter()
                .map(|r| format!("({})", r.query))
                .collect::<Vec<_>>()
                .join(" or ")
        });
        let quote = |text: &str| {
            let mut out = String::from("\"");
            push_escaped(&mut out, text);
            out.push('"');
            out
        };
        if c.kind == Temporal {
            let cases: Vec<String> = parts
                .rules
                .iter()
                .map(|r| format!("{}, {}", r.query, quote(&r.name)))
                .collect();
            lines.push(format!(
                "| extend event_type = case({}, \"\")",
                cases.join(", ")
            ));
        }
        for (alias, fields) in parts.alias_columns() {
            let value = if single {
                format!(
                    "tostring({})",
                    self.field(fields.first().copied().unwrap_or(alias))
                )
            } else {
                let cases: Vec<String> = parts
                    .rules
                    .iter()
                    .zip(&fields)
                    .map(|(r, f)| format!("{}, tostring({})", r.query, self.field(f)))
                    .collect();
                format!("case({}, \"\")", cases.join(", "))
            };
            lines.push(format!("| extend {} = {value}", self.field(alias)));
        }
        let (name, value) = match c.kind {
            EventCount => ("event_count", "count()".to_string()),
            ValueCount => (
                "value_count",
                format!("dcount({})", self.field(correlation::value_field(cx, c)?)),
            ),
            ValueSum => (
                "value_sum",
                format!("sum({})", self.field(correlation::value_field(cx, c)?)),
            ),
            ValueAvg => (
                "value_avg",
                format!("avg({})", self.field(correlation::value_field(cx, c)?)),
            ),
            _ => ("event_type_count", "dcount(event_type)".to_string()),
        };
        let groupby: String = c
            .group_by
            .iter()
            .map(|g| format!(", {}", self.field(g)))
            .collect();
        lines.push(format!(
            "| summarize {name} = {value} by bin(TimeGenerated, {}){groupby}",
            c.timespan.text
        ));
        lines.push(format!("| where {}", parts.threshold_tests(name)));
        let mut text = lines.join("\n");
        text.push('\n');
        Ok(text)
    }

    /// `| count() by group > n` as `| summarize` per group (and per `timeframe` bin), then
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
            (AggregateFunction::Count, Some(f)) => format!("dcount({})", self.field(f)),
            (function, f) => format!("{}({})", function.name(), self.field(f.unwrap_or_default())),
        };
        let mut keys = Vec::new();
        if let Some(t) = &a.timeframe {
            keys.push(format!("bin(TimeGenerated, {})", t.text));
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
        let op = match a.op {
            AggregateOp::Eq => "==",
            other => other.symbol(),
        };
        Ok(format!(
            "{query}\n| summarize {column} = {value}{by}\n| where {column} {op} {}",
            a.threshold.text
        ))
    }

    /// With a table chosen by a pipeline (state `query_table`, as the Kusto pipelines set it),
    /// the query reads it: `Table\n| where <expression>`.
    fn finish(&self, cx: &Cx<'_>, query: Out, _st: &mut State) -> Result<String, ConvertError> {
        let text = match query {
            Out::Text(t) => t,
            _ => String::new(),
        };
        Ok(match cx.input.state(QUERY_TABLE) {
            Some(table) => format!("{}\n| where {text}", table.text()),
            None => text,
        })
    }

    fn convert_keyword(&self, cx: &Cx<'_>, m: &Match<'_>, _st: &mut State) -> Res {
        match &m.value {
            Val::Str(s) => Ok(Out::Text(self.value_str(s))),
            Val::Num(n) => Ok(Out::Text(n.text.clone())),
            _ => Err(self.keyword_error(cx, m)),
        }
    }
}

impl Backend for Kusto {
    fn name(&self) -> &'static str {
        "kusto"
    }

    fn title(&self) -> &'static str {
        "Microsoft Sentinel (KQL)"
    }

    fn support(&self, feature: Feature) -> Support {
        match feature {
            Feature::TimePart => Support::No("date parts are not converted for KQL"),
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
        let brackets = match &input.document.kind {
            crate::sigma::SigmaKind::Rule(rule) => rule.detection.conditions.iter().any(|c| {
                text::build(&rule.detection, &c.expr).is_some_and(|t| self.doubles_quotes(&t))
            }),
            _ => true,
        };
        text::render(&Kusto { brackets }, self.name(), input)
    }
}
