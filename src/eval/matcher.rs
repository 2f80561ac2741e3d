//! Compiled values: what one value of a detection item (after its modifiers, as the parser
//! lowered it) tests of one event value. Patterns are lowercased once here unless `|cased`,
//! regexes built once, networks turned into masks.

use std::net::IpAddr;

use super::event::FieldValue;
use super::prefilter::{Anchor, Atom};
use crate::sigma::value::{CompareOp, Piece, SigmaString, Value};

/// One token of a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A literal character.
    Char(char),
    /// `*`.
    AnyString,
    /// `?`.
    AnyChar,
}

/// A string pattern in the form that matches fastest.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// Exactly this text.
    Exact(Box<str>),
    /// Starts with.
    Prefix(Box<str>),
    /// Ends with.
    Suffix(Box<str>),
    /// Contains (the searcher built once).
    Contains(Box<memchr::memmem::Finder<'static>>),
    /// `*` between texts, no `?`: the text before the first `*` (a prefix, maybe empty), the
    /// texts between stars in order, the text after the last (a suffix, maybe empty).
    Stars(Box<[Box<str>]>),
    /// Anything else: `*` and `?` at any place.
    Glob(Box<[Token]>),
}

impl Pattern {
    /// Compiles the pieces of a Sigma string (which must hold no placeholders), lowercased
    /// unless `cased`.
    fn compile(string: &SigmaString, cased: bool) -> Pattern {
        let fold = |t: &str| {
            if cased {
                t.to_string()
            } else {
                t.to_lowercase()
            }
        };
        let pieces = string.pieces();
        match pieces {
            [] => Pattern::Exact("".into()),
            [Piece::Text(t)] => Pattern::Exact(fold(t).into()),
            [Piece::Text(t), Piece::AnyString] => Pattern::Prefix(fold(t).into()),
            [Piece::AnyString, Piece::Text(t)] => Pattern::Suffix(fold(t).into()),
            [Piece::AnyString, Piece::Text(t), Piece::AnyString] => Pattern::Contains(Box::new(
                memchr::memmem::Finder::new(fold(t).as_bytes()).into_owned(),
            )),
            [Piece::AnyString] => Pattern::Prefix("".into()),
            _ => {
                let mut tokens = Vec::new();
                for piece in pieces {
                    match piece {
                        Piece::Text(t) => tokens.extend(fold(t).chars().map(Token::Char)),
                        Piece::AnyString => {
                            if tokens.last() != Some(&Token::AnyString) {
                                tokens.push(Token::AnyString);
                            }
                        }
                        Piece::AnyChar => tokens.push(Token::AnyChar),
                        // Compilation refuses placeholders before patterns are built.
                        Piece::Placeholder(p) => {
                            tokens.extend(format!("%{p}%").chars().map(Token::Char))
                        }
                    }
                }
                if tokens.contains(&Token::AnyChar) {
                    Pattern::Glob(tokens.into_boxed_slice())
                } else {
                    let mut parts = vec![String::new()];
                    for token in &tokens {
                        match token {
                            Token::Char(c) => parts.last_mut().into_iter().for_each(|p| p.push(*c)),
                            _ => parts.push(String::new()),
                        }
                    }
                    Pattern::Stars(parts.into_iter().map(String::into_boxed_str).collect())
                }
            }
        }
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Pattern::Exact(p) => text == &**p,
            Pattern::Prefix(p) => text.starts_with(&**p),
            Pattern::Suffix(p) => text.ends_with(&**p),
            Pattern::Contains(finder) => finder.find(text.as_bytes()).is_some(),
            Pattern::Stars(parts) => stars_match(parts, text),
            Pattern::Glob(tokens) => glob_match(tokens, text),
        }
    }
}

impl Pattern {
    /// The longest literal text every match holds, lowercased, and where it sits in the
    /// value (for the rule set's prefilter); `None` when it is shorter than three bytes and
    /// would filter nothing, or holds a NUL (the prefilter's separator of values).
    pub fn literal(&self) -> Option<(String, Anchor)> {
        let (text, anchor) = match self {
            Pattern::Exact(p) => (p.to_string(), Anchor::Whole),
            Pattern::Prefix(p) => (p.to_string(), Anchor::Start),
            Pattern::Suffix(p) => (p.to_string(), Anchor::End),
            Pattern::Contains(f) => (
                String::from_utf8_lossy(f.needle()).into_owned(),
                Anchor::Anywhere,
            ),
            // The longest text between stars (the first of the longest), as for a glob.
            Pattern::Stars(parts) => (
                parts.iter().fold(String::new(), |best, part| {
                    if part.len() > best.len() {
                        part.to_string()
                    } else {
                        best
                    }
                }),
                Anchor::Anywhere,
            ),
            Pattern::Glob(tokens) => {
                let mut best = String::new();
                let mut run = String::new();
                for token in tokens.iter().chain([&Token::AnyString]) {
                    if let Token::Char(c) = token {
                        run.push(*c);
                    } else {
                        if run.len() > best.len() {
                            best = std::mem::take(&mut run);
                        }
                        run.clear();
                    }
                }
                (best, Anchor::Anywhere)
            }
        };
        let lower = text.to_lowercase();
        // Lowercasing can change a length (`İ`): then only "anywhere" is sure.
        let anchor = if lower.len() == text.len() {
            anchor
        } else {
            Anchor::Anywhere
        };
        (lower.len() >= 3 && !lower.contains('\0')).then_some((lower, anchor))
    }
}

/// Matching of texts between stars: the prefix and the suffix in place, then each middle text
/// at its leftmost place after the one before (taking the leftmost never loses a match, as a
/// star takes any text), searched for rather than tried at every position. Bytes are
/// compared: a UTF-8 text found in a UTF-8 text starts and ends at characters.
fn stars_match(parts: &[Box<str>], text: &str) -> bool {
    let (Some((first, rest)), bytes) = (parts.split_first(), text.as_bytes()) else {
        return true;
    };
    let (last, middle) = match rest.split_last() {
        Some((last, middle)) => (last.as_bytes(), middle),
        None => return text == &**first,
    };
    if bytes.len() < first.len() + last.len()
        || !bytes.starts_with(first.as_bytes())
        || !bytes.ends_with(last)
    {
        return false;
    }
    let mut hay = &bytes[first.len()..bytes.len() - last.len()];
    for part in middle {
        match memchr::memmem::find(hay, part.as_bytes()) {
            Some(at) => hay = &hay[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Wildcard matching with one backtracking point per `*`: linear for the patterns rules hold,
/// quadratic at worst, never exponential.
fn glob_match(tokens: &[Token], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let (mut t, mut c) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while c < chars.len() {
        match tokens.get(t) {
            Some(Token::AnyString) => {
                star = Some((t, c));
                t += 1;
            }
            Some(Token::AnyChar) => {
                t += 1;
                c += 1;
            }
            Some(Token::Char(p)) if *p == chars[c] => {
                t += 1;
                c += 1;
            }
            _ => match star {
                Some((st, sc)) => {
                    t = st + 1;
                    c = sc + 1;
                    star = Some((st, sc + 1));
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|tok| *tok == Token::AnyString)
}

/// Literals one of which every match of the regular expression holds, lowercased: the prefixes
/// or the suffixes its matches must have, whichever set has the longer shortest literal. `None`
/// when no such finite set is known, or a literal is shorter than three bytes once lowercased.
///
/// A case-insensitive expression's literals come in every case variant the expression accepts
/// (`K`, `k` and the Kelvin sign `K`; `s` and the long `ſ`), so the text a match holds is one
/// of them exactly, and lowercasing the value lowercases that text as the variant lowercases:
/// lowercasing is done a character at a time, whatever surrounds it, except for the Greek
/// sigma (`Σ` becomes `ς` at the end of a word), so a literal holding a sigma gives up.
fn regex_literals(
    pattern: &str,
    flags: &crate::sigma::value::RegexFlags,
) -> Option<Box<[Box<str>]>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(flags.ignore_case)
        .multi_line(flags.multi_line)
        .dot_matches_new_line(flags.dot_all)
        .build()
        .parse(pattern)
        .ok()?;
    let set = |kind: ExtractKind| -> Option<Vec<Box<str>>> {
        let mut extractor = Extractor::new();
        extractor.kind(kind);
        let seq = extractor.extract(&hir);
        let mut out: Vec<Box<str>> = Vec::new();
        for literal in seq.literals()? {
            let text = std::str::from_utf8(literal.as_bytes()).ok()?;
            let lower = text.to_lowercase();
            if lower.len() < 3 || lower.contains('\0') || lower.contains(['σ', 'ς']) {
                return None;
            }
            out.push(lower.into());
        }
        out.sort();
        out.dedup();
        (!out.is_empty()).then_some(out)
    };
    let shortest = |s: &Vec<Box<str>>| s.iter().map(|l| l.len()).min().unwrap_or(0);
    let best = match (set(ExtractKind::Prefix), set(ExtractKind::Suffix)) {
        (Some(p), Some(s)) => Some(if shortest(&s) > shortest(&p) { s } else { p }),
        (p, s) => p.or(s),
    };
    best.map(Vec::into_boxed_slice)
}

/// A compiled value of a detection item.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// A string pattern; `cased` compares the original text.
    Pattern {
        /// The pattern.
        pattern: Pattern,
        /// Whether to compare case-sensitively.
        cased: bool,
    },
    /// A number: equal as numbers when the event value reads as one, else as text.
    Number {
        /// The value.
        value: f64,
        /// The rule's text of it, for events holding text that is not a number.
        text: Box<str>,
    },
    /// A boolean.
    Bool(bool),
    /// `null`: the field is absent, null or empty.
    Null,
    /// `|exists`.
    Exists(bool),
    /// A regular expression, and the lowercase literals one of which each of its matches
    /// holds (when they are known), for the prefilter.
    Regex(regex::Regex, Option<Box<[Box<str>]>>),
    /// A network.
    Cidr {
        /// The network address bits.
        network: u128,
        /// The mask.
        mask: u128,
        /// IPv4 or IPv6.
        v4: bool,
    },
    /// `|gt` and friends.
    Compare(CompareOp, f64),
    /// `|fieldref`: equal to a value of the field with this id.
    FieldRef(u32),
}

/// Why a value cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unevaluable(pub String);

impl Matcher {
    /// Compiles one value; `field_id` resolves `|fieldref` names.
    pub fn compile(
        value: &Value,
        cased: bool,
        mut field_id: impl FnMut(&str) -> u32,
    ) -> Result<Matcher, Unevaluable> {
        Ok(match value {
            Value::String(s) if s.has_placeholders() => {
                return Err(Unevaluable(format!(
                    "the placeholder value `{s}` (`|expand`) needs values from the environment, which `sigwiki test` does not have"
                )));
            }
            Value::String(s) => Matcher::Pattern {
                pattern: Pattern::compile(s, cased),
                cased,
            },
            Value::Number(n) => Matcher::Number {
                value: n.as_f64(),
                text: n.text.to_lowercase().into(),
            },
            Value::Bool(b) => Matcher::Bool(*b),
            Value::Null => Matcher::Null,
            Value::Exists(b) => Matcher::Exists(*b),
            Value::Regex { pattern, flags } => Matcher::Regex(
                regex::RegexBuilder::new(pattern)
                    .case_insensitive(flags.ignore_case)
                    .multi_line(flags.multi_line)
                    .dot_matches_new_line(flags.dot_all)
                    .build()
                    .map_err(|e| {
                        Unevaluable(format!(
                            "the regular expression `{pattern}` uses what this engine cannot run: {}",
                            e.to_string().lines().last().unwrap_or_default()
                        ))
                    })?,
                regex_literals(pattern, flags),
            ),
            Value::Cidr(c) => {
                let (bits, width, v4) = match c.address {
                    IpAddr::V4(a) => (u128::from(u32::from(a)), 32u32, true),
                    IpAddr::V6(a) => (u128::from(a), 128u32, false),
                };
                let prefix = u32::from(c.prefix);
                let mask = if prefix == 0 {
                    0
                } else {
                    (u128::MAX << (width - prefix)) & (u128::MAX >> (128 - width))
                };
                Matcher::Cidr {
                    network: bits & mask,
                    mask,
                    v4,
                }
            }
            Value::Compare(op, n) => Matcher::Compare(*op, n.as_f64()),
            Value::FieldRef(name) => Matcher::FieldRef(field_id(name)),
            Value::QueryExpression { expression, .. } => {
                return Err(Unevaluable(format!(
                    "the query expression `{expression}` a pipeline put in is run by the SIEM, not by `sigwiki test`"
                )));
            }
        })
    }

    /// Facts one of which every value of `field` (any value, for a keyword) this matcher
    /// accepts shows, for the prefilter; `None` when there are none to tell.
    pub fn atoms(&self, field: Option<u32>) -> Option<Vec<Atom>> {
        match self {
            // A cased pattern's text need not survive lowercasing the whole value unchanged.
            Matcher::Pattern { pattern, cased } if !cased => {
                let (text, anchor) = pattern.literal()?;
                Some(vec![Atom::Text {
                    text,
                    field,
                    anchor,
                }])
            }
            Matcher::Number { value, text } => Some(vec![Atom::Number {
                field: field?,
                bits: Atom::number_bits(*value),
                text: text.clone(),
            }]),
            Matcher::Regex(_, Some(literals)) => Some(
                literals
                    .iter()
                    .map(|text| Atom::Text {
                        text: text.to_string(),
                        field,
                        anchor: Anchor::Anywhere,
                    })
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Whether the matcher accepts an absent field.
    pub fn matches_absent(&self) -> bool {
        matches!(self, Matcher::Null | Matcher::Exists(false))
    }

    /// Whether one present value matches. `other` tells whether a referenced field holds a value equal to this one.
    pub fn matches_value(
        &self,
        value: &FieldValue,
        other: &dyn Fn(u32, &FieldValue) -> bool,
    ) -> bool {
        match self {
            Matcher::Pattern { pattern, cased } => {
                pattern.is_match(if *cased { &value.text } else { value.lower() })
            }
            Matcher::Number { value: n, text } => match value.number {
                Some(v) => v == *n,
                None => value.lower().trim() == &**text,
            },
            Matcher::Bool(b) => value.lower() == if *b { "true" } else { "false" },
            Matcher::Null => value.is_null(),
            Matcher::Exists(b) => *b,
            Matcher::Regex(re, _) => re.is_match(&value.text),
            Matcher::Cidr { network, mask, v4 } => match value.text.trim().parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) if *v4 => u128::from(u32::from(a)) & mask == *network,
                Ok(IpAddr::V6(a)) if !*v4 => u128::from(a) & mask == *network,
                _ => false,
            },
            Matcher::Compare(op, n) => value.number.is_some_and(|v| match op {
                CompareOp::Gt => v > *n,
                CompareOp::Gte => v >= *n,
                CompareOp::Lt => v < *n,
                CompareOp::Lte => v <= *n,
            }),
            Matcher::FieldRef(id) => other(*id, value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(raw: &str, cased: bool) -> Pattern {
        Pattern::compile(&SigmaString::parse(raw), cased)
    }

    #[test]
    fn patterns_take_their_fast_form_and_match() {
        assert!(matches!(pattern("*\\cmd.exe", false), Pattern::Suffix(_)));
        assert!(matches!(pattern("a*b?c", false), Pattern::Glob(_)));
        assert!(matches!(
            pattern("*ipconfig*|*find*", false),
            Pattern::Stars(_)
        ));
        assert!(pattern("*\\CMD.exe", false).is_match("c:\\windows\\cmd.exe"));
        assert!(pattern("a*b?c", false).is_match("axxbyc"));
        assert!(!pattern("a*b?c", false).is_match("axxbc"));
        assert!(pattern("*a*a*a*", false).is_match("banana and a"));
        assert!(pattern("lit\\*star", false).is_match("lit*star"));
        assert!(!pattern("lit\\*star", false).is_match("litXstar"));
        assert!(pattern("Straße", false).is_match("straße"));
        assert!(!pattern("ABC", true).is_match("abc"));
    }

    #[test]
    fn texts_between_stars_match_as_the_glob_does() {
        let patterns = [
            "ab*ba",
            "*a*a*",
            "*net*|*find*",
            "x*y*z",
            "*é*ß",
            "a*b*c*d",
            "*ab*ab*",
            "a*a",
        ];
        let texts = [
            "",
            "a",
            "aba",
            "abba",
            "abxba",
            "banana",
            "net|find",
            "netstat | findstr",
            "xyz",
            "xzy",
            "xayaz",
            "éaß",
            "ß",
            "abcd",
            "aabbccdd",
            "abab",
            "ababab",
            "xab",
        ];
        for raw in patterns {
            let Pattern::Stars(parts) = pattern(raw, false) else {
                panic!("{raw} is not a star pattern");
            };
            let mut tokens: Vec<Token> = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    tokens.push(Token::AnyString);
                }
                tokens.extend(part.chars().map(Token::Char));
            }
            for text in texts {
                assert_eq!(
                    stars_match(&parts, text),
                    glob_match(&tokens, text),
                    "{raw} on {text}"
                );
            }
        }
    }

    #[test]
    fn regex_literals_are_what_every_match_holds() {
        use crate::sigma::value::RegexFlags;
        let plain = RegexFlags::default();
        let literals = regex_literals(r"\\(cmd|powershell)\.exe$", &plain).unwrap();
        assert_eq!(&*literals, ["\\cmd.exe".into(), "\\powershell.exe".into()]);
        let ignoring = RegexFlags {
            ignore_case: true,
            ..RegexFlags::default()
        };
        // Case variants, lowercased, when there are few enough to list: each begins a match.
        let folded = regex_literals("Mi[nN]d", &ignoring).unwrap();
        assert_eq!(&*folded, ["mind".into()]);
        // `k` also folds to the Kelvin sign, which lowercases to `k`; `s` to the long `ſ`,
        // which stays itself: both variants are kept.
        assert_eq!(&*regex_literals("Mik", &ignoring).unwrap(), ["mik".into()]);
        assert_eq!(
            &*regex_literals("set", &ignoring).unwrap(),
            ["set".into(), "ſet".into()]
        );
        // A sigma lowercases by what follows it: no literal is sure.
        assert!(regex_literals("ΣΑΣ", &ignoring).is_none());
        // Whatever case a match is written in, the lowercased value holds a literal.
        for (pattern, text) in [
            ("mik", "xMiK"),
            ("set.*&&", "SET x &&"),
            ("set", "ſet"),
            ("(?i)invoke-expression", "InVoKe-ExPrEsSiOn"),
            ("straße", "STRASSE straße"),
        ] {
            let re = regex::RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .unwrap();
            assert!(re.is_match(text), "{pattern} {text}");
            if let Some(literals) = regex_literals(pattern, &ignoring) {
                let lower = text.to_lowercase();
                assert!(
                    literals.iter().any(|l| lower.contains(&**l)),
                    "{pattern} {text} {literals:?}"
                );
            }
        }
        if let Some(folded) = regex_literals("MiMi[kK]atz", &ignoring) {
            assert!(
                folded.iter().all(|l| "mimikatz".starts_with(&**l)),
                "{folded:?}"
            );
        }
        // Nothing every match must hold, or too short to tell events apart.
        assert!(regex_literals(".*", &plain).is_none());
        assert!(regex_literals("a(b|c)", &plain).is_none());
    }
}
