//! Value modifiers (`Field|contains|all`): their names, and the specification's rules on which
//! of them combine and which values they accept.

use std::fmt;

use super::value::CompareOp;

/// A value modifier of the Sigma specification (modifiers appendix v2.1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    /// `contains`: `*value*`.
    Contains,
    /// `startswith`: `value*`.
    StartsWith,
    /// `endswith`: `*value`.
    EndsWith,
    /// `all`: the values are AND-ed instead of OR-ed.
    All,
    /// `base64`: the value, base64-encoded.
    Base64,
    /// `base64offset`: the three base64 forms of the value at byte offsets 0, 1 and 2.
    Base64Offset,
    /// `utf16le` (and its alias `wide`).
    Utf16Le,
    /// `utf16be`.
    Utf16Be,
    /// `utf16`: UTF-16 little endian with a byte order mark.
    Utf16,
    /// `wide`: an alias of `utf16le`, kept apart so pages show the rule as written.
    Wide,
    /// `windash`: every `-`/`/` option prefix in all dash forms.
    Windash,
    /// `re`: a regular expression.
    Re,
    /// `i` after `re`: case-insensitive.
    ReIgnoreCase,
    /// `m` after `re`: multi-line anchors.
    ReMultiLine,
    /// `s` after `re`: dot matches newline.
    ReDotAll,
    /// `cidr`: an IP network.
    Cidr,
    /// `exists`: whether the field exists (boolean value).
    Exists,
    /// `gt`, `gte`, `lt`, `lte`: numeric comparisons.
    Compare(CompareOp),
    /// `neq`: the field differs from the value.
    Neq,
    /// `fieldref`: the value names another field.
    FieldRef,
    /// `cased`: case-sensitive matching.
    Cased,
    /// `expand`: `%placeholder%` expansion.
    Expand,
    /// A time modifier: a part of a date field.
    Time(TimePart),
}

/// The part of a date a time modifier extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimePart {
    /// `minute`: 0–59.
    Minute,
    /// `hour`: 0–23.
    Hour,
    /// `day`: 1–31.
    Day,
    /// `week`: 1–52.
    Week,
    /// `month`: 1–12.
    Month,
    /// `year`.
    Year,
}

impl TimePart {
    /// The modifier name.
    pub fn name(self) -> &'static str {
        match self {
            TimePart::Minute => "minute",
            TimePart::Hour => "hour",
            TimePart::Day => "day",
            TimePart::Week => "week",
            TimePart::Month => "month",
            TimePart::Year => "year",
        }
    }

    /// The range of values the part can take, if bounded.
    pub fn range(self) -> Option<(i64, i64)> {
        match self {
            TimePart::Minute => Some((0, 59)),
            TimePart::Hour => Some((0, 23)),
            TimePart::Day => Some((1, 31)),
            TimePart::Week => Some((1, 53)),
            TimePart::Month => Some((1, 12)),
            TimePart::Year => None,
        }
    }
}

impl Modifier {
    /// Parses a modifier name. Names are matched case-sensitively, as the specification writes
    /// them; pySigma's long names of the regex flags are accepted too.
    pub fn parse(name: &str) -> Option<Modifier> {
        Some(match name {
            "contains" => Modifier::Contains,
            "startswith" => Modifier::StartsWith,
            "endswith" => Modifier::EndsWith,
            "all" => Modifier::All,
            "base64" => Modifier::Base64,
            "base64offset" => Modifier::Base64Offset,
            "utf16le" => Modifier::Utf16Le,
            "utf16be" => Modifier::Utf16Be,
            "utf16" => Modifier::Utf16,
            "wide" => Modifier::Wide,
            "windash" => Modifier::Windash,
            "re" => Modifier::Re,
            "i" | "ignorecase" => Modifier::ReIgnoreCase,
            "m" | "multiline" => Modifier::ReMultiLine,
            "s" | "dotall" => Modifier::ReDotAll,
            "cidr" => Modifier::Cidr,
            "exists" => Modifier::Exists,
            "gt" => Modifier::Compare(CompareOp::Gt),
            "gte" => Modifier::Compare(CompareOp::Gte),
            "lt" => Modifier::Compare(CompareOp::Lt),
            "lte" => Modifier::Compare(CompareOp::Lte),
            "neq" => Modifier::Neq,
            "fieldref" => Modifier::FieldRef,
            "cased" => Modifier::Cased,
            "expand" => Modifier::Expand,
            "minute" => Modifier::Time(TimePart::Minute),
            "hour" => Modifier::Time(TimePart::Hour),
            "day" => Modifier::Time(TimePart::Day),
            "week" => Modifier::Time(TimePart::Week),
            "month" => Modifier::Time(TimePart::Month),
            "year" => Modifier::Time(TimePart::Year),
            _ => return None,
        })
    }

    /// The modifier's name as the specification writes it.
    pub fn name(self) -> &'static str {
        match self {
            Modifier::Contains => "contains",
            Modifier::StartsWith => "startswith",
            Modifier::EndsWith => "endswith",
            Modifier::All => "all",
            Modifier::Base64 => "base64",
            Modifier::Base64Offset => "base64offset",
            Modifier::Utf16Le => "utf16le",
            Modifier::Utf16Be => "utf16be",
            Modifier::Utf16 => "utf16",
            Modifier::Wide => "wide",
            Modifier::Windash => "windash",
            Modifier::Re => "re",
            Modifier::ReIgnoreCase => "i",
            Modifier::ReMultiLine => "m",
            Modifier::ReDotAll => "s",
            Modifier::Cidr => "cidr",
            Modifier::Exists => "exists",
            Modifier::Compare(CompareOp::Gt) => "gt",
            Modifier::Compare(CompareOp::Gte) => "gte",
            Modifier::Compare(CompareOp::Lt) => "lt",
            Modifier::Compare(CompareOp::Lte) => "lte",
            Modifier::Neq => "neq",
            Modifier::FieldRef => "fieldref",
            Modifier::Cased => "cased",
            Modifier::Expand => "expand",
            Modifier::Time(part) => part.name(),
        }
    }

    /// Whether the modifier turns a string into a wildcard pattern (`contains`…).
    pub fn is_position(self) -> bool {
        matches!(
            self,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith
        )
    }

    /// Whether the modifier encodes the value (`base64`, `utf16`…).
    pub fn is_encoding(self) -> bool {
        matches!(
            self,
            Modifier::Base64
                | Modifier::Base64Offset
                | Modifier::Utf16Le
                | Modifier::Utf16Be
                | Modifier::Utf16
                | Modifier::Wide
        )
    }

    /// Whether the modifier is a flag of `re`.
    pub fn is_regex_flag(self) -> bool {
        matches!(
            self,
            Modifier::ReIgnoreCase | Modifier::ReMultiLine | Modifier::ReDotAll
        )
    }

    /// Whether the modifier gives the value a type a backend must support (regex, network,
    /// comparison, existence, field reference): at most one of them per item.
    pub fn is_type(self) -> bool {
        matches!(
            self,
            Modifier::Re
                | Modifier::Cidr
                | Modifier::Exists
                | Modifier::Compare(_)
                | Modifier::FieldRef
        )
    }
}

impl fmt::Display for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a chain of modifiers is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError {
    /// The modifier at fault (index into the chain).
    pub index: usize,
    /// The explanation.
    pub message: String,
}

/// Checks the order and combination rules of a modifier chain (value types are checked when the
/// values are read).
pub fn check_chain(chain: &[Modifier]) -> Result<(), ChainError> {
    let err = |index: usize, message: String| Err(ChainError { index, message });
    let mut type_modifier: Option<Modifier> = None;
    let mut position: Option<Modifier> = None;
    for (i, &m) in chain.iter().enumerate() {
        if chain[..i].contains(&m) {
            return err(i, format!("modifier `{m}` is given twice"));
        }
        if m.is_regex_flag() {
            if type_modifier != Some(Modifier::Re) {
                return err(i, format!("regex flag `{m}` must follow the `re` modifier"));
            }
            continue;
        }
        if let Some(t) = type_modifier {
            let allowed = match (t, m) {
                (Modifier::FieldRef, Modifier::Neq | Modifier::All) => true,
                (Modifier::Re | Modifier::Cidr, Modifier::Neq | Modifier::All) => true,
                (Modifier::Compare(_), Modifier::Neq) => false,
                _ => false,
            };
            if !allowed {
                return err(
                    i,
                    format!("modifier `{m}` cannot follow the type modifier `{t}`"),
                );
            }
        }
        if m.is_type() {
            if let Some(t) = type_modifier {
                return err(i, format!("modifiers `{t}` and `{m}` cannot be combined"));
            }
            let conflicting = chain[..i].iter().find(|p| match m {
                Modifier::Re => {
                    p.is_position()
                        || p.is_encoding()
                        || **p == Modifier::Windash
                        || **p == Modifier::Expand
                }
                Modifier::Cidr | Modifier::FieldRef | Modifier::Exists => {
                    !matches!(p, Modifier::Neq | Modifier::All)
                }
                Modifier::Compare(_) => !matches!(p, Modifier::Time(_)),
                _ => false,
            });
            if let Some(p) = conflicting {
                return err(i, format!("modifiers `{p}` and `{m}` cannot be combined"));
            }
            type_modifier = Some(m);
            continue;
        }
        if m.is_position() {
            if let Some(p) = position {
                return err(i, format!("modifiers `{p}` and `{m}` cannot be combined"));
            }
            position = Some(m);
        }
        if let Modifier::Time(_) = m {
            if let Some(p) = chain[..i].iter().find(|p| !matches!(p, Modifier::Neq)) {
                return err(i, format!("time modifier `{m}` cannot follow `{p}`"));
            }
        }
        if chain[..i].iter().any(|p| matches!(p, Modifier::Time(_)))
            && !matches!(m, Modifier::Neq | Modifier::All)
        {
            return err(
                i,
                format!("modifier `{m}` cannot follow a time modifier (only comparisons can)"),
            );
        }
        if m == Modifier::Base64Offset || m == Modifier::Base64 {
            if let Some(p) = chain[..i].iter().find(|p| p.is_position()) {
                return err(
                    i,
                    format!("`{m}` must come before `{p}`: the wildcards would be encoded"),
                );
            }
        }
        if m == Modifier::Cased {
            if let Some(p) = chain[..i].iter().find(|p| p.is_encoding()) {
                return err(
                    i,
                    format!(
                        "`cased` cannot follow `{p}`: encoded values are case-sensitive already"
                    ),
                );
            }
        }
    }
    let encodings: Vec<_> = chain
        .iter()
        .filter(|m| {
            matches!(
                m,
                Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 | Modifier::Wide
            )
        })
        .collect();
    if encodings.len() > 1 {
        let index = chain
            .iter()
            .rposition(|m| Some(&m) == encodings.last())
            .unwrap_or(0);
        return err(
            index,
            format!(
                "modifiers `{}` and `{}` cannot be combined",
                encodings[0], encodings[1]
            ),
        );
    }
    if let Some(i) = chain.iter().position(|m| {
        matches!(
            m,
            Modifier::Utf16Le | Modifier::Utf16Be | Modifier::Utf16 | Modifier::Wide
        )
    }) {
        if !chain[i + 1..]
            .iter()
            .any(|m| matches!(m, Modifier::Base64 | Modifier::Base64Offset))
        {
            return err(
                i,
                format!(
                    "`{}` must be followed by `base64` or `base64offset`",
                    chain[i]
                ),
            );
        }
    }
    if chain.contains(&Modifier::Base64) && chain.contains(&Modifier::Base64Offset) {
        let i = chain
            .iter()
            .rposition(|m| matches!(m, Modifier::Base64 | Modifier::Base64Offset))
            .unwrap_or(0);
        return err(
            i,
            "modifiers `base64` and `base64offset` cannot be combined".to_string(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(names: &str) -> Vec<Modifier> {
        names
            .split('|')
            .map(|n| Modifier::parse(n).unwrap_or_else(|| panic!("{n}")))
            .collect()
    }

    #[test]
    fn every_modifier_round_trips() {
        for name in [
            "contains",
            "startswith",
            "endswith",
            "all",
            "base64",
            "base64offset",
            "utf16le",
            "utf16be",
            "utf16",
            "wide",
            "windash",
            "re",
            "i",
            "m",
            "s",
            "cidr",
            "exists",
            "gt",
            "gte",
            "lt",
            "lte",
            "neq",
            "fieldref",
            "cased",
            "expand",
            "minute",
            "hour",
            "day",
            "week",
            "month",
            "year",
        ] {
            assert_eq!(Modifier::parse(name).unwrap().name(), name);
        }
        assert_eq!(Modifier::parse("Contains"), None);
        assert_eq!(Modifier::parse("endwith"), None);
    }

    #[test]
    fn valid_chains_pass() {
        for c in [
            "contains",
            "contains|all",
            "all|contains",
            "base64offset|contains",
            "wide|base64offset|contains",
            "utf16le|base64",
            "contains|windash",
            "windash|contains",
            "re",
            "re|i",
            "re|i|m|s",
            "cidr",
            "exists",
            "gte",
            "hour|gte",
            "fieldref",
            "fieldref|neq",
            "neq",
            "contains|cased",
            "cased|endswith",
            "expand",
            "contains|expand",
            "startswith|neq",
            "re|all",
        ] {
            assert_eq!(check_chain(&chain(c)), Ok(()), "{c}");
        }
    }

    #[test]
    fn illegal_chains_fail_at_the_right_modifier() {
        for (c, index) in [
            ("i", 0),
            ("contains|re", 1),
            ("re|contains", 1),
            ("contains|startswith", 1),
            ("contains|contains", 1),
            ("gt|lt", 1),
            ("cidr|contains", 1),
            ("contains|base64", 1),
            ("utf16le", 0),
            ("utf16le|utf16be|base64", 1),
            ("base64|base64offset", 1),
            ("exists|contains", 1),
            ("contains|hour", 1),
            ("hour|contains", 1),
            ("base64|cased", 1),
            ("windash|re", 1),
        ] {
            let e = check_chain(&chain(c)).unwrap_err();
            assert_eq!(e.index, index, "{c}: {}", e.message);
        }
    }
}
