//! The rule set's prefilter: facts about one event found in one pass over its values, so that a
//! rule is evaluated only on events holding the facts every event it matches holds.
//!
//! A fact (an [`Atom`]) is tied to the field it was written for: "`image` ends with
//! `\cmd.exe`", "`eventid` is the number 4688", "some value contains `mimikatz`" (keywords).
//! Each kind is found the cheap way: a value of a field is looked up whole in a table of that
//! field's whole-value literals, walked from its start through a trie of the field's prefixes
//! and from its end through a trie of its suffixes; only literals that may sit anywhere go into
//! one Aho-Corasick automaton, run over the values of the fields that have such literals (every
//! value, when keywords do). Number atoms are looked up by value in a table per field. The
//! facts found are a superset of what matching tests, never a subset: an atom is set whenever
//! the matcher it came from could accept a value of the event.

use std::collections::HashMap;

use super::event::{Event, ValueKind};
use super::hash::FastHash;
use super::literals::{LiteralSet, commonness};

/// Where a literal must sit in a value for a text atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Anchor {
    /// The literal is the whole value.
    Whole,
    /// The value starts with it.
    Start,
    /// The value ends with it.
    End,
    /// Anywhere in the value.
    Anywhere,
}

/// A fact about an event that a matcher needs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    /// Lowercase text in a value of `field` (any field, for keywords), placed as `anchor` says.
    Text {
        /// The lowercase literal (three bytes or more, no NUL).
        text: String,
        /// The field id (`None`: any value).
        field: Option<u32>,
        /// Where it must sit.
        anchor: Anchor,
    },
    /// A value of `field` that is this number, or (not a number) this text once trimmed.
    Number {
        /// The field id.
        field: u32,
        /// The number's bits (zero's sign dropped).
        bits: u64,
        /// The rule's text of the number, lowercase.
        text: Box<str>,
    },
}

impl Atom {
    /// The bits a number is looked up by: equal numbers give equal bits.
    pub fn number_bits(n: f64) -> u64 {
        if n == 0.0 { 0 } else { n.to_bits() }
    }

    /// Whether it is a number atom (for choosing among alternative atom sets: text atoms tell
    /// events apart better than event IDs and logon types do).
    pub fn is_number(&self) -> bool {
        matches!(self, Atom::Number { .. })
    }

    /// A rough guess of how many events in a million hold the atom, for choosing the clause a
    /// rule is looked up by: a literal of rare bytes is rarer than one of separators and the
    /// commonest letters (`.exe` is in nearly every event, `\edrfreeze` in almost none), and
    /// one that must be the whole value, or begin or end it, is rarer than one anywhere.
    pub fn likelihood(&self) -> u32 {
        match self {
            Atom::Number { .. } => 200_000,
            Atom::Text { text, anchor, .. } => {
                let information: u32 = text.bytes().map(|b| 7 - commonness(b)).sum();
                let information = information
                    + match anchor {
                        Anchor::Whole => 6,
                        Anchor::Start | Anchor::End => 2,
                        Anchor::Anywhere => 0,
                    };
                // About one bit of rarity per three points of information.
                let halvings = (information / 3).min(20);
                1_000_000 >> halvings
            }
        }
    }
}

/// The field id meaning "any field".
const ANY_FIELD: u32 = u32::MAX;

/// One text atom a literal of the automaton stands for.
#[derive(Debug, Clone, Copy)]
struct TextAtom {
    atom: u32,
    field: u32,
    anchor: Anchor,
}

/// One node of a [`Trie`]: children sorted by byte, and the atoms of the literal ending there.
type TrieNode = (Vec<(u8, u32)>, Vec<u32>);

/// A byte trie: literals walked from a value's start (prefixes) or its end (suffixes).
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<TrieNode>,
}

impl Trie {
    fn new_root(&mut self) -> u32 {
        self.nodes.push((Vec::new(), Vec::new()));
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }

    fn insert(&mut self, root: u32, bytes: impl Iterator<Item = u8>, atom: u32) {
        let mut node = root;
        for byte in bytes {
            let children = &self.nodes[node as usize].0;
            node = match children.binary_search_by_key(&byte, |(b, _)| *b) {
                Ok(i) => children[i].1,
                Err(i) => {
                    let child = self.new_root();
                    self.nodes[node as usize].0.insert(i, (byte, child));
                    child
                }
            };
        }
        self.nodes[node as usize].1.push(atom);
    }

    /// Calls `found` with the atoms of every literal `bytes` begins with.
    fn walk(&self, root: u32, bytes: impl Iterator<Item = u8>, found: &mut impl FnMut(u32)) {
        let mut node = root;
        for byte in bytes {
            let children = &self.nodes[node as usize].0;
            match children.binary_search_by_key(&byte, |(b, _)| *b) {
                Ok(i) => node = children[i].1,
                Err(_) => return,
            }
            self.nodes[node as usize].1.iter().for_each(|&a| found(a));
        }
    }
}

/// The anchored and number atoms of one field.
#[derive(Debug, Default)]
struct FieldAtoms {
    whole: HashMap<Box<str>, Vec<u32>, FastHash>,
    starts: Option<u32>,
    ends: Option<u32>,
    numbers_by_bits: HashMap<u64, Vec<u32>, FastHash>,
    numbers_by_text: HashMap<Box<str>, Vec<u32>, FastHash>,
    /// The field's literals that may sit anywhere, run over each of its values.
    scanner: Scanner,
}

/// Literals that may sit anywhere in a value, found in each value they are run over.
#[derive(Debug, Default)]
struct Scanner {
    set: LiteralSet,
    /// The literals, while building.
    literals: Vec<Box<str>>,
    /// Per literal, the text atoms it stands for.
    by_pattern: Vec<Vec<TextAtom>>,
    positions: HashMap<Box<str>, usize, FastHash>,
}

impl Scanner {
    fn add(&mut self, text: &str, atom: TextAtom) {
        let at = match self.positions.get(text) {
            Some(&at) => at,
            None => {
                self.literals.push(text.into());
                self.by_pattern.push(Vec::new());
                self.positions.insert(text.into(), self.literals.len() - 1);
                self.literals.len() - 1
            }
        };
        self.by_pattern[at].push(atom);
    }

    fn finish(&mut self) {
        self.positions = HashMap::default();
        let literals = std::mem::take(&mut self.literals);
        self.set = LiteralSet::build(literals.iter().map(|l| l.as_bytes()));
    }

    fn is_empty(&self) -> bool {
        self.by_pattern.is_empty()
    }

    /// Sets the atoms of the literals found in `haystack`: values, each followed by a NUL
    /// (which no literal holds), each where `bounds` says (start, end, field id).
    fn run_values(&self, haystack: &[u8], bounds: &[(u32, u32, u32)], scratch: &mut ScanScratch) {
        self.set.find(haystack, &mut |literal, start, end| {
            // The value holding the occurrence: the first one ending at or after it.
            let at = bounds.partition_point(|b| (b.1 as usize) < end);
            let Some(&(value_start, value_end, field)) = bounds.get(at) else {
                return;
            };
            let (at_start, at_end) = (start == value_start as usize, end == value_end as usize);
            for text in &self.by_pattern[literal as usize] {
                if text.field != ANY_FIELD && text.field != field {
                    continue;
                }
                let placed = match text.anchor {
                    Anchor::Whole => at_start && at_end,
                    Anchor::Start => at_start,
                    Anchor::End => at_end,
                    Anchor::Anywhere => true,
                };
                if placed {
                    scratch.hit(text.atom);
                }
            }
        });
    }

    /// Sets the atoms of the literals found in `value`, a value of the field `field` (whose
    /// atoms alone count, besides the atoms of any field).
    fn run(&self, value: &[u8], field: u32, scratch: &mut ScanScratch) {
        self.set.find(value, &mut |literal, start, end| {
            let (at_start, at_end) = (start == 0, end == value.len());
            for text in &self.by_pattern[literal as usize] {
                if text.field != ANY_FIELD && text.field != field {
                    continue;
                }
                let placed = match text.anchor {
                    Anchor::Whole => at_start && at_end,
                    Anchor::Start => at_start,
                    Anchor::End => at_end,
                    Anchor::Anywhere => true,
                };
                if placed {
                    scratch.hit(text.atom);
                }
            }
        });
    }
}

/// Every atom of a rule set (or of some of its rules), compiled for scanning.
#[derive(Debug, Default)]
pub struct Prefilter {
    /// The literals of keywords (any field), run over every string value.
    keywords: Scanner,
    /// Per field id.
    fields: Vec<FieldAtoms>,
    tries: Trie,
    atoms: usize,
}

/// Per-thread buffers of a scan, reused across events.
#[derive(Debug, Default)]
pub struct ScanScratch {
    /// The string values keywords are looked for in, each followed by a NUL.
    haystack: Vec<u8>,
    /// Per value in `haystack`: its start, its end and its field id.
    bounds: Vec<(u32, u32, u32)>,
    seen: Vec<u64>,
    /// The atoms found, each once.
    pub hits: Vec<u32>,
}

impl ScanScratch {
    /// Whether the last scan found `atom`.
    pub fn found(&self, atom: u32) -> bool {
        self.seen
            .get(atom as usize / 64)
            .is_some_and(|w| w & (1 << (atom % 64)) != 0)
    }

    fn hit(&mut self, atom: u32) {
        let (word, bit) = (atom as usize / 64, 1u64 << (atom % 64));
        if self.seen[word] & bit == 0 {
            self.seen[word] |= bit;
            self.hits.push(atom);
        }
    }
}

impl Prefilter {
    /// Compiles `atoms`, each with its id (the ids found are reported, and ids need not be
    /// dense: a prefilter can hold the atoms of some rules of a set, by the set's ids).
    pub fn build<'a>(atoms: impl IntoIterator<Item = (u32, &'a Atom)>) -> Prefilter {
        let atoms: Vec<(u32, &Atom)> = atoms.into_iter().collect();
        let mut prefilter = Prefilter {
            atoms: atoms
                .iter()
                .map(|(id, _)| *id as usize + 1)
                .max()
                .unwrap_or(0),
            ..Prefilter::default()
        };
        for &(id, atom) in &atoms {
            match atom {
                Atom::Text {
                    text,
                    field: Some(field),
                    anchor: anchor @ (Anchor::Whole | Anchor::Start | Anchor::End),
                } => {
                    let field = *field;
                    match anchor {
                        Anchor::Whole => {
                            let table = &mut prefilter.field(field).whole;
                            table.entry(text.as_str().into()).or_default().push(id);
                        }
                        Anchor::Start => {
                            let root = prefilter.root(field, false);
                            prefilter.tries.insert(root, text.bytes(), id);
                        }
                        _ => {
                            let root = prefilter.root(field, true);
                            prefilter.tries.insert(root, text.bytes().rev(), id);
                        }
                    }
                }
                Atom::Text {
                    text,
                    field,
                    anchor,
                } => {
                    let (scanner, field) = match field {
                        Some(field) => (&mut prefilter.field(*field).scanner, *field),
                        None => (&mut prefilter.keywords, ANY_FIELD),
                    };
                    scanner.add(
                        text,
                        TextAtom {
                            atom: id,
                            field,
                            anchor: *anchor,
                        },
                    );
                }
                Atom::Number { field, bits, text } => {
                    let field = prefilter.field(*field);
                    field.numbers_by_bits.entry(*bits).or_default().push(id);
                    field
                        .numbers_by_text
                        .entry(text.clone())
                        .or_default()
                        .push(id);
                }
            }
        }
        prefilter.fields.iter_mut().for_each(|f| f.scanner.finish());
        prefilter.keywords.finish();
        prefilter
    }

    /// The root of `field`'s trie of suffixes (`ends`) or prefixes, made when missing.
    fn root(&mut self, field: u32, ends: bool) -> u32 {
        let existing = {
            let atoms = self.field(field);
            if ends { atoms.ends } else { atoms.starts }
        };
        if let Some(root) = existing {
            return root;
        }
        let root = self.tries.new_root();
        let atoms = self.field(field);
        if ends {
            atoms.ends = Some(root);
        } else {
            atoms.starts = Some(root);
        }
        root
    }

    fn field(&mut self, field: u32) -> &mut FieldAtoms {
        let index = field as usize;
        if self.fields.len() <= index {
            self.fields.resize_with(index + 1, FieldAtoms::default);
        }
        &mut self.fields[index]
    }

    /// Finds the atoms `event` holds; `field_ids` gives each event field's id (`u32::MAX`
    /// for a field no rule names). The atoms found are in `scratch.hits`.
    pub fn scan(&self, event: &Event, field_ids: &[u32], scratch: &mut ScanScratch) {
        for &atom in &scratch.hits {
            if let Some(word) = scratch.seen.get_mut(atom as usize / 64) {
                *word = 0;
            }
        }
        scratch.hits.clear();
        let words = self.atoms.div_ceil(64);
        if scratch.seen.len() < words {
            scratch.seen.resize(words, 0);
        }
        let keywords = !self.keywords.is_empty();
        scratch.haystack.clear();
        scratch.bounds.clear();
        for (field, &id) in event.fields.iter().zip(field_ids) {
            let value = &field.value;
            let lower = value.lower();
            if keywords && value.kind == ValueKind::String {
                // Keywords are matched in string values only.
                let start = u32::try_from(scratch.haystack.len()).unwrap_or(u32::MAX);
                scratch.haystack.extend_from_slice(lower.as_bytes());
                let end = u32::try_from(scratch.haystack.len()).unwrap_or(u32::MAX);
                scratch.haystack.push(0);
                scratch.bounds.push((start, end, id));
            }
            let Some(atoms) = self.fields.get(id as usize) else {
                continue;
            };
            if let Some(list) = atoms.whole.get(lower) {
                list.iter().for_each(|&a| scratch.hit(a));
            }
            if let Some(root) = atoms.starts {
                self.tries
                    .walk(root, lower.bytes(), &mut |a| scratch.hit(a));
            }
            if let Some(root) = atoms.ends {
                self.tries
                    .walk(root, lower.bytes().rev(), &mut |a| scratch.hit(a));
            }
            if !atoms.numbers_by_bits.is_empty() {
                if let Some(list) = value
                    .number
                    .and_then(|n| atoms.numbers_by_bits.get(&Atom::number_bits(n)))
                {
                    list.iter().for_each(|&a| scratch.hit(a));
                }
                if let Some(list) = atoms.numbers_by_text.get(lower.trim()) {
                    list.iter().for_each(|&a| scratch.hit(a));
                }
            }
            if !atoms.scanner.is_empty() {
                atoms.scanner.run(lower.as_bytes(), id, scratch);
            }
        }
        if keywords {
            let haystack = std::mem::take(&mut scratch.haystack);
            let bounds = std::mem::take(&mut scratch.bounds);
            self.keywords.run_values(&haystack, &bounds, scratch);
            scratch.haystack = haystack;
            scratch.bounds = bounds;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::event::{EventField, FieldValue};

    fn text(t: &str, field: Option<u32>, anchor: Anchor) -> Atom {
        Atom::Text {
            text: t.to_string(),
            field,
            anchor,
        }
    }

    #[test]
    fn atoms_count_only_in_their_field_and_place() {
        let atoms = vec![
            text("cmd.exe", Some(0), Anchor::End),
            text("cmd.exe", Some(1), Anchor::End),
            text("c:\\", Some(0), Anchor::Start),
            text("cmd.exe", Some(0), Anchor::Whole),
            text("windows", None, Anchor::Anywhere),
            Atom::Number {
                field: 2,
                bits: Atom::number_bits(4688.0),
                text: "4688".into(),
            },
            text("system32", Some(0), Anchor::Start),
            text("md.e", Some(1), Anchor::Anywhere),
            text("md.e", Some(2), Anchor::Anywhere),
            text("c:\\windows\\cmd.exe", Some(0), Anchor::Whole),
        ];
        let prefilter = Prefilter::build(atoms.iter().enumerate().map(|(i, a)| (i as u32, a)));
        let event = Event {
            fields: vec![
                EventField {
                    name: "Image".into(),
                    value: FieldValue::string(r"C:\Windows\cmd.exe"),
                },
                EventField {
                    name: "Other".into(),
                    value: FieldValue::string("cmd.exe x"),
                },
                EventField {
                    name: "EventID".into(),
                    value: FieldValue::string(" 4688"),
                },
            ],
            timestamp: None,
        };
        let mut scratch = ScanScratch::default();
        prefilter.scan(&event, &[0, 1, 2], &mut scratch);
        let mut hits = scratch.hits.clone();
        hits.sort_unstable();
        assert_eq!(hits, vec![0, 2, 4, 5, 7, 9]);
        assert!(scratch.found(9) && !scratch.found(8));
        // The scratch is reused: a second event starts from nothing.
        let empty = Event::default();
        prefilter.scan(&empty, &[], &mut scratch);
        assert!(scratch.hits.is_empty());
    }
}
