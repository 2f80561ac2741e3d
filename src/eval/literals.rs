//! Which of many literals occur in a text, found by their grams: each literal is filed under one
//! 3-byte slice of it, and a text is read once, its grams tested against a bit set; only a gram
//! whose bit is set is looked up and its literals compared in place.
//!
//! The prefilter runs thousands of literals (a log source's `contains` values) over each
//! value of an event; what it needs is every occurrence of every literal, not the leftmost
//! one. An Aho-Corasick automaton of that size reports occurrences at a cost of tens of
//! instructions a byte (failure links, cache misses in a large table); a gram test costs a
//! few, and the bit set is small enough to stay in cache.
//!
//! A literal is filed under the gram of it that looks rarest in event text (letters over
//! separators, digits and the commonest letters) and that the fewest other literals share,
//! so that a common gram (`.exe`, `\win`) does not bring many literals to compare.

use std::collections::HashMap;

use super::hash::FastHash;

/// Literals found by their grams.
#[derive(Debug, Default, Clone)]
pub struct LiteralSet {
    /// The literals' bytes, one after the other.
    bytes: Vec<u8>,
    /// Per literal: its start in `bytes` and its length.
    spans: Vec<(u32, u32)>,
    /// The literals, filed under 3-byte grams.
    three: GramTable,
    /// For a few literals, a vectorised search for where one starts, used instead of the
    /// grams.
    packed: Option<aho_corasick::packed::Searcher>,
    /// Per pattern of `packed`: the literals that can start where it is found, it and those
    /// it is a prefix of or that are a prefix of it (the search reports one pattern per
    /// start, and any other literal starting there shares a prefix with it).
    same_start: Vec<Box<[u32]>>,
}

/// Literals filed under grams of one width.
#[derive(Debug, Default, Clone)]
struct GramTable {
    /// A bit per hash of a gram some literal is filed under.
    filter: Box<[u64]>,
    /// `64 - log2(filter bits)`: the shift that turns a hash into a bit number.
    shift: u32,
    /// Open addressing over grams (0: empty; no literal holds a NUL, so no gram is 0).
    grams: Box<[u32]>,
    /// `64 - log2(slots)`: the shift that turns a hash into a slot.
    slot_shift: u32,
    /// Per slot of `grams`, its range in `entries`.
    ranges: Box<[(u32, u32)]>,
    /// The literals filed, grouped by gram.
    entries: Box<[Filed]>,
}

/// A literal filed under a gram: enough of it to reject most texts that hold the gram but not
/// the literal without reading the literal itself (which lies elsewhere in memory).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Filed {
    /// Its id.
    literal: u32,
    /// The offset of its gram in it.
    offset: u32,
    /// Its length.
    length: u32,
    /// Its last bytes (see [`tail`]).
    tail: u32,
}

/// Up to the last four bytes of `bytes`, as a number.
fn tail(bytes: &[u8]) -> u32 {
    let n = bytes.len().min(4);
    let mut word = [0u8; 4];
    word[..n].copy_from_slice(&bytes[bytes.len() - n..]);
    u32::from_le_bytes(word)
}

/// Multiplies a gram into a well-mixed hash (Knuth's multiplicative hashing).
fn mix(gram: u32) -> u64 {
    u64::from(gram).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl GramTable {
    fn build(filed: &[(u32, Filed)]) -> GramTable {
        if filed.is_empty() {
            return GramTable::default();
        }
        let mut by_gram: HashMap<u32, Vec<Filed>, FastHash> = HashMap::default();
        for &(gram, literal) in filed {
            by_gram.entry(gram).or_default().push(literal);
        }
        // About 16 bits per gram: few grams of a text that no literal is filed under set one.
        let bits = (by_gram.len() * 16)
            .next_power_of_two()
            .clamp(1 << 12, 1 << 22);
        let shift = 64 - bits.trailing_zeros();
        let mut filter = vec![0u64; bits / 64];
        let slots = (by_gram.len() * 2).next_power_of_two().max(16);
        // The high bits of the product: its low bits depend on the gram's first byte alone.
        let slot_shift = 64 - slots.trailing_zeros();
        let mut grams = vec![0u32; slots];
        let mut ranges = vec![(0u32, 0u32); slots];
        let mut entries = Vec::with_capacity(filed.len());
        let mut sorted: Vec<(u32, Vec<Filed>)> = by_gram.into_iter().collect();
        sorted.sort_unstable_by_key(|(gram, _)| *gram);
        for (gram, mut list) in sorted {
            let bit = mix(gram) >> shift;
            filter[(bit / 64) as usize] |= 1 << (bit % 64);
            let mut slot = (mix(gram) >> slot_shift) as usize;
            while grams[slot] != 0 {
                slot = (slot + 1) & (slots - 1);
            }
            grams[slot] = gram;
            list.sort_unstable();
            let start = u32::try_from(entries.len()).unwrap_or(u32::MAX);
            entries.extend(list);
            ranges[slot] = (start, u32::try_from(entries.len()).unwrap_or(u32::MAX));
        }
        GramTable {
            filter: filter.into_boxed_slice(),
            shift,
            grams: grams.into_boxed_slice(),
            slot_shift,
            ranges: ranges.into_boxed_slice(),
            entries: entries.into_boxed_slice(),
        }
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the bit of `gram` is set.
    #[inline]
    fn may_hold(&self, gram: u32) -> bool {
        let bit = mix(gram) >> self.shift;
        self.filter
            .get((bit / 64) as usize)
            .is_some_and(|word| word & (1 << (bit % 64)) != 0)
    }

    /// The literals filed under `gram`.
    fn filed(&self, gram: u32) -> &[Filed] {
        let mask = self.grams.len() - 1;
        let mut slot = (mix(gram) >> self.slot_shift) as usize;
        loop {
            match self.grams[slot] {
                0 => return &[],
                g if g == gram => {
                    let (start, end) = self.ranges[slot];
                    return &self.entries[start as usize..end as usize];
                }
                _ => slot = (slot + 1) & mask,
            }
        }
    }
}

/// How common a byte is in event text (command lines, paths, registry keys), from 1 (rare) to
/// 6: the cost of filing a literal under a gram holding it.
pub fn commonness(byte: u8) -> u32 {
    match byte {
        b' ' | b'\\' | b'.' | b'-' | b'/' | b':' | b'"' | b'_' | b'=' | b',' => 6,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' => 4,
        b'0'..=b'9' => 4,
        b'c' | b'l' | b'd' | b'm' | b'p' | b'u' | b'h' | b'w' | b'x' | b'f' | b'g' => 3,
        b'a'..=b'z' => 1,
        _ => 2,
    }
}

/// Up to how many literals the vectorised search is used.
const PACKED_LITERALS: usize = 48;

/// The cost, per literal already there, of filing another under the same gram.
const CROWDING: u32 = 4;

impl LiteralSet {
    /// Files `literals` (their index is their id). A literal shorter than three bytes, or
    /// holding a NUL, is never found: the prefilter gives none.
    pub fn build<'a>(literals: impl IntoIterator<Item = &'a [u8]>) -> LiteralSet {
        let mut set = LiteralSet::default();
        let mut three: Vec<(u32, Filed)> = Vec::new();
        let mut crowd: HashMap<u32, u32, FastHash> = HashMap::default();
        for (id, literal) in literals.into_iter().enumerate() {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let start = u32::try_from(set.bytes.len()).unwrap_or(u32::MAX);
            set.bytes.extend_from_slice(literal);
            set.spans
                .push((start, u32::try_from(literal.len()).unwrap_or(u32::MAX)));
            if literal.len() < 3 || literal.contains(&0) {
                continue;
            }
            let best = (0..=literal.len() - 3)
                .map(|offset| {
                    let gram = gram3(&literal[offset..]);
                    let cost = literal[offset..offset + 3]
                        .iter()
                        .map(|&b| commonness(b))
                        .sum::<u32>()
                        + CROWDING * crowd.get(&gram).copied().unwrap_or(0);
                    (cost, offset, gram)
                })
                .min();
            if let Some((_, offset, gram)) = best {
                *crowd.entry(gram).or_default() += 1;
                three.push((
                    gram,
                    Filed {
                        literal: id,
                        offset: u32::try_from(offset).unwrap_or(u32::MAX),
                        length: u32::try_from(literal.len()).unwrap_or(u32::MAX),
                        tail: tail(literal),
                    },
                ));
            }
        }
        let findable = three.len();
        if findable > 0 && findable <= PACKED_LITERALS {
            let mut builder = aho_corasick::packed::Config::new().builder();
            let patterns: Vec<u32> = three.iter().map(|(_, filed)| filed.literal).collect();
            for &id in &patterns {
                builder.add(set.literal(id));
            }
            set.packed = builder.build();
            set.same_start = patterns
                .iter()
                .map(|&id| {
                    let this = set.literal(id);
                    patterns
                        .iter()
                        .copied()
                        .filter(|&other| {
                            let other = set.literal(other);
                            this.starts_with(other) || other.starts_with(this)
                        })
                        .collect()
                })
                .collect();
        }
        if set.packed.is_none() {
            set.three = GramTable::build(&three);
        }
        set
    }

    /// The bytes of literal `id`.
    fn literal(&self, id: u32) -> &[u8] {
        let (start, length) = self.spans[id as usize];
        &self.bytes[start as usize..(start + length) as usize]
    }

    /// Whether no literal can be found.
    pub fn is_empty(&self) -> bool {
        self.packed.is_none() && self.three.is_empty()
    }

    /// Calls `found(literal, start, end)` for every occurrence of every literal in `text`
    /// (in no particular order).
    pub fn find(&self, text: &[u8], found: &mut impl FnMut(u32, usize, usize)) {
        if let Some(packed) = &self.packed {
            // The leftmost start of a literal from `from` on; every literal is compared there,
            // as more than one can start at the same place.
            let mut from = 0;
            while from < text.len() {
                let Some(m) = packed.find_in(text, aho_corasick::Span::from(from..text.len()))
                else {
                    break;
                };
                let start = m.start();
                let related = self.same_start.get(m.pattern().as_usize());
                for &literal in related.map_or(&[][..], |r| &r[..]) {
                    let bytes = self.literal(literal);
                    if text[start..].starts_with(bytes) {
                        found(literal, start, start + bytes.len());
                    }
                }
                from = start + 1;
            }
            return;
        }
        if !self.three.is_empty() {
            for (at, w) in text.windows(3).enumerate() {
                let gram = u32::from_le_bytes([w[0], w[1], w[2], 0]);
                if self.three.may_hold(gram) {
                    self.verify(&self.three, gram, at, text, found);
                }
            }
        }
    }

    /// Compares the literals filed under `gram`, which sits at `at` in `text`.
    fn verify(
        &self,
        table: &GramTable,
        gram: u32,
        at: usize,
        text: &[u8],
        found: &mut impl FnMut(u32, usize, usize),
    ) {
        for filed in table.filed(gram) {
            let Some(start) = at.checked_sub(filed.offset as usize) else {
                continue;
            };
            let end = start + filed.length as usize;
            let Some(there) = text.get(start..end) else {
                continue;
            };
            // Most literals filed under a gram the text holds end otherwise there.
            if tail(there) == filed.tail && there == self.literal(filed.literal) {
                found(filed.literal, start, end);
            }
        }
    }
}

/// The 3-byte gram of `bytes`, as [`LiteralSet::find`] reads it (the high byte 0).
fn gram3(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence, found the slow way.
    fn naive(literals: &[&[u8]], text: &[u8]) -> Vec<(u32, usize, usize)> {
        let mut out = Vec::new();
        for (id, literal) in literals.iter().enumerate() {
            if literal.len() < 3 || literal.contains(&0) {
                continue;
            }
            for start in 0..text.len() {
                if text[start..].starts_with(literal) {
                    out.push((id as u32, start, start + literal.len()));
                }
            }
        }
        out.sort_unstable();
        out
    }

    fn found(set: &LiteralSet, text: &[u8]) -> Vec<(u32, usize, usize)> {
        let mut out = Vec::new();
        set.find(text, &mut |l, s, e| out.push((l, s, e)));
        out.sort_unstable();
        out
    }

    #[test]
    fn every_occurrence_is_found_overlapping_or_not() {
        let literals: Vec<&[u8]> = vec![
            b"cmd.exe",
            b".exe",
            b"exe",
            b"\\windows\\",
            b"aaaa",
            b"aaa",
            b"xy",
            b"a\0bc",
            b"powershell",
            b"shell",
        ];
        let set = LiteralSet::build(literals.iter().copied());
        for text in [
            &b"c:\\windows\\system32\\cmd.exe /c powershell.exe"[..],
            b"aaaaaa",
            b"exe",
            b"",
            b"ex",
            b"xy a\0bc",
        ] {
            assert_eq!(found(&set, text), naive(&literals, text), "{text:?}");
        }
    }

    #[test]
    fn crowded_grams_are_spread() {
        // Many literals sharing `.exe` are filed under their own grams.
        let names: Vec<String> = (0..50).map(|i| format!("tool{i:02}q.exe")).collect();
        let set = LiteralSet::build(names.iter().map(|n| n.as_bytes()));
        let largest = set
            .three
            .ranges
            .iter()
            .map(|(s, e)| e - s)
            .max()
            .unwrap_or(0);
        assert!(largest <= 10, "{largest}");
        assert_eq!(found(&set, b"x tool07q.exe"), vec![(7, 2, 13)]);
    }

    #[test]
    fn few_and_many_literals_are_found_alike() {
        let many: Vec<String> = (0..200).map(|i| format!("lit{i}x")).collect();
        let mut literals: Vec<&[u8]> = many.iter().map(|l| l.as_bytes()).collect();
        literals.extend([&b"lit1"[..], b"it1x", b"t12"]);
        let text = b"alit1x lit12x lit199xlit3x";
        let set = LiteralSet::build(literals.iter().copied());
        assert!(set.packed.is_none());
        assert_eq!(found(&set, text), naive(&literals, text));
        let few: Vec<&[u8]> = literals[..12]
            .iter()
            .copied()
            .chain(literals[200..].iter().copied())
            .collect();
        let set = LiteralSet::build(few.iter().copied());
        assert_eq!(found(&set, text), naive(&few, text));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_naive_search(
            literals in proptest::collection::vec("[abc\\\\. ]{0,6}", 0..20),
            text in "[abc\\\\. ]{0,40}",
        ) {
            let literals: Vec<&[u8]> = literals.iter().map(|l| l.as_bytes()).collect();
            let set = LiteralSet::build(literals.iter().copied());
            proptest::prop_assert_eq!(found(&set, text.as_bytes()), naive(&literals, text.as_bytes()));
        }
    }
}
