//! Typed detection values: Sigma string patterns (literal text and `*`/`?` wildcards, with the
//! specification's `\` escapes already resolved), numbers, booleans, null, regular expressions,
//! networks, comparisons and field references.
//!
//! Query backends receive only these types; each escapes them for its own language, once.

use std::fmt;

/// One piece of a Sigma string pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Piece {
    /// Literal text (never empty).
    Text(String),
    /// `*`: any number of characters.
    AnyString,
    /// `?`: exactly one character.
    AnyChar,
    /// `%name%` under the `expand` modifier: a value supplied by the user's environment.
    Placeholder(String),
}

/// A Sigma string value: literal text interleaved with wildcards (and placeholders).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SigmaString {
    pieces: Vec<Piece>,
}

impl SigmaString {
    /// Parses a rule's string value by the specification's escape rules: `*` and `?` are
    /// wildcards, `\*`, `\?` and `\\` are the literal characters, and any other backslash is a
    /// literal backslash.
    pub fn parse(raw: &str) -> Self {
        Self::parse_inner(raw, false)
    }

    /// Like [`SigmaString::parse`], and additionally turns `%name%` into placeholders (the
    /// `expand` modifier); `\%` is a literal percent sign.
    pub fn parse_with_placeholders(raw: &str) -> Self {
        Self::parse_inner(raw, true)
    }

    fn parse_inner(raw: &str, placeholders: bool) -> Self {
        let mut s = SigmaString::default();
        let special = |c: char| matches!(c, '\\' | '*' | '?') || (placeholders && c == '%');
        let mut rest = raw;
        // Literal runs are copied whole; only the (ASCII) special characters are looked at.
        while let Some(at) = rest.find(special) {
            s.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            rest = match rest.as_bytes()[at] {
                b'\\' => match tail.as_bytes().first() {
                    Some(&next @ (b'*' | b'?' | b'\\')) => {
                        s.push_char(char::from(next));
                        &tail[1..]
                    }
                    Some(b'%') if placeholders => {
                        s.push_char('%');
                        &tail[1..]
                    }
                    _ => {
                        s.push_char('\\');
                        tail
                    }
                },
                b'*' => {
                    s.pieces.push(Piece::AnyString);
                    tail
                }
                b'?' => {
                    s.pieces.push(Piece::AnyChar);
                    tail
                }
                // `%` with placeholders on: `%name%` (no whitespace inside) is a placeholder.
                _ => match tail.find('%') {
                    Some(end) if end > 0 && !tail[..end].contains(char::is_whitespace) => {
                        s.pieces.push(Piece::Placeholder(tail[..end].to_string()));
                        &tail[end + 1..]
                    }
                    _ => {
                        s.push_char('%');
                        tail
                    }
                },
            };
        }
        s.push_str(rest);
        s
    }

    /// A string of literal text only.
    pub fn literal(text: &str) -> Self {
        let mut s = SigmaString::default();
        s.push_str(text);
        s
    }

    /// Builds a string from pieces, merging adjacent text.
    pub fn from_pieces(pieces: impl IntoIterator<Item = Piece>) -> Self {
        let mut s = SigmaString::default();
        for piece in pieces {
            s.push(piece);
        }
        s
    }

    /// The pieces, in order. Adjacent text pieces are always merged.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Appends a piece, merging text.
    pub fn push(&mut self, piece: Piece) {
        match piece {
            Piece::Text(t) => self.push_str(&t),
            other => self.pieces.push(other),
        }
    }

    /// Appends literal text.
    pub fn push_str(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else {
            self.pieces.push(Piece::Text(text.to_string()));
        }
    }

    fn push_char(&mut self, c: char) {
        if let Some(Piece::Text(last)) = self.pieces.last_mut() {
            last.push(c);
        } else {
            self.pieces.push(Piece::Text(c.to_string()));
        }
    }

    /// Whether the string is empty (`''`).
    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// Whether the string contains a `*` or `?` wildcard.
    pub fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::AnyString | Piece::AnyChar))
    }

    /// Whether the string contains placeholders.
    pub fn has_placeholders(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Placeholder(_)))
    }

    /// The text if the string is plain literal text (no wildcards or placeholders).
    pub fn as_plain(&self) -> Option<String> {
        match self.pieces.as_slice() {
            [] => Some(String::new()),
            [Piece::Text(t)] => Some(t.clone()),
            _ => None,
        }
    }

    /// Whether the first piece is `*`.
    pub fn starts_with_any(&self) -> bool {
        matches!(self.pieces.first(), Some(Piece::AnyString))
    }

    /// Whether the last piece is `*`.
    pub fn ends_with_any(&self) -> bool {
        matches!(self.pieces.last(), Some(Piece::AnyString))
    }

    /// This string with a leading `*` (unless it has one).
    pub fn with_leading_any(mut self) -> Self {
        if !self.starts_with_any() {
            self.pieces.insert(0, Piece::AnyString);
        }
        self
    }

    /// This string with a trailing `*` (unless it has one).
    pub fn with_trailing_any(mut self) -> Self {
        if !self.ends_with_any() {
            self.pieces.push(Piece::AnyString);
        }
        self
    }

    /// The literal text with wildcards rendered as `*`/`?` and placeholders as `%name%`, without
    /// any escaping: for display, not for queries.
    pub fn display_text(&self) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
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

    /// Renders the string with `escape` applied to each literal text piece and the given tokens
    /// for wildcards. Placeholders are rendered as `%name%` after escaping.
    pub fn render(
        &self,
        any_string: &str,
        any_char: &str,
        mut escape: impl FnMut(&str, &mut String),
    ) -> String {
        let written: usize = self
            .pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(t) => t.len(),
                _ => any_string.len(),
            })
            .sum();
        // Room for the text and a few escapes: most strings are rendered without growing.
        let mut out = String::with_capacity(written + 8);
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => escape(t, &mut out),
                Piece::AnyString => out.push_str(any_string),
                Piece::AnyChar => out.push_str(any_char),
                Piece::Placeholder(p) => {
                    out.push('%');
                    out.push_str(p);
                    out.push('%');
                }
            }
        }
        out
    }

    /// Applies `f` to every literal text piece.
    pub fn map_text(&self, mut f: impl FnMut(&str) -> String) -> Self {
        SigmaString::from_pieces(self.pieces.iter().map(|p| match p {
            Piece::Text(t) => Piece::Text(f(t)),
            other => other.clone(),
        }))
    }
}

impl fmt::Display for SigmaString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_text())
    }
}

/// A number as written in the rule, with its parsed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The canonical text (`3`, `-1`, `1.5`).
    pub text: String,
    /// The parsed value.
    pub value: NumberValue,
}

/// A parsed number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberValue {
    /// An integer.
    Int(i64),
    /// An unsigned integer beyond `i64`.
    UInt(u64),
    /// A floating-point number.
    Float(f64),
}

impl Number {
    /// Converts a YAML number.
    pub fn from_yaml(n: &serde_yaml::Number) -> Self {
        let value = if let Some(i) = n.as_i64() {
            NumberValue::Int(i)
        } else if let Some(u) = n.as_u64() {
            NumberValue::UInt(u)
        } else {
            NumberValue::Float(n.as_f64().unwrap_or(f64::NAN))
        };
        Number {
            text: n.to_string(),
            value,
        }
    }

    /// An integer.
    pub fn int(i: i64) -> Self {
        Number {
            text: i.to_string(),
            value: NumberValue::Int(i),
        }
    }

    /// The value as a float, for comparisons.
    pub fn as_f64(&self) -> f64 {
        match self.value {
            NumberValue::Int(i) => i as f64,
            NumberValue::UInt(u) => u as f64,
            NumberValue::Float(f) => f,
        }
    }

    /// The value as an integer if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self.value {
            NumberValue::Int(i) => Some(i),
            _ => None,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Flags of a `|re` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RegexFlags {
    /// `|i`: case-insensitive.
    pub ignore_case: bool,
    /// `|m`: `^`/`$` match at line boundaries.
    pub multi_line: bool,
    /// `|s`: `.` matches newlines.
    pub dot_all: bool,
}

impl RegexFlags {
    /// Whether no flag is set.
    pub fn is_empty(&self) -> bool {
        !(self.ignore_case || self.multi_line || self.dot_all)
    }

    /// The flags as letters, in `ims` order.
    pub fn letters(&self) -> String {
        let mut s = String::new();
        if self.ignore_case {
            s.push('i');
        }
        if self.multi_line {
            s.push('m');
        }
        if self.dot_all {
            s.push('s');
        }
        s
    }
}

/// A comparison operator of the numeric modifiers (`gt`, `gte`, `lt`, `lte`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
}

impl CompareOp {
    /// The operator symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
        }
    }
}

/// A CIDR network of a `|cidr` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The network as written (`10.0.0.0/8`, `fe80::/10`).
    pub text: String,
    /// The address part.
    pub address: std::net::IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or an IPv6 network; a bare address is a host network.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (
                a,
                Some(
                    p.parse::<u8>()
                        .map_err(|_| format!("invalid prefix length `{p}`"))?,
                ),
            ),
            None => (text, None),
        };
        let address: std::net::IpAddr = address
            .parse()
            .map_err(|_| format!("`{address}` is not an IP address"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(format!("prefix length {prefix} is larger than {max}"));
        }
        Ok(Cidr {
            text: text.to_string(),
            address,
            prefix,
        })
    }

    /// The network's address range as wildcard prefixes for query languages without CIDR
    /// support: IPv4 prefixes on octet boundaries expand exactly (`10.*`), others are listed
    /// per octet value.
    pub fn ipv4_wildcard_prefixes(&self) -> Option<Vec<String>> {
        let std::net::IpAddr::V4(v4) = self.address else {
            return None;
        };
        let bits = u32::from(v4);
        let prefix = u32::from(self.prefix);
        let full_octets = prefix / 8;
        let rest = prefix % 8;
        let mask = if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        };
        let base = bits & mask;
        let octets = base.to_be_bytes();
        let mut out = Vec::new();
        if prefix == 32 {
            return Some(vec![v4.to_string()]);
        }
        let head: Vec<String> = octets[..full_octets as usize]
            .iter()
            .map(|o| o.to_string())
            .collect();
        if rest == 0 {
            let mut s = head.join(".");
            if !s.is_empty() {
                s.push('.');
            }
            s.push('*');
            out.push(s);
        } else {
            let octet = octets[full_octets as usize];
            let count = 1u16 << (8 - rest);
            for v in 0..count {
                let mut parts = head.clone();
                parts.push((u16::from(octet) + v).to_string());
                let mut s = parts.join(".");
                if parts.len() < 4 {
                    s.push_str(".*");
                }
                out.push(s);
            }
        }
        Some(out)
    }
}

/// A pipeline's query expression with `{field}` (the target's rendering of the item's field)
/// and `{id}` filled in, `{{` and `}}` as single braces: what Python's `str.format` of the
/// expression gives (pySigma's `SigmaQueryExpression`). A `{field}` without a field (a keyword item) is an error.
pub fn fill_query_expression(
    expression: &str,
    field: Option<&str>,
    id: &str,
) -> Result<String, String> {
    let mut out = String::with_capacity(expression.len() + id.len());
    let mut rest = expression;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
            out.push_str(&tail[..1]);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{field}") {
            let Some(field) = field else {
                return Err(format!(
                    "the query expression `{expression}` has a `{{field}}` but the item has no field"
                ));
            };
            out.push_str(field);
            rest = after;
        } else if let Some(after) = tail.strip_prefix("{id}") {
            out.push_str(id);
            rest = after;
        } else {
            return Err(format!(
                "the query expression `{expression}` has a brace that is not `{{field}}`, `{{id}}`, `{{{{` or `}}}}`"
            ));
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A detection value after modifiers are applied: what backends render.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string pattern (plain, wildcard or with placeholders).
    String(SigmaString),
    /// A number written as a YAML number.
    Number(Number),
    /// A YAML boolean.
    Bool(bool),
    /// YAML `null`: the field is absent or empty.
    Null,
    /// A regular expression (`|re`), its text exactly as written.
    Regex {
        /// The pattern.
        pattern: String,
        /// `|i`, `|m`, `|s`.
        flags: RegexFlags,
    },
    /// A network (`|cidr`).
    Cidr(Cidr),
    /// `|exists`: whether the field must exist.
    Exists(bool),
    /// `|gt` and friends.
    Compare(CompareOp, Number),
    /// `|fieldref`: the value of another field of the same event.
    FieldRef(String),
    /// A query part written by a processing pipeline (`query_expression_placeholders`) for a
    /// `%name%` placeholder: `expression` with `{field}` (the item's field, as the target
    /// writes field names) and `{id}` filled in by the backend.
    QueryExpression {
        /// The expression, with `{field}` and `{id}` to fill in (`{{`/`}}` stand for braces).
        expression: String,
        /// What `{id}` becomes (the placeholder's name, or its mapped identifier).
        id: String,
    },
}

impl Value {
    /// A short name of the value's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::String(s) if s.has_placeholders() => "placeholder",
            Value::String(s) if s.has_wildcards() => "wildcard string",
            Value::String(_) => "string",
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::Regex { .. } => "regular expression",
            Value::Cidr(_) => "CIDR network",
            Value::Exists(_) => "exists check",
            Value::Compare(..) => "numeric comparison",
            Value::FieldRef(_) => "field reference",
            Value::QueryExpression { .. } => "query expression",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => write!(f, "{s}"),
            Value::Number(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Null => f.write_str("null"),
            Value::Regex { pattern, .. } => write!(f, "/{pattern}/"),
            Value::Cidr(c) => f.write_str(&c.text),
            Value::Exists(b) => write!(f, "exists: {b}"),
            Value::Compare(op, n) => write!(f, "{}{n}", op.symbol()),
            Value::FieldRef(r) => write!(f, "field {r}"),
            Value::QueryExpression { expression, id } => write!(f, "query {expression} ({id})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(raw: &str) -> Vec<Piece> {
        SigmaString::parse(raw).pieces().to_vec()
    }

    #[test]
    fn escapes_follow_the_specification() {
        use Piece::*;
        assert_eq!(
            pieces(r"*\rundll32.exe"),
            vec![AnyString, Text(r"\rundll32.exe".into())]
        );
        assert_eq!(pieces(r"lit\*star"), vec![Text("lit*star".into())]);
        assert_eq!(pieces(r"a\?b"), vec![Text("a?b".into())]);
        assert_eq!(pieces(r"a\\*"), vec![Text(r"a\".into()), AnyString]);
        assert_eq!(pieces(r"a\\\*"), vec![Text(r"a\*".into())]);
        assert_eq!(pieces(r"back\\\\slash"), vec![Text(r"back\\slash".into())]);
        assert_eq!(pieces(r"trail\\"), vec![Text(r"trail\".into())]);
        assert_eq!(pieces(r"trail\"), vec![Text(r"trail\".into())]);
        assert_eq!(
            pieces("a?b*c"),
            vec![
                Text("a".into()),
                AnyChar,
                Text("b".into()),
                AnyString,
                Text("c".into())
            ]
        );
        assert!(pieces("").is_empty());
    }

    #[test]
    fn placeholders_need_expand() {
        use Piece::*;
        assert_eq!(pieces("%Servers%"), vec![Text("%Servers%".into())]);
        assert_eq!(
            SigmaString::parse_with_placeholders(r"\%plain%name%")
                .pieces()
                .to_vec(),
            vec![Text("%plain".into()), Placeholder("name".into())]
        );
        assert_eq!(
            SigmaString::parse_with_placeholders("%Admins%")
                .pieces()
                .to_vec(),
            vec![Placeholder("Admins".into())]
        );
    }

    #[test]
    fn cidr_parses_and_expands() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert_eq!(c.ipv4_wildcard_prefixes().unwrap(), vec!["10.*"]);
        let c = Cidr::parse("172.16.0.0/12").unwrap();
        let p = c.ipv4_wildcard_prefixes().unwrap();
        assert_eq!(p.len(), 16);
        assert_eq!(p[0], "172.16.*");
        assert_eq!(p[15], "172.31.*");
        assert!(Cidr::parse("fe80::/10").is_ok());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nope/8").is_err());
    }
}
