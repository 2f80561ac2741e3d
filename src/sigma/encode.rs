//! The transformations of the encoding and expansion modifiers: `base64`, `base64offset`,
//! `utf16le`/`utf16be`/`utf16`/`wide` and `windash`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::value::{Piece, SigmaString};

/// `base64`: the standard base64 encoding (with padding).
pub fn base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// `base64offset`: the three encodings of `data` when it starts at byte offset 0, 1 or 2 of a
/// longer base64-encoded text, each trimmed to the characters that do not depend on the
/// surrounding bytes.
pub fn base64_offsets(data: &[u8]) -> [String; 3] {
    // Leading characters that depend on the unknown bytes before the value, per offset, and
    // trailing characters that depend on the bytes after it, per (length + offset) mod 3.
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    std::array::from_fn(|offset| {
        let mut shifted = vec![b' '; offset];
        shifted.extend_from_slice(data);
        let encoded = STANDARD.encode(&shifted);
        let end = encoded
            .len()
            .saturating_sub(END_TRIM[(data.len() + offset) % 3]);
        encoded
            .get(START[offset]..end.max(START[offset]))
            .unwrap_or("")
            .to_string()
    })
}

/// UTF-16 little endian bytes of `text`.
pub fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// UTF-16 big endian bytes of `text`.
pub fn utf16be(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

/// UTF-16 with a byte order mark (little endian, as Windows writes it).
pub fn utf16_bom(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(utf16le(text));
    bytes
}

/// The dash characters `windash` substitutes, in the order variants are produced.
pub const WINDASH_CHARACTERS: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// How many of [`WINDASH_CHARACTERS`] a `windash` expansion uses: legacy sigmac knew only
/// `-` and `/`; the specification (and pySigma) use all five.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindashStyle {
    /// `-`, `/`, en dash, em dash, horizontal bar.
    #[default]
    AllDashes,
    /// `-` and `/` only.
    DashAndSlash,
}

/// The most option dashes one `windash` value may hold: each dash multiplies the variants by
/// five, so a value with more would expand to an unreasonable query (and memory use). Real
/// rules hold one or two.
pub const MAX_WINDASH_DASHES: usize = 4;

/// One piece of a `windash` template: literal text (or a wildcard) or a dash to vary.
enum Slot {
    Piece(Piece),
    Dash,
}

/// Splits `value` into literal pieces and the option-like dashes `windash` varies: a `-` or
/// `/` that starts a word after a non-word character.
fn windash_template(value: &SigmaString) -> Vec<Slot> {
    let mut template = Vec::new();
    for piece in value.pieces() {
        let Piece::Text(text) = piece else {
            template.push(Slot::Piece(piece.clone()));
            continue;
        };
        let chars: Vec<char> = text.chars().collect();
        let mut literal = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let before_is_word = i > 0 && is_word(chars[i - 1]);
            let after_is_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if (c == '-' || c == '/') && !before_is_word && after_is_word {
                if !literal.is_empty() {
                    template.push(Slot::Piece(Piece::Text(std::mem::take(&mut literal))));
                }
                template.push(Slot::Dash);
            } else {
                literal.push(c);
            }
        }
        if !literal.is_empty() {
            template.push(Slot::Piece(Piece::Text(literal)));
        }
    }
    template
}

/// How many option-like dashes `windash` would vary in `value`.
pub fn windash_dashes(value: &SigmaString) -> usize {
    windash_template(value)
        .iter()
        .filter(|s| matches!(s, Slot::Dash))
        .count()
}

/// `windash`: every variant of `value` with each option-like dash (a `-` or `/` that starts a
/// word after a non-word character) replaced by each dash character. Variants are ordered with
/// the first dash varying slowest; values without such a dash expand to themselves. Only the
/// first [`MAX_WINDASH_DASHES`] dashes vary (callers reject values with more, see
/// [`windash_dashes`]); later ones stay as written.
pub fn windash(value: &SigmaString, style: WindashStyle) -> Vec<SigmaString> {
    let dashes: &[char] = match style {
        WindashStyle::AllDashes => &WINDASH_CHARACTERS,
        WindashStyle::DashAndSlash => &WINDASH_CHARACTERS[..2],
    };
    let template = windash_template(value);
    let slots = template
        .iter()
        .filter(|s| matches!(s, Slot::Dash))
        .count()
        .min(MAX_WINDASH_DASHES);
    if slots == 0 {
        return vec![value.clone()];
    }
    let total = dashes.len().pow(slots as u32);
    (0..total)
        .map(|mut n| {
            // Digits of n in base dashes.len(), most significant first.
            let mut choice = vec![0; slots];
            for digit in choice.iter_mut().rev() {
                *digit = n % dashes.len();
                n /= dashes.len();
            }
            let mut slot = 0;
            let mut pieces = Vec::with_capacity(template.len());
            for s in &template {
                pieces.push(match s {
                    Slot::Piece(p) => p.clone(),
                    Slot::Dash => {
                        // Dashes past the varied ones keep their written character.
                        let c = match choice.get(slot) {
                            Some(&d) => dashes[d],
                            None => written_dash(value, slot),
                        };
                        slot += 1;
                        Piece::Text(c.to_string())
                    }
                });
            }
            SigmaString::from_pieces(pieces)
        })
        .collect()
}

/// The character written at the `n`-th option-like dash of `value`.
fn written_dash(value: &SigmaString, n: usize) -> char {
    let mut seen = 0;
    for piece in value.pieces() {
        let Piece::Text(text) = piece else { continue };
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let before_is_word = i > 0 && is_word(chars[i - 1]);
            let after_is_word = chars.get(i + 1).is_some_and(|&n| is_word(n));
            if (c == '-' || c == '/') && !before_is_word && after_is_word {
                if seen == n {
                    return c;
                }
                seen += 1;
            }
        }
    }
    '-'
}

/// A "word" character as Python's `re` defines `\w` for text: letters, digits, underscore.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_offsets_match_the_known_forms() {
        assert_eq!(
            base64_offsets(b"::FromBase64String"),
            [
                "OjpGcm9tQmFzZTY0U3RyaW5n".to_string(),
                "o6RnJvbUJhc2U2NFN0cmluZ".to_string(),
                "6OkZyb21CYXNlNjRTdHJpbm".to_string(),
            ]
        );
        assert_eq!(base64(b"cmd"), "Y21k");
    }

    #[test]
    fn utf16_forms() {
        assert_eq!(utf16le("cmd"), vec![0x63, 0, 0x6d, 0, 0x64, 0]);
        assert_eq!(utf16be("cmd"), vec![0, 0x63, 0, 0x6d, 0, 0x64]);
        assert_eq!(utf16_bom("c"), vec![0xFF, 0xFE, 0x63, 0]);
    }

    #[test]
    fn windash_expands_option_dashes_only() {
        let v = SigmaString::parse("* -accepteula*");
        let out: Vec<String> = windash(&v, WindashStyle::AllDashes)
            .iter()
            .map(|s| s.display_text())
            .collect();
        assert_eq!(
            out,
            vec![
                "* -accepteula*",
                "* /accepteula*",
                "* \u{2013}accepteula*",
                "* \u{2014}accepteula*",
                "* \u{2015}accepteula*"
            ]
        );
        let legacy = windash(&v, WindashStyle::DashAndSlash);
        assert_eq!(legacy.len(), 2);
        // A dash inside a word is not an option prefix.
        let v = SigmaString::parse("Invoke-Expression");
        assert_eq!(windash(&v, WindashStyle::AllDashes).len(), 1);
        // Two option dashes: 25 variants, the first dash varying slowest.
        let v = SigmaString::parse(" -a -b");
        let out = windash(&v, WindashStyle::AllDashes);
        assert_eq!(out.len(), 25);
        assert_eq!(out[1].display_text(), " -a /b");
        assert_eq!(out[5].display_text(), " /a -b");
    }

    #[test]
    fn windash_varies_at_most_the_first_four_dashes() {
        let v = SigmaString::parse(" -a -b -c -d /e");
        assert_eq!(windash_dashes(&v), 5);
        let out = windash(&v, WindashStyle::AllDashes);
        assert_eq!(out.len(), 625);
        assert!(out.iter().all(|s| s.display_text().ends_with(" /e")));
        assert_eq!(
            out[624].display_text(),
            " \u{2015}a \u{2015}b \u{2015}c \u{2015}d /e"
        );
    }
}
