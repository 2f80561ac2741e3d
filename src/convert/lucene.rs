//! `lucene`: Elasticsearch query strings as `sigma convert -t lucene --without-pipeline`
//! (pySigma-backend-elasticsearch 2.1.1) prints them: every operand group parenthesised,
//! values unquoted unless they hold spaces, Lucene's special characters escaped, OR-ed values
//! of one field as `field:(a OR b)`, `NOT _exists_:field` for null.

use crate::sigma::value::{Cidr, CompareOp, Number, RegexFlags};

use super::text::{
    self, Cond, Cx, Dialect, Match, Op, Out, Res, State, StrStyle, Tokens, Val, escape_string,
    network_address,
};
use super::{Backend, ConvertError, ConvertInput, Feature, Support};

/// The `lucene` target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lucene;

/// Characters the query string syntax reserves, escaped in values.
const RESERVED: &str = "+-=&|!(){}[]<>^\"~*?:\\/ ";

/// Characters escaped in unquoted values and keywords: the reserved ones and the other
/// whitespace the query parser splits terms on (the reference escaped only the space, so a
/// tab split the value in two terms).
const RESERVED_AND_WHITESPACE: &str = "+-=&|!(){}[]<>^\"~*?:\\/ \t\n\r\u{b}\u{c}";

const TOKENS: Tokens = Tokens {
    precedence: [Op::Not, Op::Or, Op::And],
    parenthesize: true,
    separator: " ",
    or: "OR",
    and: "AND",
    not: "NOT",
    eq: ":",
    string: StrStyle {
        quote: "\"",
        escape: "\\",
        wildcard_multi: "*",
        wildcard_single: "?",
        add_escaped: RESERVED,
    },
    or_as_in: true,
    and_as_in: false,
    in_allows_wildcards: true,
    or_in_op: ":",
    and_in_op: "",
    list_separator: " OR ",
    re_escape: &["/"],
    re_escape_escape: false,
};

fn is_null<'a>(cond: &Cond<'a>) -> Option<&'a str> {
    match cond {
        Cond::Match(Match {
            field: Some(f),
            value: Val::Null,
            ..
        }) => Some(f),
        _ => None,
    }
}

impl Dialect for Lucene {
    fn tokens(&self) -> &Tokens {
        &TOKENS
    }

    fn field(&self, name: &str) -> String {
        let mut out = String::with_capacity(name.len());
        for c in name.chars() {
            if c.is_whitespace() || c == '*' {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    fn quote_string(&self, s: &crate::sigma::SigmaString) -> bool {
        s.is_empty()
    }

    fn value_str(&self, s: &crate::sigma::SigmaString) -> String {
        // Multi-word plain values become phrases, so the parser does not split them.
        let phrase = s
            .pieces()
            .iter()
            .all(|p| matches!(p, crate::sigma::Piece::Text(t) if !t.is_empty()))
            && s.pieces()
                .iter()
                .any(|p| matches!(p, crate::sigma::Piece::Text(t) if t.contains(' ')));
        if phrase {
            let reserved_but_space = RESERVED.replace(' ', "");
            return format!(
                "\"{}\"",
                escape_string(s, &TOKENS.string, &reserved_but_space)
            );
        }
        let body = escape_string(s, &TOKENS.string, RESERVED_AND_WHITESPACE);
        if s.is_empty() {
            format!("\"{body}\"")
        } else {
            body
        }
    }

    /// pySigma escapes every `/` of a regular expression, even one the rule already escaped
    /// (`\/` became `\\/`, which ends the regex early); an escape sequence is kept as it is.
    fn value_re(&self, pattern: &str, flags: RegexFlags) -> String {
        let mut out = String::with_capacity(pattern.len() + 8);
        if !flags.is_empty() {
            out.push_str("(?");
            out.push_str(&flags.letters());
            out.push(')');
        }
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
        out
    }

    fn no_group_needed(&self, outer: Op, inner: &Cond<'_>) -> bool {
        if let Cond::Not(arg) = inner {
            if is_null(arg).is_some() {
                return true;
            }
        }
        if is_null(inner).is_some() {
            return false;
        }
        text::default_no_group_needed(self, outer, inner)
    }

    fn convert_not(&self, cx: &Cx<'_>, arg: &Cond<'_>, st: &mut State) -> Res {
        if let Some(field) = is_null(arg) {
            return Ok(Out::Text(format!("_exists_:{field}")));
        }
        text::default_convert_not(self, cx, arg, st)
    }

    fn in_expression(&self, field: &str, op: &str, items: &[String]) -> String {
        format!("{}{op}({})", self.field(field), items.join(" OR "))
    }

    fn convert_null(&self, field: &str) -> String {
        format!("NOT _exists_:{}", self.field(field))
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
            "{}:/{}/",
            self.field(field),
            self.value_re(pattern, flags)
        )))
    }

    fn convert_cidr(&self, field: &str, cidr: &Cidr) -> String {
        let network = network_address(cidr).to_string();
        // The address's colons (IPv6) are escaped; the field separator is not.
        format!("{field}:{}\\/{}", network.replace(':', "\\:"), cidr.prefix)
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
            format!("_exists_:{f}")
        } else {
            format!("NOT _exists_:{f}")
        }))
    }

    fn convert_compare(&self, field: &str, op: CompareOp, n: &Number) -> String {
        format!("{}:{}{}", self.field(field), op.symbol(), n.text)
    }

    fn expansion_as_in(&self) -> bool {
        true
    }

    /// A query ending in an escaped space loses the space (and keeps a dangling `\`) wherever
    /// it is trimmed, as pages and the parity check do; parentheses keep it.
    fn finish(&self, _cx: &Cx<'_>, query: Out, _st: &mut State) -> Result<String, ConvertError> {
        Ok(match query {
            Out::Text(q) if ends_with_escaped_space(&q) => format!("({q})"),
            Out::Text(q) => q,
            _ => String::new(),
        })
    }

    fn convert_keyword(&self, cx: &Cx<'_>, m: &Match<'_>, _st: &mut State) -> Res {
        // Unbound values are searched as `*value*` in every field; no phrase quoting, as
        // `*"…"*` is not valid query string syntax.
        keyword_query(&m.value)
            .map(Out::Text)
            .ok_or_else(|| self.keyword_error(cx, m))
    }
}

/// The query string searching every field for a keyword: `*value*` (escaped, never phrase
/// quoted, as `*"…"*` is not query string syntax), a bare number, or `/regex/`.
pub(crate) fn keyword_query(value: &Val<'_>) -> Option<String> {
    match value {
        Val::Str(s) => {
            let body = escape_string(s, &TOKENS.string, RESERVED_AND_WHITESPACE);
            Some(if s.is_empty() {
                format!("*\"{body}\"*")
            } else {
                format!("*{body}*")
            })
        }
        Val::Num(n) => Some(n.text.clone()),
        Val::Regex(p, f) => Some(format!("/{}/", Lucene.value_re(p, *f))),
        _ => None,
    }
}

/// Whether `query` ends with whitespace escaped by a backslash.
fn ends_with_escaped_space(query: &str) -> bool {
    let trimmed = query.trim_end();
    if trimmed.len() == query.len() {
        return false;
    }
    let backslashes = trimmed.chars().rev().take_while(|c| *c == '\\').count();
    backslashes % 2 == 1
}

impl Backend for Lucene {
    fn name(&self) -> &'static str {
        "lucene"
    }

    fn title(&self) -> &'static str {
        "Elasticsearch Lucene"
    }

    fn support(&self, feature: Feature) -> Support {
        match feature {
            Feature::FieldRef => Support::No(
                "a Lucene query string compares fields with constants only, never with another field",
            ),
            Feature::Cased => Support::No(
                "a query string matches analyzed text fields case-insensitively and keyword fields exactly; it has no case-sensitive operator",
            ),
            Feature::TimePart => Support::No("a query string cannot extract parts of a date field"),
            Feature::Aggregation | Feature::Near => Support::No(
                "a query string selects events; counting them needs an aggregation outside the query",
            ),
            Feature::Correlation => Support::No(
                "a query string selects single events; correlating several events needs an aggregation or a sequence outside the query",
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
