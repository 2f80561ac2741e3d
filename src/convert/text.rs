//! The text-query engine of the pySigma family of targets (`lucene`, `splunk`, `eql`, `esql`,
//! `kusto`): it turns a rule's condition into the boolean tree pySigma converts (selections
//! resolved into field/value matches, multi-value items into OR/AND, `windash`/`base64offset`
//! expansions kept as groups) and renders it the way pySigma's `TextQueryBackend` does:
//! precedence-based parenthesisation, OR-of-one-field as an in-list, per-target token tables,
//! escaping and quoting rules, and deferred query parts (Splunk's piped `regex`).
//!
//! A target is a [`Dialect`]: its [`Tokens`] plus overrides of the few hooks where its
//! converter departs from the common behaviour. Every hook has the common behaviour as its
//! default, so a new target is one small file.

use crate::sigma::condition::{AggregateFunction, AggregateOp};
use crate::sigma::condition::{Quantifier, SelectorTarget};
use crate::sigma::diagnostic::NodePath;
use crate::sigma::rule::Timespan;
use crate::sigma::value::{Cidr, CompareOp, Number, RegexFlags, fill_query_expression};
use crate::sigma::{
    Aggregation, Combine, ConditionExpr, CorrelationRule, Detection, FieldMatch, Modifier, Piece,
    SearchBody, SearchIdentifier, SigmaKind, SigmaString, Value,
};

use super::{ConvertError, ConvertInput};

pub mod correlation;

/// A node of the boolean tree a rule condition is converted from.
#[derive(Debug, Clone)]
pub enum Cond<'a> {
    /// All operands.
    And(Vec<Cond<'a>>),
    /// Any operand.
    Or(Vec<Cond<'a>>),
    /// Negation.
    Not(Box<Cond<'a>>),
    /// A field (or keyword) match.
    Match(Match<'a>),
}

/// The kind of a boolean node, for precedence decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `not`
    Not,
    /// `and`
    And,
    /// `or`
    Or,
}

impl Cond<'_> {
    /// The boolean operator of the node, if it is one.
    pub fn op(&self) -> Option<Op> {
        match self {
            Cond::And(_) => Some(Op::And),
            Cond::Or(_) => Some(Op::Or),
            Cond::Not(_) => Some(Op::Not),
            Cond::Match(_) => None,
        }
    }
}

/// One `field = value` (or, without a field, keyword) comparison.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    /// The field; `None` for a keyword search.
    pub field: Option<&'a str>,
    /// The value.
    pub value: Val<'a>,
    /// Whether an OR encloses the match in pySigma's condition tree (including the OR of a
    /// `1 of` selector that matched a single identifier): Splunk renders regular expressions
    /// and field references differently there.
    pub under_or: bool,
    /// Whether a NOT of a group (AND, OR or NOT) encloses the match: a part moved out of the
    /// main query cannot be negated together with its siblings there.
    pub under_negated_group: bool,
    /// The detection item the match comes from (for error positions).
    pub item: &'a FieldMatch,
}

/// A value as the converter sees it.
#[derive(Debug, Clone)]
pub enum Val<'a> {
    /// A string pattern.
    Str(&'a SigmaString),
    /// A string pattern under `|cased`.
    Cased(&'a SigmaString),
    /// A number.
    Num(&'a Number),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// A regular expression with its flags.
    Regex(&'a str, RegexFlags),
    /// A network.
    Cidr(&'a Cidr),
    /// `|exists`.
    Exists(bool),
    /// `|gt` and friends.
    Compare(CompareOp, &'a Number),
    /// `|fieldref`.
    FieldRef(&'a str),
    /// A pipeline's query expression (`expression`, `id`).
    QueryExpr(&'a str, &'a str),
    /// The variants one value expanded into (`windash`, `base64offset`): OR-ed as a group.
    Expansion(Vec<Val<'a>>),
}

impl Val<'_> {
    /// What the value is, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Val::Str(_) => "string",
            Val::Cased(_) => "case-sensitive string",
            Val::Num(_) => "number",
            Val::Bool(_) => "boolean",
            Val::Null => "null",
            Val::Regex(..) => "regular expression",
            Val::Cidr(_) => "network",
            Val::Exists(_) => "existence check",
            Val::Compare(..) => "comparison",
            Val::FieldRef(_) => "field reference",
            Val::QueryExpr(..) => "query expression",
            Val::Expansion(_) => "expanded value",
        }
    }

    /// Whether the value is a string or a number (what an in-list may hold).
    fn is_list_item(&self) -> bool {
        matches!(self, Val::Str(_) | Val::Cased(_) | Val::Num(_))
    }
}

/// The result of converting a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Out {
    /// Query text.
    Text(String),
    /// A part moved out of the main query (its index in [`State::deferred`]).
    Deferred(usize),
    /// Nothing (an empty group).
    Nothing,
}

/// A query part rendered after the main query (Splunk's `| regex …`).
#[derive(Debug, Clone)]
pub struct Deferred {
    /// The text when not negated, and when negated.
    pub text: [String; 2],
    /// Whether an odd number of `not` enclose it.
    pub negated: bool,
    /// A target-defined kind, for targets that order or group deferred parts.
    pub kind: u8,
}

impl Deferred {
    /// The final text.
    pub fn render(&self) -> &str {
        &self.text[usize::from(self.negated)]
    }
}

/// Conversion state of one query.
#[derive(Debug, Default)]
pub struct State {
    /// Deferred parts, in creation order.
    pub deferred: Vec<Deferred>,
    /// Per-field counters a target may use to name generated fields.
    pub counters: Vec<(String, usize)>,
}

impl State {
    /// Adds a deferred part and returns its handle.
    pub fn defer(&mut self, text: [String; 2], kind: u8) -> Out {
        self.deferred.push(Deferred {
            text,
            negated: false,
            kind,
        });
        Out::Deferred(self.deferred.len() - 1)
    }

    /// Increments and returns the counter of `key`.
    pub fn count(&mut self, key: &str) -> usize {
        if let Some((_, n)) = self.counters.iter_mut().find(|(k, _)| k == key) {
            *n += 1;
            return *n;
        }
        self.counters.push((key.to_string(), 1));
        1
    }
}

/// The result of a conversion step.
pub type Res = Result<Out, ConvertError>;

/// How a target writes string values.
#[derive(Debug, Clone, Copy)]
pub struct StrStyle {
    /// The quote character (empty: never quoted).
    pub quote: &'static str,
    /// Escape character for special characters.
    pub escape: &'static str,
    /// The multi-character wildcard.
    pub wildcard_multi: &'static str,
    /// The single-character wildcard.
    pub wildcard_single: &'static str,
    /// Characters escaped besides the wildcards and the quote.
    pub add_escaped: &'static str,
}

/// A target's tokens: what pySigma's `TextQueryBackend` class variables hold.
#[derive(Debug, Clone, Copy)]
pub struct Tokens {
    /// Operators from the tightest-binding to the loosest.
    pub precedence: [Op; 3],
    /// Whether every non-leaf operand is parenthesised.
    pub parenthesize: bool,
    /// Separator around boolean operators.
    pub separator: &'static str,
    /// `or`
    pub or: &'static str,
    /// `and`
    pub and: &'static str,
    /// `not`
    pub not: &'static str,
    /// Between field and value.
    pub eq: &'static str,
    /// String writing.
    pub string: StrStyle,
    /// Whether OR-ed values of one field become an in-list.
    pub or_as_in: bool,
    /// Whether AND-ed values of one field become an in-list.
    pub and_as_in: bool,
    /// Whether in-lists may hold wildcard values.
    pub in_allows_wildcards: bool,
    /// The in-list operator for OR.
    pub or_in_op: &'static str,
    /// The in-list operator for AND.
    pub and_in_op: &'static str,
    /// Between list elements.
    pub list_separator: &'static str,
    /// Regular expression escaping: escaped strings, and whether the escape itself is escaped.
    pub re_escape: &'static [&'static str],
    /// Whether the regex escape character is itself escaped.
    pub re_escape_escape: bool,
}

/// Whether `name` matches `^[\w.]+$` (a plain, possibly dotted, identifier).
pub fn is_dotted_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| is_word_char(c) || c == '.')
}

/// Whether `name` matches `^\w+$`.
pub fn is_word(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_word_char)
}

/// Python's `\w` for text.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The canonical text of a network (`ip_network(...)` in Python: host bits cleared, IPv6
/// compressed).
pub fn network_text(cidr: &Cidr) -> String {
    format!("{}/{}", network_address(cidr), cidr.prefix)
}

/// The network address of a network (host bits cleared).
pub fn network_address(cidr: &Cidr) -> std::net::IpAddr {
    use std::net::IpAddr;
    match cidr.address {
        IpAddr::V4(a) => {
            let bits = u32::from(a);
            let mask = if cidr.prefix == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(cidr.prefix.min(32)))
            };
            IpAddr::V4((bits & mask).into())
        }
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            let mask = if cidr.prefix == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(cidr.prefix.min(128)))
            };
            IpAddr::V6((bits & mask).into())
        }
    }
}

/// A set of ASCII characters, for escaping without scanning strings per character.
#[derive(Debug, Clone, Copy, Default)]
pub struct CharSet([u64; 2]);

impl CharSet {
    /// The set of the ASCII characters of `chars` (others are ignored).
    pub fn of(chars: &[&str]) -> Self {
        let mut set = CharSet::default();
        for c in chars.iter().flat_map(|s| s.chars()) {
            if c.is_ascii() {
                let b = c as usize;
                set.0[b / 64] |= 1 << (b % 64);
            }
        }
        set
    }

    /// Whether `c` is in the set.
    pub fn contains(&self, c: char) -> bool {
        u8::try_from(c).is_ok_and(|b| self.contains_byte(b))
    }

    /// Whether byte `b` is (an ASCII character) in the set.
    fn contains_byte(&self, b: u8) -> bool {
        let b = usize::from(b);
        b < 128 && self.0[b / 64] & (1 << (b % 64)) != 0
    }

    /// Appends `text` to `out`, with `escape` before every character in the set. The set holds
    /// ASCII only, which never occurs inside a multi-byte UTF-8 sequence, so the text is scanned
    /// as bytes and copied in runs.
    pub fn escape_into(&self, text: &str, escape: &str, out: &mut String) {
        let mut run = 0;
        for (i, b) in text.bytes().enumerate() {
            if self.contains_byte(b) {
                out.push_str(&text[run..i]);
                out.push_str(escape);
                run = i;
            }
        }
        out.push_str(&text[run..]);
    }
}

/// Escapes and renders a string: each literal character among the wildcard characters,
/// `add_escaped` and the quote gets `escape` in front; wildcards become the target's tokens.
pub fn escape_string(s: &SigmaString, style: &StrStyle, add_escaped: &str) -> String {
    let special = CharSet::of(&[
        style.wildcard_multi,
        style.wildcard_single,
        style.quote,
        add_escaped,
    ]);
    s.render(style.wildcard_multi, style.wildcard_single, |text, out| {
        special.escape_into(text, style.escape, out);
    })
}

/// The regular expression a string pattern matches (pySigma's `SigmaString.to_regex`).
pub fn string_to_regex(s: &SigmaString, extra_escaped: &str) -> String {
    let meta = CharSet::of(&[".*+?^$[](){}\\|", extra_escaped]);
    s.render(".*", ".", |text, out| meta.escape_into(text, "\\", out))
}

/// Escapes a regular expression: every occurrence of one of `escaped` (and of `\` when
/// `escape_escape`) gets a `\` in front; flags become a `(?ims)` prefix when `flag_prefix`.
pub fn escape_regex(
    pattern: &str,
    flags: RegexFlags,
    escaped: &[&str],
    escape_escape: bool,
    flag_prefix: bool,
) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    if flag_prefix && !flags.is_empty() {
        out.push_str("(?");
        out.push_str(&flags.letters());
        out.push(')');
    }
    let single = escaped.iter().all(|e| e.chars().count() == 1);
    if single {
        let mut set = CharSet::of(escaped);
        if escape_escape {
            set = CharSet::of(&[escaped.concat().as_str(), "\\"]);
        }
        for c in pattern.chars() {
            if set.contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        return out;
    }
    let mut rest = pattern;
    while !rest.is_empty() {
        let hit = (escape_escape && rest.starts_with('\\'))
            || escaped.iter().any(|e| !e.is_empty() && rest.starts_with(e));
        if hit {
            out.push('\\');
        }
        let c = rest.chars().next().unwrap_or('\0');
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The string without its first piece (a wildcard).
pub fn drop_first(s: &SigmaString) -> SigmaString {
    SigmaString::from_pieces(s.pieces().iter().skip(1).cloned())
}

/// The string without its last piece (a wildcard).
pub fn drop_last(s: &SigmaString) -> SigmaString {
    let n = s.pieces().len().saturating_sub(1);
    SigmaString::from_pieces(s.pieces().iter().take(n).cloned())
}

/// A target of the pySigma family. Every hook defaults to what pySigma's `TextQueryBackend`
/// does with the target's [`Tokens`]; a target overrides where its converter differs.
pub trait Dialect: Sync + Send {
    /// The token table.
    fn tokens(&self) -> &Tokens;

    /// Escapes and quotes a field name.
    fn field(&self, name: &str) -> String {
        name.to_string()
    }

    /// Whether a string value is quoted (pySigma's `str_quote_pattern`).
    fn quote_string(&self, s: &SigmaString) -> bool {
        let _ = s;
        !self.tokens().string.quote.is_empty()
    }

    /// Renders a string value (escaped, wildcards as tokens, quoted if needed).
    fn value_str(&self, s: &SigmaString) -> String {
        let style = &self.tokens().string;
        let body = escape_string(s, style, style.add_escaped);
        if self.quote_string(s) {
            format!("{}{body}{}", style.quote, style.quote)
        } else {
            body
        }
    }

    /// Renders a regular expression for the target.
    fn value_re(&self, pattern: &str, flags: RegexFlags) -> String {
        let t = self.tokens();
        escape_regex(pattern, flags, t.re_escape, t.re_escape_escape, true)
    }

    /// Converts any node.
    fn convert(&self, cx: &Cx<'_>, cond: &Cond<'_>, st: &mut State) -> Res {
        match cond {
            Cond::Or(args) => {
                if args.len() > 1 && self.decide_in(cond) {
                    self.convert_in(cx, cond, st)
                } else {
                    self.convert_or(cx, args, st)
                }
            }
            Cond::And(args) => {
                if args.len() > 1 && self.decide_in(cond) {
                    self.convert_in(cx, cond, st)
                } else {
                    self.convert_and(cx, args, st)
                }
            }
            Cond::Not(arg) => self.convert_not(cx, arg, st),
            Cond::Match(m) => match (m.field, &m.value) {
                (field, Val::QueryExpr(expression, id)) => {
                    let field = field.map(|f| self.field(f));
                    fill_query_expression(expression, field.as_deref(), id)
                        .map(Out::Text)
                        .map_err(|message| cx.error_at(m, "query expression", message))
                }
                (Some(field), _) => self.convert_field(cx, field, m, st),
                (None, _) => self.convert_keyword(cx, m, st),
            },
        }
    }

    /// Whether `inner` needs no parentheses inside `outer` (pySigma's `compare_precedence`).
    fn no_group_needed(&self, outer: Op, inner: &Cond<'_>) -> bool {
        default_no_group_needed(self, outer, inner)
    }

    /// Converts `arg` inside parentheses.
    fn convert_group(&self, cx: &Cx<'_>, arg: &Cond<'_>, st: &mut State) -> Res {
        Ok(match self.convert(cx, arg, st)? {
            Out::Text(t) => Out::Text(format!("({t})")),
            other => other,
        })
    }

    /// Joins converted operands with `token`, dropping empty and deferred ones.
    fn join(&self, cx: &Cx<'_>, outer: Op, args: &[Cond<'_>], token: &str, st: &mut State) -> Res {
        let t = self.tokens();
        let joiner = if t.separator == token {
            token.to_string()
        } else {
            format!("{}{token}{}", t.separator, t.separator)
        };
        let mut parts = Vec::with_capacity(args.len());
        for arg in args {
            let out = if self.no_group_needed(outer, arg) {
                self.convert(cx, arg, st)?
            } else {
                self.convert_group(cx, arg, st)?
            };
            if let Out::Text(text) = out {
                parts.push(text);
            }
        }
        Ok(if parts.is_empty() {
            Out::Nothing
        } else {
            Out::Text(parts.join(&joiner))
        })
    }

    /// Converts an OR node.
    fn convert_or(&self, cx: &Cx<'_>, args: &[Cond<'_>], st: &mut State) -> Res {
        self.join(cx, Op::Or, args, self.tokens().or, st)
    }

    /// Converts an AND node.
    fn convert_and(&self, cx: &Cx<'_>, args: &[Cond<'_>], st: &mut State) -> Res {
        self.join(cx, Op::And, args, self.tokens().and, st)
    }

    /// Converts a NOT node.
    fn convert_not(&self, cx: &Cx<'_>, arg: &Cond<'_>, st: &mut State) -> Res {
        default_convert_not(self, cx, arg, st)
    }

    /// Whether an OR/AND node becomes an in-list: every operand a match of the same field
    /// with a string or number (and no wildcards unless the target allows them).
    fn decide_in(&self, cond: &Cond<'_>) -> bool {
        let t = self.tokens();
        let args = match cond {
            Cond::Or(a) if t.or_as_in => a,
            Cond::And(a) if t.and_as_in => a,
            _ => return false,
        };
        let mut field = None;
        for arg in args {
            let Cond::Match(m) = arg else { return false };
            let Some(f) = m.field else { return false };
            if *field.get_or_insert(f) != f || !m.value.is_list_item() {
                return false;
            }
            if !t.in_allows_wildcards {
                if let Val::Str(s) | Val::Cased(s) = m.value {
                    if s.has_wildcards() {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Converts an in-list node.
    fn convert_in(&self, cx: &Cx<'_>, cond: &Cond<'_>, st: &mut State) -> Res {
        let _ = (cx, st);
        let t = self.tokens();
        let (args, op) = match cond {
            Cond::Or(a) => (a, t.or_in_op),
            Cond::And(a) => (a, t.and_in_op),
            _ => return Ok(Out::Nothing),
        };
        let mut field = "";
        let mut items = Vec::with_capacity(args.len());
        for arg in args {
            if let Cond::Match(m) = arg {
                field = m.field.unwrap_or_default();
                items.push(self.list_item(&m.value));
            }
        }
        Ok(Out::Text(self.in_expression(field, op, &items)))
    }

    /// One element of an in-list.
    fn list_item(&self, value: &Val<'_>) -> String {
        match value {
            Val::Str(s) | Val::Cased(s) => self.value_str(s),
            Val::Num(n) => n.text.clone(),
            _ => String::new(),
        }
    }

    /// `field op (a, b)`.
    fn in_expression(&self, field: &str, op: &str, items: &[String]) -> String {
        format!(
            "{} {op} ({})",
            self.field(field),
            items.join(self.tokens().list_separator)
        )
    }

    /// Converts a match bound to a field, by value type.
    fn convert_field(&self, cx: &Cx<'_>, field: &str, m: &Match<'_>, st: &mut State) -> Res {
        match &m.value {
            Val::Str(s) => self.convert_str(cx, field, s, m, st),
            Val::Cased(s) => self.convert_cased(cx, field, s, m),
            Val::Num(n) => Ok(Out::Text(self.convert_num(field, n))),
            Val::Bool(b) => Ok(Out::Text(self.convert_bool(field, *b))),
            Val::Null => Ok(Out::Text(self.convert_null(field))),
            Val::Regex(p, f) => self.convert_re(cx, field, p, *f, m, st),
            Val::Cidr(c) => Ok(Out::Text(self.convert_cidr(field, c))),
            Val::Exists(e) => self.convert_exists(cx, field, *e, m, st),
            Val::Compare(op, n) => Ok(Out::Text(self.convert_compare(field, *op, n))),
            Val::FieldRef(other) => self.convert_fieldref(cx, field, other, m, st),
            Val::QueryExpr(expression, id) => {
                fill_query_expression(expression, Some(&self.field(field)), id)
                    .map(Out::Text)
                    .map_err(|message| cx.error_at(m, "query expression", message))
            }
            Val::Expansion(values) => self.convert_expansion(cx, field, values, m, st),
        }
    }

    /// `startswith`/`endswith`/`contains`/wildcard/equality forms of the target, as
    /// `(template, value)` decisions; `None` when the target has no such form.
    fn str_forms(&self) -> StrForms {
        StrForms::default()
    }

    /// Converts `field = string`.
    fn convert_str(
        &self,
        cx: &Cx<'_>,
        field: &str,
        s: &SigmaString,
        m: &Match<'_>,
        st: &mut State,
    ) -> Res {
        let _ = (cx, m, st);
        Ok(Out::Text(self.render_str(field, s, &self.str_forms())))
    }

    /// Renders `field = string` with the given forms (pySigma's decision order: startswith,
    /// endswith, contains, wildcard match, equality).
    fn render_str(&self, field: &str, s: &SigmaString, forms: &StrForms) -> String {
        let f = self.field(field);
        let pieces = s.pieces();
        let wildcards = pieces
            .iter()
            .filter(|p| matches!(p, Piece::AnyString | Piece::AnyChar))
            .count();
        let first_any = matches!(pieces.first(), Some(Piece::AnyString));
        let last_any = matches!(pieces.last(), Some(Piece::AnyString));
        if let Some(template) = forms.startswith {
            if last_any && wildcards == 1 {
                return fill(template, &f, &self.value_str(&drop_last(s)), "");
            }
        }
        if let Some(template) = forms.endswith {
            if first_any && wildcards == 1 {
                return fill(template, &f, &self.value_str(&drop_first(s)), "");
            }
        }
        if let Some(template) = forms.contains {
            if first_any && last_any && wildcards == 2 && pieces.len() >= 2 {
                return fill(
                    template,
                    &f,
                    &self.value_str(&drop_last(&drop_first(s))),
                    "",
                );
            }
        }
        if let Some(template) = forms.wildcard {
            if wildcards > 0 {
                let regex = if template.contains("{regex}") {
                    self.value_re(&string_to_regex(s, ""), RegexFlags::default())
                } else {
                    String::new()
                };
                return fill(template, &f, &self.value_str(s), &regex);
            }
        }
        format!("{f}{}{}", self.tokens().eq, self.value_str(s))
    }

    /// Converts `field = string` under `|cased`.
    fn convert_cased(&self, cx: &Cx<'_>, field: &str, s: &SigmaString, m: &Match<'_>) -> Res {
        let _ = (field, s);
        Err(cx.unsupported(m, "|cased", "case-sensitive matching"))
    }

    /// `field = number`.
    fn convert_num(&self, field: &str, n: &Number) -> String {
        format!("{}{}{}", self.field(field), self.tokens().eq, n.text)
    }

    /// `field = true|false`.
    fn convert_bool(&self, field: &str, b: bool) -> String {
        format!("{}{}{b}", self.field(field), self.tokens().eq)
    }

    /// `field: null`.
    fn convert_null(&self, field: &str) -> String;

    /// `field|re`.
    fn convert_re(
        &self,
        cx: &Cx<'_>,
        field: &str,
        pattern: &str,
        flags: RegexFlags,
        m: &Match<'_>,
        st: &mut State,
    ) -> Res;

    /// `field|cidr`.
    fn convert_cidr(&self, field: &str, cidr: &Cidr) -> String;

    /// `field|exists`.
    fn convert_exists(
        &self,
        cx: &Cx<'_>,
        field: &str,
        exists: bool,
        m: &Match<'_>,
        st: &mut State,
    ) -> Res {
        let _ = (field, exists, st);
        Err(cx.unsupported(m, "|exists", "field existence checks"))
    }

    /// `field|gt` and friends.
    fn convert_compare(&self, field: &str, op: CompareOp, n: &Number) -> String;

    /// `field|fieldref`.
    fn convert_fieldref(
        &self,
        cx: &Cx<'_>,
        field: &str,
        other: &str,
        m: &Match<'_>,
        st: &mut State,
    ) -> Res {
        let _ = (field, other, st);
        Err(cx.unsupported(m, "|fieldref", "comparisons between two fields"))
    }

    /// A `windash`/`base64offset` expansion: its variants OR-ed (as an in-list when the
    /// target makes one).
    fn convert_expansion(
        &self,
        cx: &Cx<'_>,
        field: &str,
        values: &[Val<'_>],
        m: &Match<'_>,
        st: &mut State,
    ) -> Res {
        let or = expansion_or(field, values, m);
        if self.expansion_as_in() && self.decide_in(&or) {
            return self.convert_in(cx, &or, st);
        }
        match &or {
            Cond::Or(args) => self.convert_or(cx, args, st),
            _ => Ok(Out::Nothing),
        }
    }

    /// Whether an expansion may become an in-list (the Elasticsearch backends do; the base
    /// converter ORs the variants one by one).
    fn expansion_as_in(&self) -> bool {
        false
    }

    /// A keyword (field-less) match.
    fn convert_keyword(&self, cx: &Cx<'_>, m: &Match<'_>, st: &mut State) -> Res;

    /// Converts a correlation rule.
    fn render_correlation(
        &self,
        cx: &Cx<'_>,
        rule: &CorrelationRule,
    ) -> Result<String, ConvertError> {
        let _ = rule;
        Err(cx.input.error(
            "correlation",
            &NodePath::root(cx.input.document.index).key("correlation"),
            format!("{} cannot express correlation rules", cx.target),
        ))
    }

    /// Appends a deprecated pipe aggregation to a converted query.
    fn aggregate(
        &self,
        cx: &Cx<'_>,
        query: String,
        aggregation: &PipeAggregation<'_>,
        at: &NodePath,
    ) -> Result<String, ConvertError> {
        let _ = (query, aggregation);
        Err(cx.input.error(
            "| count()",
            at,
            format!("{} cannot express pipe aggregations", cx.target),
        ))
    }

    /// An error for a keyword search the target cannot express.
    fn keyword_error(&self, cx: &Cx<'_>, m: &Match<'_>) -> ConvertError {
        cx.error_at(
            m,
            "keyword",
            format!(
                "{} cannot search a {} without a field",
                cx.target,
                m.value.kind_name()
            ),
        )
    }

    /// Wraps the converted condition into the final query (pySigma's `finish_query` and
    /// `finalize_query`).
    fn finish(&self, cx: &Cx<'_>, query: Out, st: &mut State) -> Result<String, ConvertError> {
        let _ = (cx, st);
        Ok(match query {
            Out::Text(t) => t,
            _ => String::new(),
        })
    }
}

/// pySigma's precedence rule: a match needs no parentheses (an expansion counts as an OR);
/// with `parenthesize` every boolean operand is grouped; otherwise an operand binding at
/// least as tightly as its parent stays bare.
pub fn default_no_group_needed<D: Dialect + ?Sized>(d: &D, outer: Op, inner: &Cond<'_>) -> bool {
    let t = d.tokens();
    let inner_op = match inner {
        Cond::Match(m) => match m.value {
            Val::Expansion(_) => Some(Op::Or),
            _ => None,
        },
        other => {
            if t.parenthesize {
                return false;
            }
            other.op()
        }
    };
    let rank = |op: Op| t.precedence.iter().position(|p| *p == op).unwrap_or(0);
    inner_op.is_none_or(|op| rank(op) <= rank(outer))
}

/// pySigma's NOT: a negated AND/OR/NOT is grouped; a negated deferred part flips its
/// negation instead.
pub fn default_convert_not<D: Dialect + ?Sized>(
    d: &D,
    cx: &Cx<'_>,
    arg: &Cond<'_>,
    st: &mut State,
) -> Res {
    let t = d.tokens();
    // An expansion is an OR of its variants: negated, it needs its group like any OR.
    let expansion = matches!(
        arg,
        Cond::Match(Match {
            value: Val::Expansion(v),
            ..
        }) if v.len() > 1
    );
    if arg.op().is_some() || (expansion && !d.expansion_as_in()) {
        return Ok(match d.convert_group(cx, arg, st)? {
            Out::Text(g) => Out::Text(format!("{}{}{g}", t.not, t.separator)),
            other => other,
        });
    }
    Ok(match d.convert(cx, arg, st)? {
        Out::Text(e) => Out::Text(format!("{}{}{e}", t.not, t.separator)),
        Out::Deferred(i) => {
            if let Some(dd) = st.deferred.get_mut(i) {
                dd.negated = !dd.negated;
            }
            Out::Deferred(i)
        }
        Out::Nothing => Out::Nothing,
    })
}

/// Why placeholders are refused.
pub const PLACEHOLDER_REASON: &str = "`%name%` placeholders stand for values of the user's environment (lists of hosts, users…) that must be filled in before conversion";

/// Why filter rules are refused on their own.
pub const FILTER_REASON: &str =
    "a filter rule has no query of its own: it narrows the rules it references";

/// Fills a `{field}`/`{value}`/`{regex}` template.
pub fn fill(template: &str, field: &str, value: &str, regex: &str) -> String {
    let mut out = String::with_capacity(template.len() + field.len() + value.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(t) = tail.strip_prefix("{field}") {
            out.push_str(field);
            rest = t;
        } else if let Some(t) = tail.strip_prefix("{value}") {
            out.push_str(value);
            rest = t;
        } else if let Some(t) = tail.strip_prefix("{regex}") {
            out.push_str(regex);
            rest = t;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The string operator forms of a target (pySigma's `startswith_expression`…), as templates
/// with `{field}`, `{value}` and `{regex}`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StrForms {
    /// For `value*`.
    pub startswith: Option<&'static str>,
    /// For `*value`.
    pub endswith: Option<&'static str>,
    /// For `*value*`.
    pub contains: Option<&'static str>,
    /// For any other value with wildcards.
    pub wildcard: Option<&'static str>,
}

/// The OR node of an expansion's variants.
pub fn expansion_or<'a>(field: &'a str, values: &[Val<'a>], m: &Match<'a>) -> Cond<'a> {
    Cond::Or(
        values
            .iter()
            .map(|v| {
                Cond::Match(Match {
                    field: Some(field),
                    value: v.clone(),
                    under_or: true,
                    under_negated_group: m.under_negated_group,
                    item: m.item,
                })
            })
            .collect(),
    )
}

/// The conversion context: the rule being converted.
pub struct Cx<'a> {
    /// The input.
    pub input: &'a ConvertInput<'a>,
    /// The target's name, for messages.
    pub target: &'static str,
}

impl Cx<'_> {
    /// An error for a construct of `m` the target cannot express.
    pub fn unsupported(&self, m: &Match<'_>, construct: &str, what: &str) -> ConvertError {
        self.input.error(
            construct,
            &m.item.path,
            format!("{} cannot express {what}", self.target),
        )
    }

    /// An error with an explanation, at `m`.
    pub fn error_at(&self, m: &Match<'_>, construct: &str, message: String) -> ConvertError {
        self.input.error(construct, &m.item.path, message)
    }
}

/// Builds the condition tree of `expr` over `detection` as pySigma does.
pub fn build<'a>(detection: &'a Detection, expr: &'a ConditionExpr) -> Option<Cond<'a>> {
    let mut tree = build_expr(detection, expr, false)?;
    mark_negated_groups(&mut tree, false);
    Some(tree)
}

fn mark_negated_groups(cond: &mut Cond<'_>, inside: bool) {
    match cond {
        Cond::And(args) | Cond::Or(args) => {
            for arg in args {
                mark_negated_groups(arg, inside);
            }
        }
        Cond::Not(arg) => {
            let group = inside || !matches!(**arg, Cond::Match(_));
            mark_negated_groups(arg, group);
        }
        Cond::Match(m) => m.under_negated_group = inside,
    }
}

fn collapse<'a>(mut args: Vec<Cond<'a>>, and: bool) -> Option<Cond<'a>> {
    match args.len() {
        0 => None,
        1 => args.pop(),
        _ => Some(if and { Cond::And(args) } else { Cond::Or(args) }),
    }
}

/// Whether `expr` names a search identifier a pipeline emptied (every item dropped).
fn emptied(detection: &Detection, expr: &ConditionExpr) -> bool {
    match expr {
        ConditionExpr::Identifier(name) => detection
            .identifier(name)
            .is_some_and(|i| matches!(&i.body, SearchBody::AllOf(items) if items.is_empty())),
        ConditionExpr::Not(inner) => emptied(detection, inner),
        _ => false,
    }
}

/// Like [`collapse`], except that one operand left of several because the others were emptied
/// by a pipeline stays an operand of its AND/OR: pySigma leaves the empty ones out only while
/// writing the query, so the survivor is parenthesized as an operand.
fn collapse_kept<'a>(args: Vec<Cond<'a>>, and: bool, emptied_some: bool) -> Option<Cond<'a>> {
    if args.len() == 1 && emptied_some {
        return Some(if and { Cond::And(args) } else { Cond::Or(args) });
    }
    collapse(args, and)
}

fn build_expr<'a>(detection: &'a Detection, expr: &'a ConditionExpr, or: bool) -> Option<Cond<'a>> {
    match expr {
        ConditionExpr::And(items) => collapse_kept(
            items
                .iter()
                .filter_map(|i| build_expr(detection, i, or))
                .collect(),
            true,
            items.iter().any(|i| emptied(detection, i)),
        ),
        ConditionExpr::Or(items) => collapse_kept(
            items
                .iter()
                .filter_map(|i| build_expr(detection, i, true))
                .collect(),
            false,
            items.iter().any(|i| emptied(detection, i)),
        ),
        ConditionExpr::Not(inner) => {
            build_expr(detection, inner, or).map(|c| Cond::Not(Box::new(c)))
        }
        ConditionExpr::Identifier(name) => {
            let identifier = detection.identifier(name)?;
            build_body(&identifier.body, or)
        }
        ConditionExpr::Selector(selector) => {
            let one = selector.quantifier == Quantifier::One;
            // pySigma's `them` and rule-level patterns never select `_`-prefixed identifiers.
            let pattern_hidden = match &selector.target {
                SelectorTarget::Them => false,
                SelectorTarget::Pattern(p) => p.starts_with('_'),
            };
            let selected: Vec<&SearchIdentifier> = selector
                .identifiers
                .iter()
                .filter(|name| pattern_hidden || !name.starts_with('_'))
                .filter_map(|name| detection.identifier(name))
                .collect();
            let emptied_some = selected
                .iter()
                .any(|i| matches!(&i.body, SearchBody::AllOf(items) if items.is_empty()));
            let args: Vec<Cond<'a>> = selected
                .iter()
                .filter_map(|i| build_body(&i.body, or || one))
                .collect();
            collapse_kept(args, !one, emptied_some && selected.len() > 1)
        }
    }
}

fn build_body(body: &SearchBody, or: bool) -> Option<Cond<'_>> {
    match body {
        SearchBody::AllOf(items) => collapse(
            items.iter().filter_map(|i| build_item(i, or)).collect(),
            true,
        ),
        SearchBody::Keywords(item) => build_item(item, or),
        SearchBody::All(parts) => collapse(
            parts.iter().filter_map(|b| build_body(b, or)).collect(),
            true,
        ),
        SearchBody::AnyOf(bodies) => {
            let or_inside = or || bodies.len() > 1;
            collapse(
                bodies
                    .iter()
                    .filter_map(|b| build_body(b, or_inside))
                    .collect(),
                false,
            )
        }
    }
}

fn build_item(item: &FieldMatch, or: bool) -> Option<Cond<'_>> {
    let grouped = item
        .modifiers
        .iter()
        .any(|m| matches!(m, Modifier::Windash | Modifier::Base64Offset));
    let mut values: Vec<Val<'_>> = Vec::with_capacity(item.values.len());
    for group in &item.values {
        let mut variants = group.variants.iter().map(|v| value_of(v, item.cased));
        if grouped || group.expanded || group.variants.len() > 1 {
            values.push(Val::Expansion(variants.collect()));
        } else if let Some(v) = variants.next() {
            values.push(v);
        }
    }
    let field = item.field.as_deref();
    let all = item.combine == Combine::All;
    let cond = if values.len() == 1 {
        Cond::Match(Match {
            field,
            value: values.pop().unwrap_or(Val::Null),
            under_or: or,
            under_negated_group: false,
            item,
        })
    } else {
        let inner_or = or || !all;
        let args: Vec<Cond<'_>> = values
            .into_iter()
            .map(|value| {
                Cond::Match(Match {
                    field,
                    value,
                    under_or: inner_or,
                    under_negated_group: false,
                    item,
                })
            })
            .collect();
        collapse(args, all)?
    };
    Some(if item.negated {
        Cond::Not(Box::new(cond))
    } else {
        cond
    })
}

fn value_of(value: &Value, cased: bool) -> Val<'_> {
    match value {
        Value::String(s) if cased => Val::Cased(s),
        Value::String(s) => Val::Str(s),
        Value::Number(n) => Val::Num(n),
        Value::Bool(b) => Val::Bool(*b),
        Value::Null => Val::Null,
        Value::Regex { pattern, flags } => Val::Regex(pattern, *flags),
        Value::Cidr(c) => Val::Cidr(c),
        Value::Exists(e) => Val::Exists(*e),
        Value::Compare(op, n) => Val::Compare(*op, n),
        Value::FieldRef(f) => Val::FieldRef(f),
        Value::QueryExpression { expression, id } => Val::QueryExpr(expression, id),
    }
}

/// Converts a document with `dialect`: a rule's conditions, or a correlation through the
/// dialect's [`Dialect::render_correlation`].
pub fn render<D: Dialect>(
    dialect: &D,
    target: &'static str,
    input: &ConvertInput<'_>,
) -> Result<String, ConvertError> {
    match &input.document.kind {
        SigmaKind::Rule(rule) => render_rule(dialect, target, input, &rule.detection),
        SigmaKind::Correlation(c) => {
            let cx = Cx { input, target };
            dialect.render_correlation(&cx, c)
        }
        SigmaKind::Filter(_) => Err(input.error(
            "filter",
            &NodePath::root(input.document.index).key("filter"),
            FILTER_REASON,
        )),
    }
}

/// Converts every condition of a rule document with `dialect`: one query per condition,
/// joined by a blank line as sigma-cli prints them, with a trailing newline.
pub fn render_rule(
    dialect: &dyn Dialect,
    target: &'static str,
    input: &ConvertInput<'_>,
    detection: &Detection,
) -> Result<String, ConvertError> {
    let cx = Cx { input, target };
    let mut queries = Vec::with_capacity(detection.conditions.len());
    for condition in &detection.conditions {
        let mut st = State::default();
        let out = match build(detection, &condition.expr) {
            Some(tree) => dialect.convert(&cx, &tree, &mut st)?,
            None if input.state.is_some() => {
                return Err(input.error(
                    "condition",
                    &condition.path,
                    "the processing pipelines removed every detection item this condition uses (`drop_detection_item`), so no query is left".to_string(),
                ));
            }
            None => Out::Nothing,
        };
        let query = dialect.finish(&cx, out, &mut st)?;
        queries.push(match &condition.aggregation {
            None => query,
            Some(Aggregation::Function {
                function,
                field,
                group_by,
                op,
                threshold,
            }) => {
                let timeframe = match detection.timeframe.as_deref() {
                    Some(t) => Some(Timespan::parse(t).map_err(|e| {
                        input.error("timeframe", &condition.path, e)
                    })?),
                    None => None,
                };
                if *function != AggregateFunction::Count && field.is_none() {
                    return Err(input.error(
                        "| count()",
                        &condition.path,
                        format!("`{}()` needs the field it aggregates", function.name()),
                    ));
                }
                let aggregation = PipeAggregation {
                    function: *function,
                    field: field.as_deref(),
                    group_by: group_by.as_deref(),
                    op: *op,
                    threshold,
                    timeframe,
                };
                dialect.aggregate(&cx, query, &aggregation, &condition.path)?
            }
            Some(Aggregation::Near { .. }) => {
                return Err(input.error(
                    "| near",
                    &condition.path,
                    format!("{target} cannot express `| near`: it needs events of several searches close in time; write it as a temporal correlation rule"),
                ));
            }
        });
    }
    let mut text = queries.join("\n\n");
    text.push('\n');
    Ok(text)
}

/// Joins the outputs of the documents of one file as sigma-cli prints several queries: a
/// blank line between them.
pub fn join_queries(outputs: Vec<String>) -> String {
    outputs.join("\n")
}

/// A deprecated pipe aggregation (`| count(field) by group > n`) with the rule's `timeframe`.
#[derive(Debug, Clone)]
pub struct PipeAggregation<'a> {
    /// The function.
    pub function: AggregateFunction,
    /// The aggregated field (`count()` has none; `count(field)` counts distinct values).
    pub field: Option<&'a str>,
    /// The `by` field.
    pub group_by: Option<&'a str>,
    /// The comparison.
    pub op: AggregateOp,
    /// The threshold.
    pub threshold: &'a Number,
    /// The time window, when the rule has a `timeframe`.
    pub timeframe: Option<Timespan>,
}

impl PipeAggregation<'_> {
    /// The name of the computed column.
    pub fn column(&self) -> &'static str {
        match (self.function, self.field) {
            (AggregateFunction::Count, None) => "event_count",
            (AggregateFunction::Count, Some(_)) => "value_count",
            (AggregateFunction::Min, _) => "value_min",
            (AggregateFunction::Max, _) => "value_max",
            (AggregateFunction::Avg, _) => "value_avg",
            (AggregateFunction::Sum, _) => "value_sum",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_sigma_string_convert() {
        let style = StrStyle {
            quote: "\"",
            escape: "\\",
            wildcard_multi: "*",
            wildcard_single: "?",
            add_escaped: "\\",
        };
        let s = SigmaString::parse(r"*\cmd.exe lit\*star a?");
        assert_eq!(
            escape_string(&s, &style, style.add_escaped),
            r#"*\\cmd.exe lit\*star a?"#
        );
        let q = SigmaString::literal("say \"hi\"");
        assert_eq!(escape_string(&q, &style, ""), r#"say \"hi\""#);
    }

    #[test]
    fn escaping_keeps_multibyte_text_whole() {
        let set = CharSet::of(&["\"*", ":"]);
        let mut out = String::new();
        set.escape_into("é:ü\"日本*", "\\", &mut out);
        assert_eq!(out, "é\\:ü\\\"日本\\*");
        out.clear();
        set.escape_into("", "\\", &mut out);
        set.escape_into("::", "\\", &mut out);
        assert_eq!(out, "\\:\\:");
        assert!(set.contains(':') && !set.contains('é') && !set.contains('a'));
    }

    #[test]
    fn regex_escaping_and_flags() {
        let flags = RegexFlags {
            ignore_case: true,
            multi_line: false,
            dot_all: true,
        };
        assert_eq!(
            escape_regex(r#"a\d"/"#, flags, &["/"], false, true),
            r#"(?is)a\d"\/"#
        );
        assert_eq!(
            escape_regex(r#"a\d""#, RegexFlags::default(), &["\""], true, true),
            r#"a\\d\""#
        );
    }

    #[test]
    fn wildcards_become_regex() {
        assert_eq!(
            string_to_regex(&SigmaString::parse("a.b*c?"), ""),
            r"a\.b.*c."
        );
    }

    #[test]
    fn networks_are_canonical() {
        let c = Cidr::parse("10.1.2.3/8").unwrap();
        assert_eq!(network_text(&c), "10.0.0.0/8");
        let c = Cidr::parse("FE80:0:0::/10").unwrap();
        assert_eq!(network_text(&c), "fe80::/10");
    }

    #[test]
    fn templates_fill() {
        assert_eq!(
            fill("starts_with({field}, {value})", "F", "\"x\"", ""),
            "starts_with(F, \"x\")"
        );
        assert_eq!(
            fill("{field} matches regex \"{regex}\"", "F", "", "a.*"),
            "F matches regex \"a.*\""
        );
    }

    fn rule(detection: &str) -> crate::sigma::RuleFile {
        let indented: String = detection.lines().map(|l| format!("    {l}\n")).collect();
        let text = format!(
            "title: T\nlogsource:\n    product: windows\ndetection:\n{indented}level: low\n"
        );
        let file = crate::sigma::parse_source(
            std::path::Path::new("t.yml"),
            std::path::Path::new("t.yml"),
            text,
            &crate::sigma::ParseOptions::default(),
        );
        assert!(!file.has_errors(), "{:?}", file.diagnostics);
        file
    }

    fn tree_of(file: &crate::sigma::RuleFile) -> Cond<'_> {
        let SigmaKind::Rule(r) = &file.documents[0].kind else {
            panic!("a rule")
        };
        build(&r.detection, &r.detection.conditions[0].expr).expect("a tree")
    }

    fn matches<'a>(cond: &'a Cond<'a>, out: &mut Vec<&'a Match<'a>>) {
        match cond {
            Cond::And(a) | Cond::Or(a) => a.iter().for_each(|c| matches(c, out)),
            Cond::Not(c) => matches(c, out),
            Cond::Match(m) => out.push(m),
        }
    }

    #[test]
    fn a_one_of_selector_with_one_match_still_counts_as_an_or() {
        let file = rule("sel_a:\n    A: 1\nother:\n    B: 2\ncondition: 1 of sel_* and other");
        let tree = tree_of(&file);
        let Cond::And(args) = &tree else {
            panic!("an AND: {tree:?}")
        };
        assert_eq!(args.len(), 2);
        let mut found = Vec::new();
        matches(&tree, &mut found);
        let flags: Vec<(Option<&str>, bool)> =
            found.iter().map(|m| (m.field, m.under_or)).collect();
        assert_eq!(flags, vec![(Some("A"), true), (Some("B"), false)]);
    }

    #[test]
    fn values_become_or_and_all_becomes_and() {
        let file = rule(
            "sel:\n    A:\n        - x\n        - y\n    B|contains|all:\n        - p\n        - q\ncondition: sel",
        );
        let tree = tree_of(&file);
        let Cond::And(items) = &tree else {
            panic!("{tree:?}")
        };
        assert!(matches!(&items[0], Cond::Or(v) if v.len() == 2));
        assert!(matches!(&items[1], Cond::And(v) if v.len() == 2));
    }

    #[test]
    fn windash_values_are_expansions_even_without_a_dash() {
        let file = rule(
            "sel:\n    C|windash|contains:\n        - ' -a'\n        - 'plain'\ncondition: sel",
        );
        let tree = tree_of(&file);
        let Cond::Or(values) = &tree else {
            panic!("{tree:?}")
        };
        let sizes: Vec<usize> = values
            .iter()
            .map(|v| match v {
                Cond::Match(Match {
                    value: Val::Expansion(e),
                    ..
                }) => e.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, vec![5, 1]);
    }

    #[test]
    fn matches_under_a_negated_group_are_marked() {
        let file = rule("a:\n    A: 1\nb:\n    B: 2\n    C: 3\ncondition: a and not b and not a");
        let tree = tree_of(&file);
        let mut found = Vec::new();
        matches(&tree, &mut found);
        let marks: Vec<bool> = found.iter().map(|m| m.under_negated_group).collect();
        // `not a` negates a single match; `not b` a group of two.
        assert_eq!(marks, vec![false, true, true, false]);
    }

    #[test]
    fn string_forms_follow_pysigma_order() {
        use crate::convert::esql::Esql;
        let forms = Esql.str_forms();
        let render = |raw: &str| Esql.render_str("F", &SigmaString::parse(raw), &forms);
        assert_eq!(render("ab*"), "starts_with(F, \"ab\")");
        assert_eq!(render("*ab"), "ends_with(F, \"ab\")");
        assert_eq!(render("*ab*"), "F like \"*ab*\"");
        assert_eq!(render("a*b"), "F like \"a*b\"");
        assert_eq!(render("ab"), "F==\"ab\"");
    }

    #[test]
    fn precedence_groups_only_looser_operands() {
        use crate::convert::esql::Esql;
        let file = rule(
            "a:\n    A: 1\nb:\n    B: 2\nc:\n    C: 3\ncondition: (a or b) and c or not (a and b)",
        );
        let tree = tree_of(&file);
        let input = ConvertInput {
            file: &file,
            document: &file.documents[0],
            rules: &crate::sigma::RuleSet::default(),
            state: None,
        };
        let cx = Cx {
            input: &input,
            target: "esql",
        };
        let out = Esql
            .convert(&cx, &tree, &mut State::default())
            .expect("converts");
        assert_eq!(
            out,
            Out::Text("(A==1 or B==2) and C==3 or not (A==1 and B==2)".into())
        );
    }

    #[test]
    fn identifiers() {
        assert!(is_dotted_word("process.name"));
        assert!(!is_dotted_word("c-uri"));
        assert!(is_word("EventID"));
        assert!(!is_word("a.b"));
    }
}
