//! The condition grammar: `and`, `or`, `not`, parentheses, `1 of`/`all of` selectors and the
//! deprecated pipe aggregations, parsed into the boolean tree that every backend renders.
//!
//! The tree keeps the rule's shape: a chain `a and b and c` is one n-ary node, a parenthesised
//! group is its own node, and selectors stay selectors (with the identifiers they matched), so
//! backends that reproduce a converter's parenthesisation can do so. Precedence, from loosest to
//! tightest: `or`, `and`, `not`, `x of`, parentheses.

use std::fmt;

use super::diagnostic::{Code, NodePath, Problem};
use super::value::Number;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The condition text as written.
    pub text: String,
    /// The boolean expression.
    pub expr: ConditionExpr,
    /// A deprecated pipe aggregation (`| count() by X > 5`, `| near …`).
    pub aggregation: Option<Aggregation>,
    /// Where the condition is.
    pub path: NodePath,
}

/// A boolean expression over search identifiers.
#[derive(Debug, Clone, PartialEq)]
pub enum ConditionExpr {
    /// All operands.
    And(Vec<ConditionExpr>),
    /// Any operand.
    Or(Vec<ConditionExpr>),
    /// Negation.
    Not(Box<ConditionExpr>),
    /// A search identifier by name.
    Identifier(String),
    /// `1 of x*`, `all of them`…
    Selector(Selector),
}

/// `1 of …` or `all of …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// `1 of` or `all of`.
    pub quantifier: Quantifier,
    /// `them` or a pattern.
    pub target: SelectorTarget,
    /// The search identifiers the target matched, in detection order.
    pub identifiers: Vec<String>,
}

/// The quantifier of a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// `1 of`: OR.
    One,
    /// `all of`: AND.
    All,
}

/// What a selector ranges over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorTarget {
    /// `them`: every identifier not starting with `_`.
    Them,
    /// A pattern with `*` wildcards.
    Pattern(String),
}

/// A deprecated pipe aggregation of Sigma v1.
#[derive(Debug, Clone, PartialEq)]
pub enum Aggregation {
    /// `| count(field) by group > n` and the other functions.
    Function {
        /// The function.
        function: AggregateFunction,
        /// The aggregated field (`count()` has none).
        field: Option<String>,
        /// The `by` field.
        group_by: Option<String>,
        /// The comparison.
        op: AggregateOp,
        /// The threshold.
        threshold: Number,
    },
    /// `| near a and not b`: events within the rule's `timeframe`.
    Near {
        /// The events that must occur near each other.
        expr: ConditionExpr,
    },
}

/// An aggregation function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFunction {
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `avg`
    Avg,
    /// `sum`
    Sum,
}

impl AggregateFunction {
    /// The function's name.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFunction::Count => "count",
            AggregateFunction::Min => "min",
            AggregateFunction::Max => "max",
            AggregateFunction::Avg => "avg",
            AggregateFunction::Sum => "sum",
        }
    }
}

/// The comparison of an aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `=` or `==`
    Eq,
}

impl AggregateOp {
    /// The symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            AggregateOp::Gt => ">",
            AggregateOp::Gte => ">=",
            AggregateOp::Lt => "<",
            AggregateOp::Lte => "<=",
            AggregateOp::Eq => "=",
        }
    }
}

impl fmt::Display for ConditionExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn join(f: &mut fmt::Formatter<'_>, items: &[ConditionExpr], op: &str) -> fmt::Result {
            f.write_str("(")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{item}")?;
            }
            f.write_str(")")
        }
        match self {
            ConditionExpr::And(items) => join(f, items, "and"),
            ConditionExpr::Or(items) => join(f, items, "or"),
            ConditionExpr::Not(inner) => write!(f, "not {inner}"),
            ConditionExpr::Identifier(name) => f.write_str(name),
            ConditionExpr::Selector(s) => {
                let q = match s.quantifier {
                    Quantifier::One => "1",
                    Quantifier::All => "all",
                };
                match &s.target {
                    SelectorTarget::Them => write!(f, "{q} of them"),
                    SelectorTarget::Pattern(p) => write!(f, "{q} of {p}"),
                }
            }
        }
    }
}

impl ConditionExpr {
    /// Every search identifier the expression uses (selectors expanded), in order, with
    /// duplicates.
    pub fn identifiers(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_identifiers(&mut out);
        out
    }

    fn collect_identifiers<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            ConditionExpr::And(items) | ConditionExpr::Or(items) => {
                items.iter().for_each(|i| i.collect_identifiers(out));
            }
            ConditionExpr::Not(inner) => inner.collect_identifiers(out),
            ConditionExpr::Identifier(name) => out.push(name),
            ConditionExpr::Selector(s) => out.extend(s.identifiers.iter().map(String::as_str)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Pipe,
    Comma,
    Cmp(AggregateOp),
    Word(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Character offset in the condition text.
    offset: usize,
}

impl Token {
    fn describe(&self) -> String {
        match &self.tok {
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Pipe => "`|`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Cmp(op) => format!("`{}`", op.symbol()),
            Tok::Word(w) => format!("`{w}`"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '|' => Tok::Pipe,
            ',' => Tok::Comma,
            '>' | '<' | '=' | '!' => {
                let next = chars.get(i + 1).copied();
                let (op, len) = match (c, next) {
                    ('>', Some('=')) => (AggregateOp::Gte, 2),
                    ('<', Some('=')) => (AggregateOp::Lte, 2),
                    ('=', Some('=')) => (AggregateOp::Eq, 2),
                    ('>', _) => (AggregateOp::Gt, 1),
                    ('<', _) => (AggregateOp::Lt, 1),
                    ('=', _) => (AggregateOp::Eq, 1),
                    _ => return Err((i, format!("unexpected character `{c}`"))),
                };
                i += len;
                tokens.push(Token {
                    tok: Tok::Cmp(op),
                    offset: start,
                });
                continue;
            }
            _ => {
                while i < chars.len() && !chars[i].is_whitespace() && !"()|,<>=!".contains(chars[i])
                {
                    i += 1;
                }
                tokens.push(Token {
                    tok: Tok::Word(chars[start..i].iter().collect()),
                    offset: start,
                });
                continue;
            }
        };
        i += 1;
        tokens.push(Token { tok, offset: start });
    }
    Ok(tokens)
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

struct ConditionParser<'a> {
    tokens: Vec<Token>,
    position: usize,
    identifiers: &'a [String],
    end: usize,
    depth: usize,
    max_depth: usize,
}

type ParseResult<T> = Result<T, (Code, usize, String)>;

impl ConditionParser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn peek_word(&self, keyword: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Word(w), .. }) if is_keyword(w, keyword))
    }

    fn offset(&self) -> usize {
        self.peek().map_or(self.end, |t| t.offset)
    }

    fn descend(&mut self) -> ParseResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err((
                Code::ConditionSyntax,
                self.offset(),
                format!("condition nests deeper than {} levels", self.max_depth),
            ));
        }
        Ok(())
    }

    fn or_expr(&mut self) -> ParseResult<ConditionExpr> {
        let mut items = vec![self.and_expr()?];
        while self.peek_word("or") {
            self.position += 1;
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ConditionExpr::Or(items)
        })
    }

    fn and_expr(&mut self) -> ParseResult<ConditionExpr> {
        let mut items = vec![self.not_expr()?];
        while self.peek_word("and") {
            self.position += 1;
            items.push(self.not_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            ConditionExpr::And(items)
        })
    }

    fn not_expr(&mut self) -> ParseResult<ConditionExpr> {
        if self.peek_word("not") {
            self.position += 1;
            self.descend()?;
            let inner = self.not_expr()?;
            self.depth -= 1;
            return Ok(ConditionExpr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> ParseResult<ConditionExpr> {
        let Some(token) = self.peek().cloned() else {
            return Err((
                Code::ConditionSyntax,
                self.end,
                "the condition ends where a search identifier, `not`, `1 of`, `all of` or `(` was expected".into(),
            ));
        };
        match &token.tok {
            Tok::LParen => {
                self.position += 1;
                self.descend()?;
                let inner = self.or_expr()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Token {
                        tok: Tok::RParen, ..
                    }) => {
                        self.position += 1;
                        Ok(inner)
                    }
                    Some(t) => Err((
                        Code::ConditionSyntax,
                        t.offset,
                        format!("expected `and`, `or` or `)`, found {}", t.describe()),
                    )),
                    None => Err((
                        Code::UnbalancedParentheses,
                        token.offset,
                        "this `(` is never closed".into(),
                    )),
                }
            }
            Tok::Word(word) => {
                let next_is_of = matches!(
                    self.tokens.get(self.position + 1),
                    Some(Token { tok: Tok::Word(w), .. }) if is_keyword(w, "of")
                );
                if next_is_of {
                    return self.selector(word, token.offset);
                }
                for keyword in ["and", "or", "of", "them"] {
                    if is_keyword(word, keyword) {
                        return Err((
                            Code::ConditionSyntax,
                            token.offset,
                            format!(
                                "expected a search identifier, `not`, `1 of`, `all of` or `(`, found `{word}`"
                            ),
                        ));
                    }
                }
                self.position += 1;
                if !self.identifiers.iter().any(|i| i == word) {
                    return Err((
                        Code::UndefinedIdentifier,
                        token.offset,
                        undefined_message(word, self.identifiers),
                    ));
                }
                Ok(ConditionExpr::Identifier(word.clone()))
            }
            _ => Err((
                Code::ConditionSyntax,
                token.offset,
                format!(
                    "expected a search identifier, `not`, `1 of`, `all of` or `(`, found {}",
                    token.describe()
                ),
            )),
        }
    }

    fn selector(&mut self, quantifier: &str, offset: usize) -> ParseResult<ConditionExpr> {
        let quantifier = if quantifier == "1" {
            Quantifier::One
        } else if is_keyword(quantifier, "all") {
            Quantifier::All
        } else {
            return Err((
                Code::ConditionSyntax,
                offset,
                format!("`{quantifier} of` is not defined; use `1 of` or `all of`"),
            ));
        };
        self.position += 2;
        let Some(Token {
            tok: Tok::Word(target),
            offset: target_offset,
        }) = self.peek().cloned()
        else {
            return Err((
                Code::ConditionSyntax,
                self.offset(),
                "expected `them` or a search identifier pattern after `of`".into(),
            ));
        };
        self.position += 1;
        let (target, identifiers) = if is_keyword(&target, "them") {
            let ids: Vec<String> = self
                .identifiers
                .iter()
                .filter(|i| !i.starts_with('_'))
                .cloned()
                .collect();
            (SelectorTarget::Them, ids)
        } else {
            let ids: Vec<String> = self
                .identifiers
                .iter()
                .filter(|i| wildcard_match(&target, i))
                .cloned()
                .collect();
            if ids.is_empty() {
                let code = if target.contains('*') {
                    Code::UnmatchedPattern
                } else {
                    Code::UndefinedIdentifier
                };
                let message = if target.contains('*') {
                    format!("`{target}` matches no search identifier")
                } else {
                    undefined_message(&target, self.identifiers)
                };
                return Err((code, target_offset, message));
            }
            (SelectorTarget::Pattern(target), ids)
        };
        Ok(ConditionExpr::Selector(Selector {
            quantifier,
            target,
            identifiers,
        }))
    }

    fn aggregation(&mut self) -> ParseResult<Aggregation> {
        let Some(Token {
            tok: Tok::Word(word),
            offset,
        }) = self.peek().cloned()
        else {
            return Err((
                Code::ConditionSyntax,
                self.offset(),
                "expected an aggregation (`count()`, `near`…) after `|`".into(),
            ));
        };
        self.position += 1;
        if is_keyword(&word, "near") {
            let expr = self.or_expr()?;
            return Ok(Aggregation::Near { expr });
        }
        let function = match word.to_ascii_lowercase().as_str() {
            "count" => AggregateFunction::Count,
            "min" => AggregateFunction::Min,
            "max" => AggregateFunction::Max,
            "avg" => AggregateFunction::Avg,
            "sum" => AggregateFunction::Sum,
            _ => {
                return Err((
                    Code::ConditionSyntax,
                    offset,
                    format!(
                        "unknown aggregation `{word}` (expected count, min, max, avg, sum or near)"
                    ),
                ));
            }
        };
        self.expect(Tok::LParen, "`(`")?;
        let mut field = None;
        if let Some(Token {
            tok: Tok::Word(w), ..
        }) = self.peek().cloned()
        {
            field = Some(w);
            self.position += 1;
        }
        self.expect(Tok::RParen, "`)`")?;
        let mut group_by = None;
        if self.peek_word("by") {
            self.position += 1;
            match self.peek().cloned() {
                Some(Token {
                    tok: Tok::Word(w), ..
                }) => {
                    group_by = Some(w);
                    self.position += 1;
                }
                _ => {
                    return Err((
                        Code::ConditionSyntax,
                        self.offset(),
                        "expected a field name after `by`".into(),
                    ));
                }
            }
        }
        let op = match self.peek().cloned() {
            Some(Token {
                tok: Tok::Cmp(op), ..
            }) => {
                self.position += 1;
                op
            }
            _ => {
                return Err((
                    Code::ConditionSyntax,
                    self.offset(),
                    "expected a comparison (`>`, `>=`, `<`, `<=`, `=`) in the aggregation".into(),
                ));
            }
        };
        let threshold = match self.peek().cloned() {
            Some(Token {
                tok: Tok::Word(w),
                offset,
            }) => {
                self.position += 1;
                match w.parse::<i64>() {
                    Ok(i) => Number::int(i),
                    Err(_) => match w.parse::<f64>() {
                        Ok(f) if f.is_finite() => Number {
                            text: w.clone(),
                            value: super::value::NumberValue::Float(f),
                        },
                        _ => {
                            return Err((
                                Code::ConditionSyntax,
                                offset,
                                format!("expected a number, found `{w}`"),
                            ));
                        }
                    },
                }
            }
            _ => {
                return Err((
                    Code::ConditionSyntax,
                    self.offset(),
                    "expected a number after the comparison".into(),
                ));
            }
        };
        Ok(Aggregation::Function {
            function,
            field,
            group_by,
            op,
            threshold,
        })
    }

    fn expect(&mut self, tok: Tok, what: &str) -> ParseResult<()> {
        match self.peek() {
            Some(t) if t.tok == tok => {
                self.position += 1;
                Ok(())
            }
            Some(t) => Err((
                Code::ConditionSyntax,
                t.offset,
                format!("expected {what}, found {}", t.describe()),
            )),
            None => Err((
                Code::ConditionSyntax,
                self.end,
                format!("expected {what} at the end of the condition"),
            )),
        }
    }
}

fn undefined_message(word: &str, identifiers: &[String]) -> String {
    let mut message = format!("`{word}` is not a search identifier of this detection");
    if let Some(close) = identifiers
        .iter()
        .find(|i| i.eq_ignore_ascii_case(word) || levenshtein(i, word) <= 2)
    {
        message.push_str(&format!(" (did you mean `{close}`?)"));
    } else if !identifiers.is_empty() {
        let list: Vec<String> = identifiers
            .iter()
            .take(8)
            .map(|i| format!("`{i}`"))
            .collect();
        message.push_str(&format!("; defined: {}", list.join(", ")));
    }
    message
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Matches `name` against a selector pattern where `*` stands for any characters.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(pos) => rest = &rest[pos + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Checks that parentheses balance, reporting the first offending one.
fn check_parentheses(tokens: &[Token]) -> Result<(), (Code, usize, String)> {
    let mut open = Vec::new();
    for t in tokens {
        match t.tok {
            Tok::LParen => open.push(t.offset),
            Tok::RParen if open.pop().is_none() => {
                return Err((
                    Code::UnbalancedParentheses,
                    t.offset,
                    "this `)` has no matching `(`".into(),
                ));
            }
            _ => {}
        }
    }
    match open.pop() {
        Some(offset) => Err((
            Code::UnbalancedParentheses,
            offset,
            "this `(` is never closed".into(),
        )),
        None => Ok(()),
    }
}

/// Parses a condition against the search identifiers of its detection.
///
/// `path` is the condition's node; problems point into the condition text.
pub fn parse_condition(
    text: &str,
    identifiers: &[String],
    path: &NodePath,
    max_depth: usize,
) -> Result<Condition, Problem> {
    let fail = |(code, offset, message): (Code, usize, String)| {
        Problem::at(code, &path.at_offset(offset), message)
    };
    let tokens = tokenize(text)
        .map_err(|(offset, message)| fail((Code::ConditionSyntax, offset, message)))?;
    if tokens.is_empty() {
        return Err(Problem::at(
            Code::ConditionSyntax,
            path,
            "the condition is empty",
        ));
    }
    check_parentheses(&tokens).map_err(fail)?;
    let mut parser = ConditionParser {
        tokens,
        position: 0,
        identifiers,
        end: text.chars().count(),
        depth: 0,
        max_depth,
    };
    let expr = parser.or_expr().map_err(fail)?;
    let mut aggregation = None;
    match parser.peek().cloned() {
        None => {}
        Some(Token { tok: Tok::Pipe, .. }) => {
            parser.position += 1;
            aggregation = Some(parser.aggregation().map_err(fail)?);
            if let Some(t) = parser.peek() {
                return Err(fail((
                    Code::ConditionSyntax,
                    t.offset,
                    format!("unexpected {} after the aggregation", t.describe()),
                )));
            }
        }
        Some(t) => {
            let message = match &t.tok {
                Tok::Word(_) => format!(
                    "expected `and`, `or` or the end of the condition, found {}",
                    t.describe()
                ),
                _ => format!("unexpected {}", t.describe()),
            };
            return Err(fail((Code::ConditionSyntax, t.offset, message)));
        }
    }
    Ok(Condition {
        text: text.to_string(),
        expr,
        aggregation,
        path: path.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn parse(text: &str) -> Result<Condition, Problem> {
        parse_condition(
            text,
            &ids(&[
                "selection",
                "filter_a",
                "filter_b",
                "sel1",
                "sel2",
                "_hidden",
            ]),
            &NodePath::root(0),
            64,
        )
    }

    #[test]
    fn precedence_is_not_and_or() {
        let c = parse("selection and not filter_a or sel1").unwrap();
        assert_eq!(c.expr.to_string(), "((selection and not filter_a) or sel1)");
        let c = parse("sel1 or sel2 and selection").unwrap();
        assert_eq!(c.expr.to_string(), "(sel1 or (sel2 and selection))");
        let c = parse("not (sel1 or sel2)").unwrap();
        assert_eq!(c.expr.to_string(), "not (sel1 or sel2)");
        let c = parse("sel1 and sel2 and selection").unwrap();
        assert!(matches!(&c.expr, ConditionExpr::And(v) if v.len() == 3));
        let c = parse("(sel1 and sel2) and selection").unwrap();
        assert!(matches!(&c.expr, ConditionExpr::And(v) if v.len() == 2));
    }

    #[test]
    fn selectors_resolve() {
        let c = parse("selection and not 1 of filter_*").unwrap();
        assert_eq!(
            c.expr.identifiers(),
            vec!["selection", "filter_a", "filter_b"]
        );
        let c = parse("all of them").unwrap();
        assert_eq!(c.expr.identifiers().len(), 5, "_hidden is excluded");
        let c = parse("1 of sel*").unwrap();
        assert_eq!(c.expr.identifiers(), vec!["selection", "sel1", "sel2"]);
        assert_eq!(
            parse("1 of nope*").unwrap_err().code,
            Code::UnmatchedPattern
        );
        assert_eq!(parse("2 of sel*").unwrap_err().code, Code::ConditionSyntax);
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse("selection and nope").unwrap_err();
        assert_eq!(e.code, Code::UndefinedIdentifier);
        assert_eq!(
            e.at,
            crate::sigma::diagnostic::Where::Node(NodePath::root(0).at_offset(14))
        );
        let e = parse("(selection and sel1").unwrap_err();
        assert_eq!(e.code, Code::UnbalancedParentheses);
        let e = parse("selection)").unwrap_err();
        assert_eq!(e.code, Code::UnbalancedParentheses);
        assert_eq!(
            parse("selection and").unwrap_err().code,
            Code::ConditionSyntax
        );
        assert_eq!(
            parse("selection sel1").unwrap_err().code,
            Code::ConditionSyntax
        );
        assert_eq!(parse("").unwrap_err().code, Code::ConditionSyntax);
        assert!(
            parse("selction")
                .unwrap_err()
                .message
                .contains("did you mean `selection`")
        );
    }

    #[test]
    fn aggregations_parse() {
        let c = parse("selection | count() by TargetUserName > 5").unwrap();
        assert_eq!(
            c.aggregation,
            Some(Aggregation::Function {
                function: AggregateFunction::Count,
                field: None,
                group_by: Some("TargetUserName".into()),
                op: AggregateOp::Gt,
                threshold: Number::int(5)
            })
        );
        let c = parse("selection | count(User) by Ip >= 10").unwrap();
        assert!(matches!(
            c.aggregation,
            Some(Aggregation::Function {
                op: AggregateOp::Gte,
                ..
            })
        ));
        let c = parse("selection | near sel1 and not sel2").unwrap();
        assert!(matches!(c.aggregation, Some(Aggregation::Near { .. })));
        assert!(parse("selection | frobnicate() > 1").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}selection{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(parse(&text).unwrap_err().code, Code::ConditionSyntax);
        let text = format!("{}selection", "not ".repeat(100_000));
        assert_eq!(parse(&text).unwrap_err().code, Code::ConditionSyntax);
    }
}
