//! `eql`: Elasticsearch EQL as `sigma convert -t eql --without-pipeline` (pySigma-backend-
//! elasticsearch 2.1.1) prints it — `any where …`, `field:"value"` (case-insensitive, with
//! wildcards), `field like~ (…)` lists, `regex~`, `cidrMatch()`, `?field == null` — made valid
//! where that output is not: numbers and booleans compare with `==`/`in` (EQL's `:` and
//! `like~` take strings only), field names that are not identifiers go in backquotes, control
//! characters use EQL's escapes, values with a literal `*`/`?` (which EQL strings cannot
//! escape) become case-insensitive regular expressions, and regular expressions keep their
//! `/` unescaped (`\/` is not an EQL escape).

use crate::sigma::SigmaString;
use crate::sigma::rule::{CorrelationOp, CorrelationRule, CorrelationType};
use crate::sigma::value::{Cidr, CompareOp, Number, Piece, RegexFlags};

use super::text::{
    self, Cond, Cx, Dialect, Match, Op, Out, Res, State, StrForms, StrStyle, Tokens, Val,
    correlation, network_text,
};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};

/// The `eql` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Eql;

const TOKENS: Tokens = Tokens {
    precedence: [Op::Not, Op::Or, Op::And],
    parenthesize: true,
    separator: " ",
    or: "or",
    and: "and",
    not: "not",
    eq: ":",
    string: StrStyle {
        quote: "\"",
        escape: "\\",
        wildcard_multi: "*",
        wildcard_single: "?",
        add_escaped: "\\\"",
    },
    or_as_in: true,
    and_as_in: false,
    in_allows_wildcards: true,
    or_in_op: " like~ ",
    and_in_op: "",
    list_separator: ", ",
    re_escape: &["\""],
    re_escape_escape: true,
};

/// Whether a field name is an EQL identifier path (`a`, `a.b_c`); others need backquotes.
fn is_identifier_path(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// Whether a string holds a literal `*` or `?`, which EQL string patterns cannot escape.
fn has_literal_wildcard(s: &SigmaString) -> bool {
    s.pieces()
        .iter()
        .any(|p| matches!(p, Piece::Text(t) if t.contains(['*', '?'])))
}

/// Writes text into an EQL string literal body.
fn push_escaped(out: &mut String, text: &str) {
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
}

/// An EQL string literal of `text`.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    push_escaped(&mut out, text);
    out.push('"');
    out
}

/// A Lucene regular expression (EQL's `regex~` syntax) matching what a Sigma string pattern
/// matches: every non-alphanumeric literal character escaped, wildcards as `.*` and `.`.
fn pattern_regex(s: &SigmaString) -> String {
    s.render(".*", ".", |text, out| {
        for c in text.chars() {
            if !c.is_alphanumeric() && c != ' ' && c != '_' {
                out.push('\\');
            }
            out.push(c);
        }
    })
}

fn is_ip(s: &SigmaString) -> bool {
    s.as_plain()
        .is_some_and(|t| t.parse::<std::net::IpAddr>().is_ok())
}

impl Eql {
    fn string_match(&self, field: &str, s: &SigmaString, cased: bool) -> String {
        let f = self.field(field);
        if has_literal_wildcard(s) {
            let op = if cased { "regex" } else { "regex~" };
            return format!("{f} {op} {}", literal(&pattern_regex(s)));
        }
        if cased {
            return if s.has_wildcards() {
                format!("{f} like {}", self.value_str(s))
            } else {
                format!("{f} == {}", self.value_str(s))
            };
        }
        if s.is_empty() || is_ip(s) {
            return format!("{f}=={}", self.value_str(s));
        }
        format!("{f}:{}", self.value_str(s))
    }
}

impl Dialect for Eql {
    fn tokens(&self) -> &Tokens {
        &TOKENS
    }

    fn field(&self, name: &str) -> String {
        if is_identifier_path(name) {
            name.to_string()
        } else {
            format!("`{}`", name.replace('`', "``"))
        }
    }

    fn value_str(&self, s: &SigmaString) -> String {
        let mut out = String::from("\"");
        for piece in s.pieces() {
            match piece {
                Piece::Text(t) => push_escaped(&mut out, t),
                Piece::AnyString => out.push('*'),
                Piece::AnyChar => out.push('?'),
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

    /// The flags as pySigma writes them, a `(?is)` prefix (`m` never gets here: see
    /// [`Eql::convert_re`]), so the rule's flags stay in the query rather than being dropped
    /// unseen. Caveat, as for the `lucene` and `esql` targets, which write the same prefix:
    /// where Elasticsearch evaluates `regex~` with Lucene's regular expressions, which have no
    /// inline flags, the prefix reads as the text `?is`; the flags themselves are what `regex~`
    /// does anyway there (it ignores case, and Lucene's `.` matches a newline).
    fn value_re(&self, pattern: &str, flags: RegexFlags) -> String {
        let mut out = String::with_capacity(pattern.len() + 8);
        if !flags.is_empty() {
            out.push_str("(?");
            out.push_str(&flags.letters());
            out.push(')');
        }
        push_escaped(&mut out, pattern);
        out
    }

    fn decide_in(&self, cond: &Cond<'_>) -> bool {
        let Cond::Or(args) = cond else { return false };
        let mut field = None;
        let (mut strings, mut numbers) = (false, false);
        for arg in args {
            let Cond::Match(m) = arg else { return false };
            let Some(f) = m.field else { return false };
            if *field.get_or_insert(f) != f {
                return false;
            }
            match m.value {
                Val::Str(s) if !has_literal_wildcard(s) => strings = true,
                Val::Num(_) => numbers = true,
                _ => return false,
            }
        }
        !(strings && numbers)
    }

    fn convert_in(&self, _cx: &Cx<'_>, cond: &Cond<'_>, _st: &mut State) -> Res {
        let Cond::Or(args) = cond else {
            return Ok(Out::Nothing);
        };
        let mut field = "";
        let mut items = Vec::with_capacity(args.len());
        let mut numbers = false;
        for arg in args {
            if let Cond::Match(m) = arg {
                field = m.field.unwrap_or_default();
                numbers = matches!(m.value, Val::Num(_));
                items.push(self.list_item(&m.value));
            }
        }
        let op = if numbers { " in " } else { TOKENS.or_in_op };
        Ok(Out::Text(format!(
            "{}{op}({})",
            self.field(field),
            items.join(", ")
        )))
    }

    fn str_forms(&self) -> StrForms {
        StrForms::default()
    }

    fn convert_str(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        s: &SigmaString,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        Ok(Out::Text(self.string_match(field, s, false)))
    }

    fn convert_cased(&self, _cx: &Cx<'_>, field: &str, s: &SigmaString, _m: &Match<'_>) -> Res {
        Ok(Out::Text(self.string_match(field, s, true)))
    }

    fn convert_num(&self, field: &str, n: &Number) -> String {
        format!("{} == {}", self.field(field), n.text)
    }

    fn convert_bool(&self, field: &str, b: bool) -> String {
        format!("{} == {b}", self.field(field))
    }

    fn no_group_needed(&self, outer: Op, inner: &Cond<'_>) -> bool {
        if let Cond::Not(arg) = inner {
            if null_field(arg).is_some() {
                return true;
            }
        }
        if null_field(inner).is_some() {
            return false;
        }
        text::default_no_group_needed(self, outer, inner)
    }

    fn convert_not(&self, cx: &Cx<'_>, arg: &Cond<'_>, st: &mut State) -> Res {
        if let Some(field) = null_field(arg) {
            return Ok(Out::Text(format!("?{} != null", self.field(field))));
        }
        text::default_convert_not(self, cx, arg, st)
    }

    fn convert_null(&self, field: &str) -> String {
        format!("?{} == null", self.field(field))
    }

    fn convert_re(
        &self,
        cx: &Cx<'_>,
        field: &str,
        pattern: &str,
        flags: RegexFlags,
        m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        if flags.multi_line {
            // A Lucene regular expression always spans the whole value and has no `^`/`$`
            // anchors, so "anchors at line boundaries" has no meaning to carry over.
            return Err(cx.input.error(
                "|re|m",
                &m.item.path,
                "not supported by eql: EQL's `regex~` (a Lucene regular expression) always matches the whole value and has no line anchors, so the multi-line flag cannot be expressed",
            ));
        }
        Ok(Out::Text(format!(
            "{} regex~ \"{}\"",
            self.field(field),
            self.value_re(pattern, flags)
        )))
    }

    fn convert_cidr(&self, field: &str, cidr: &Cidr) -> String {
        format!(
            "cidrMatch({}, \"{}\")",
            self.field(field),
            network_text(cidr)
        )
    }

    fn convert_exists(
        &self,
        _cx: &Cx<'_>,
        field: &str,
        exists: bool,
        _m: &Match<'_>,
        _st: &mut State,
    ) -> Res {
        let op = if exists { "!=" } else { "==" };
        Ok(Out::Text(format!("?{} {op} null", self.field(field))))
    }

    fn convert_compare(&self, field: &str, op: CompareOp, n: &Number) -> String {
        format!("{} {} {}", self.field(field), op.symbol(), n.text)
    }

    fn expansion_as_in(&self) -> bool {
        true
    }

    fn convert_keyword(&self, cx: &Cx<'_>, m: &Match<'_>, _st: &mut State) -> Res {
        Err(cx.error_at(
            m,
            "keyword",
            "eql cannot express keyword (field-less) search: EQL only compares fields, it has no full-text search over a whole event".to_string(),
        ))
    }

    /// Correlations as EQL sequences: `temporal_ordered` as `sequence by … with maxspan=…`
    /// of the rules in order, `event_count` with `gte`/`gt` as one rule repeated
    /// (`with runs=`, Elasticsearch's repeated-event syntax). `group-by` aliases become
    /// per-rule join keys.
    fn render_correlation(
        &self,
        cx: &Cx<'_>,
        rule: &CorrelationRule,
    ) -> Result<String, ConvertError> {
        use CorrelationType::*;
        correlation::require(
            cx,
            rule,
            &[EventCount, TemporalOrdered],
            "EQL sequences match events in order within a time span; they cannot count distinct values, sum, or match unordered events within a window",
        )?;
        let parts = correlation::resolve(self, cx, rule, |_, out, _| {
            Ok(match out {
                Out::Text(t) => t,
                _ => "true".to_string(),
            })
        })?;
        let c = parts.correlation;
        let span = &c.timespan.text;
        let aliased = parts.has_aliases();
        let keys = |i: usize| -> String {
            c.group_by
                .iter()
                .map(|g| self.field(parts.field_of(i, g)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let head = if c.group_by.is_empty() || aliased {
            format!("sequence with maxspan={span}")
        } else {
            format!("sequence by {} with maxspan={span}", keys(0))
        };
        let step = |i: usize, q: &str| -> String {
            if aliased && !c.group_by.is_empty() {
                format!("  [any where {q}] by {}", keys(i))
            } else {
                format!("  [any where {q}]")
            }
        };
        let conditions = parts.conditions();
        if c.kind == EventCount {
            let runs = match conditions.as_slice() {
                [(CorrelationOp::Gte, n)] => n.as_i64(),
                [(CorrelationOp::Gt, n)] => n.as_i64().map(|n| n + 1),
                _ => None,
            };
            let Some(runs) = runs.filter(|r| (1..=100).contains(r)) else {
                return Err(correlation::refuse(
                    cx,
                    "this event count",
                    "a sequence can require at least 1 to 100 repeated events (`gte`/`gt`), not an upper bound",
                ));
            };
            let query = parts.rules.first().map_or("true", |r| r.query.as_str());
            if runs == 1 {
                // One matching event is enough.
                return Ok(format!("any where {query}\n"));
            }
            if aliased && !c.group_by.is_empty() {
                return Ok(format!("{head}\n{} with runs={runs}\n", step(0, query)));
            }
            // pySigma's spacing: its template joins the parts with spaces around an empty
            // aggregation.
            return Ok(format!("{head} \n [any where {query}]  with runs={runs}\n"));
        }
        let all = parts.rules.len() as i64;
        if !matches!(conditions.as_slice(), [(CorrelationOp::Gte, n)] if n.as_i64() == Some(all)) {
            return Err(correlation::refuse(
                cx,
                "this temporal condition",
                "a sequence requires every rule to match, in order",
            ));
        }
        let steps: Vec<String> = parts
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| step(i, &r.query))
            .collect();
        Ok(format!("{head}\n{}\n", steps.join("\n")))
    }

    fn finish(&self, cx: &Cx<'_>, query: Out, _st: &mut State) -> Result<String, ConvertError> {
        let input = cx.input;
        if input
            .rules
            .is_used_by_correlation(input.file, input.document)
        {
            // pySigma prints a rule a correlation uses as the correlation's condition.
            return Ok(match query {
                Out::Text(q) => q,
                _ => "true".to_string(),
            });
        }
        Ok(match query {
            Out::Text(q) => format!("any where {q}"),
            _ => "any where true".to_string(),
        })
    }
}

fn null_field<'a>(cond: &Cond<'a>) -> Option<&'a str> {
    match cond {
        Cond::Match(Match {
            field: Some(f),
            value: Val::Null,
            ..
        }) => Some(f),
        _ => None,
    }
}

impl Backend for Eql {
    fn name(&self) -> &'static str {
        "eql"
    }

    fn title(&self) -> &'static str {
        "Elasticsearch EQL"
    }

    fn support(&self, feature: Feature) -> Support {
        match feature {
            Feature::Keywords | Feature::KeywordsAll => Support::No(
                "EQL only compares fields; it has no full-text search over a whole event",
            ),
            Feature::FieldRef => Support::No(
                "Elasticsearch EQL cannot compare a field with another field (its comparison operators take a field and a constant)",
            ),
            Feature::TimePart => Support::No("EQL has no function extracting parts of a date"),
            Feature::Aggregation | Feature::Near => Support::No(
                "EQL has no aggregation; counting events needs a correlation rule (`sequence`)",
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
