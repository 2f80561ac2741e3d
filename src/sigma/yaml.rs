//! YAML loading for rule files: serde_yaml values for the content, with resource limits, and a
//! lazily built [`Locator`] that maps a [`NodePath`] back to a line and column.
//!
//! serde_yaml parses fast but its values carry no positions. Rather than track positions for
//! every node of every rule, sigwiki records a path with each problem and, only for files that
//! have problems, re-reads the text with an event parser (saphyr) that reports spans.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde::Deserialize;
use serde_yaml::Value;

use super::diagnostic::{Code, NodePath, PathSegment, Position, Problem};

/// Resource limits applied while reading a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_file_size: u64,
    /// Deepest accepted nesting of YAML collections (and of condition parentheses).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_size: 1024 * 1024,
            max_depth: 64,
        }
    }
}

/// Parses every YAML document of `text` into serde_yaml values.
///
/// Syntax errors, duplicate keys, alias-expansion bombs and excessive nesting become a
/// [`Problem`] with the position of the offending node.
pub fn load_documents(text: &str, limits: &Limits) -> Result<Vec<Value>, Problem> {
    let flow_limit = limits.max_depth.saturating_mul(4);
    if let Some(position) = nesting_exceeds(text, flow_limit) {
        return Err(Problem::at_position(
            Code::NestingTooDeep,
            position,
            format!("YAML flow collections (`[`, `{{`) nest deeper than {flow_limit} levels"),
        ));
    }
    let mut documents = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        match Value::deserialize(document) {
            Ok(value) => documents.push(value),
            // After an error serde_yaml's document iterator repeats the same error forever.
            Err(error) => return Err(yaml_error_problem(text, &error)),
        }
    }
    Ok(documents)
}

fn yaml_error_problem(text: &str, error: &serde_yaml::Error) -> Problem {
    let message = error.to_string();
    let position = error
        .location()
        .map(|l| Position {
            line: l.line(),
            column: l.column(),
        })
        .unwrap_or(Position::START);
    if message.contains("duplicate entry with key") {
        // serde_yaml points at the start of the mapping; point at the duplicate itself.
        let duplicate = Locator::new(text)
            .duplicates
            .into_iter()
            .find(|d| d.position >= position)
            .or_else(|| Locator::new(text).duplicates.into_iter().next());
        return match duplicate {
            Some(d) => Problem::at_position(
                Code::DuplicateKey,
                d.position,
                format!(
                    "duplicate key `{}` (first defined on line {})",
                    d.key, d.first.line
                ),
            ),
            None => Problem::at_position(Code::DuplicateKey, position, strip_location(&message)),
        };
    }
    if message.contains("recursion limit exceeded") {
        return Problem::at_position(
            Code::NestingTooDeep,
            position,
            "YAML nesting deeper than the parser's limit of 128 levels".to_string(),
        );
    }
    if message.contains("repetition limit exceeded") {
        return Problem::at_position(
            Code::YamlSyntax,
            position,
            "YAML aliases expand to too many nodes (alias bomb?)".to_string(),
        );
    }
    syntax_problem(text, &message, position)
}

/// A syntax error, placed where a reader must look. libyaml reports where it noticed the
/// problem (`… at line 15 column 1`) and, for constructs left open, where the construct began
/// (`…, while scanning a quoted scalar at line 12 column 31`); an unterminated string or flow
/// collection is only noticed far below its start, often at the end of the file, so the start
/// is the position reported, with the other one kept in the message.
fn syntax_problem(text: &str, message: &str, position: Position) -> Problem {
    let (problem, context) = match message.split_once(", while ") {
        Some((problem, context)) => (problem, Some(context)),
        None => (message, None),
    };
    let (problem_text, _) = split_mark(problem);
    if let Some((context_text, Some(start))) = context.map(split_mark) {
        let what = match context_text {
            "scanning a quoted scalar" => Some("this quoted string is never closed"),
            "parsing a flow sequence" => Some("this flow list `[` is never closed"),
            "parsing a flow mapping" => Some("this flow map `{` is never closed"),
            _ => None,
        };
        if let Some(what) = what {
            return Problem::at_position(
                Code::YamlSyntax,
                start,
                format!(
                    "{what}: {problem_text} at line {} column {}",
                    position.line, position.column
                ),
            );
        }
    }
    let tab = text
        .lines()
        .nth(position.line.saturating_sub(1))
        .and_then(|line| line.chars().nth(position.column.saturating_sub(1)))
        == Some('\t');
    if tab {
        return Problem::at_position(
            Code::YamlSyntax,
            position,
            "a tab character cannot indent YAML or start a value; use spaces",
        );
    }
    Problem::at_position(Code::YamlSyntax, position, strip_location(message))
}

/// serde_yaml appends " at line X column Y" to its messages (and to their context); the
/// position is reported separately.
fn strip_location(message: &str) -> String {
    message
        .split(", while ")
        .map(|part| split_mark(part).0)
        .collect::<Vec<_>>()
        .join(", while ")
}

/// Splits `text at line X column Y` into the text and the position, if it has one.
fn split_mark(text: &str) -> (&str, Option<Position>) {
    let Some(i) = text.rfind(" at line ") else {
        return (text, None);
    };
    let mark = &text[i + " at line ".len()..];
    let position = mark.split_once(" column ").and_then(|(line, column)| {
        Some(Position {
            line: line.trim().parse().ok()?,
            column: column.trim().parse().ok()?,
        })
    });
    match position {
        Some(p) => (&text[..i], Some(p)),
        None => (text, None),
    }
}

/// A cheap pre-scan for pathologically deep flow nesting (`[[[[…`), which could otherwise exhaust
/// the stack of a recursive parser. Block nesting is bounded by serde_yaml's own recursion limit.
fn nesting_exceeds(text: &str, max_depth: usize) -> Option<Position> {
    // Nesting needs brackets: most rules have a handful, so count them first (a fast,
    // vectorised pass) and scan only files that could exceed the limit.
    let openers = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if openers <= max_depth {
        return None;
    }
    // Every byte that matters is ASCII, so the scan works on bytes; the column is counted in
    // characters only for the position reported.
    let mut depth = 0usize;
    let mut line = 1;
    let mut line_start = 0;
    let mut quote: Option<u8> = None;
    let mut comment = false;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
            comment = false;
            continue;
        }
        if comment {
            continue;
        }
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'[' | b'{' => {
                    depth += 1;
                    if depth > max_depth {
                        let column = text.get(line_start..i).map_or(0, |l| l.chars().count()) + 1;
                        return Some(Position { line, column });
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b'\'' | b'"' if depth > 0 => quote = Some(b),
                b'#' => comment = true,
                _ => {}
            },
        }
    }
    None
}

/// A duplicate key found by the locator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The key text.
    pub key: String,
    /// Where the duplicate is.
    pub position: Position,
    /// Where the key was first defined in the same mapping.
    pub first: Position,
}

#[derive(Debug)]
enum Node {
    Scalar {
        position: Position,
        style: ScalarStyle,
        multiline: bool,
        /// An implicit null (`key:` with nothing after it): it has no text to point at.
        empty: bool,
    },
    Sequence {
        position: Position,
        items: Vec<Node>,
    },
    Mapping {
        position: Position,
        entries: Vec<(String, Position, Node)>,
    },
}

impl Node {
    fn position(&self) -> Position {
        match self {
            Node::Scalar { position, .. }
            | Node::Sequence { position, .. }
            | Node::Mapping { position, .. } => *position,
        }
    }
}

/// Maps node paths of a file to positions. Built from the file text on demand.
#[derive(Debug)]
pub struct Locator {
    documents: Vec<Node>,
    /// Duplicate keys seen anywhere in the file.
    pub duplicates: Vec<DuplicateKey>,
}

impl Locator {
    /// Reads `text` with a span-reporting YAML parser. Never fails: on a syntax error the
    /// documents read so far are kept.
    pub fn new(text: &str) -> Self {
        let mut builder = Builder {
            parser: Parser::new_from_str(text),
            duplicates: Vec::new(),
            depth: 0,
        };
        let mut documents = Vec::new();
        while let Some(Ok((event, _))) = builder.parser.next_event() {
            match event {
                Event::DocumentStart(_) => match builder.node() {
                    Some(node) => documents.push(node),
                    None => break,
                },
                Event::StreamEnd => break,
                _ => {}
            }
        }
        Locator {
            documents,
            duplicates: builder.duplicates,
        }
    }

    /// The position of the node at `path`, or of its nearest ancestor that exists.
    ///
    /// For a mapping value that is a collection, the position of its key is returned (the line
    /// a reader looks for); for a scalar, the position of the scalar itself.
    pub fn locate(&self, path: &NodePath) -> Position {
        let Some(mut node) = self.documents.get(path.document) else {
            return Position::START;
        };
        let mut position = node.position();
        for segment in path.segments() {
            match (segment, node) {
                (PathSegment::Key(key), Node::Mapping { entries, .. }) => {
                    match entries.iter().find(|(k, _, _)| k == key) {
                        Some((_, key_position, value)) => {
                            node = value;
                            position = match value {
                                Node::Scalar { empty: false, .. } => value.position(),
                                _ => *key_position,
                            };
                        }
                        None => return position,
                    }
                }
                (PathSegment::KeyName(key), Node::Mapping { entries, .. }) => {
                    return entries
                        .iter()
                        .find(|(k, _, _)| k == key)
                        .map_or(position, |(_, key_position, _)| *key_position);
                }
                (PathSegment::Index(i), Node::Sequence { items, .. }) => match items.get(*i) {
                    Some(item) => {
                        node = item;
                        position = item.position();
                    }
                    None => return position,
                },
                _ => return position,
            }
        }
        if let (
            Some(offset),
            Node::Scalar {
                style, multiline, ..
            },
        ) = (path.offset, node)
        {
            let quote = match style {
                ScalarStyle::Plain => 0,
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => 1,
                _ => return position,
            };
            if !multiline {
                position.column += quote + offset;
            }
        }
        position
    }
}

/// The position of the node at `path` in `text`, as [`Locator::locate`] gives it, found by
/// reading only as far as the path leads.
///
/// A converter's refusals and a rule's late diagnostics each need one position of a file that
/// parsed cleanly, mostly near its top (`logsource`, `tags`); building a whole [`Locator`] for
/// each of them was a visible share of converting a corpus that a pipeline refuses in part.
/// Siblings before the path are skipped by counting nesting, not built. Should the text turn
/// out to be malformed before the position is settled, the whole [`Locator`] decides.
pub fn locate(text: &str, path: &NodePath) -> Position {
    PathReader {
        parser: Parser::new_from_str(text),
    }
    .locate(path)
    .unwrap_or_else(|| Locator::new(text).locate(path))
}

/// An event stream walked along one [`NodePath`]; every method returns `None` when the stream
/// ends early or is malformed.
struct PathReader<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
}

/// The first event of a node: enough to tell its kind and position.
struct NodeHead {
    position: Position,
    kind: HeadKind,
}

enum HeadKind {
    Scalar {
        style: ScalarStyle,
        multiline: bool,
        empty: bool,
    },
    Sequence,
    Mapping,
}

impl PathReader<'_> {
    fn locate(&mut self, path: &NodePath) -> Option<Position> {
        let mut document = 0;
        let mut head = loop {
            match self.parser.next_event()?.ok()?.0 {
                Event::DocumentStart(_) if document == path.document => break self.head()?,
                Event::DocumentStart(_) => {
                    let root = self.head()?;
                    self.skip(&root)?;
                    document += 1;
                }
                // The documents are as many as the file has: a path past them is at its start.
                Event::StreamEnd => return Some(Position::START),
                _ => {}
            }
        };
        let mut position = head.position;
        for segment in path.segments() {
            match (segment, &head.kind) {
                (PathSegment::Key(key), HeadKind::Mapping) => {
                    let Some((key_position, value)) = self.find_key(key)? else {
                        return Some(position);
                    };
                    position = match value.kind {
                        HeadKind::Scalar { empty: false, .. } => value.position,
                        _ => key_position,
                    };
                    head = value;
                }
                (PathSegment::KeyName(key), HeadKind::Mapping) => {
                    return Some(self.find_key(key)?.map_or(position, |(at, _)| at));
                }
                (PathSegment::Index(index), HeadKind::Sequence) => {
                    let mut seen = 0;
                    head = loop {
                        let (event, span) = self.parser.next_event()?.ok()?;
                        if matches!(event, Event::SequenceEnd) {
                            return Some(position);
                        }
                        let item = Self::head_of(&event, span)?;
                        if seen == *index {
                            break item;
                        }
                        self.skip(&item)?;
                        seen += 1;
                    };
                    position = head.position;
                }
                _ => return Some(position),
            }
        }
        if let (
            Some(offset),
            HeadKind::Scalar {
                style, multiline, ..
            },
        ) = (path.offset, &head.kind)
        {
            let quote = match style {
                ScalarStyle::Plain => 0,
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => 1,
                _ => return Some(position),
            };
            if !multiline {
                position.column += quote + offset;
            }
        }
        Some(position)
    }

    /// In the mapping just opened, the first entry whose key is `key`: the key's position and
    /// the head of its value, or `None` inside when the mapping has no such key. The first
    /// entry wins, as in [`Locator`].
    #[allow(clippy::option_option)]
    fn find_key(&mut self, key: &str) -> Option<Option<(Position, NodeHead)>> {
        loop {
            let (event, span) = self.parser.next_event()?.ok()?;
            if matches!(event, Event::MappingEnd) {
                return Some(None);
            }
            let key_position = to_position(span.start);
            let matches = matches!(&event, Event::Scalar(text, ..) if text == key)
                || (key.is_empty() && !matches!(event, Event::Scalar(..)));
            let key_head = Self::head_of(&event, span)?;
            self.skip(&key_head)?;
            let value = self.head()?;
            if matches {
                return Some(Some((key_position, value)));
            }
            self.skip(&value)?;
        }
    }

    /// Reads the first event of the next node.
    fn head(&mut self) -> Option<NodeHead> {
        let (event, span) = self.parser.next_event()?.ok()?;
        Self::head_of(&event, span)
    }

    fn head_of(event: &Event<'_>, span: saphyr_parser::Span) -> Option<NodeHead> {
        let position = to_position(span.start);
        let kind = match event {
            Event::Scalar(_, style, _, _) => HeadKind::Scalar {
                style: *style,
                multiline: span.end.line() != span.start.line(),
                empty: span.end.index() == span.start.index(),
            },
            Event::Alias(_) => HeadKind::Scalar {
                style: ScalarStyle::Plain,
                multiline: false,
                empty: false,
            },
            Event::SequenceStart(..) => HeadKind::Sequence,
            Event::MappingStart(..) => HeadKind::Mapping,
            _ => return None,
        };
        Some(NodeHead { position, kind })
    }

    /// Reads past the rest of the node `head` began.
    fn skip(&mut self, head: &NodeHead) -> Option<()> {
        if matches!(head.kind, HeadKind::Scalar { .. }) {
            return Some(());
        }
        let mut open = 1usize;
        while open > 0 {
            match self.parser.next_event()?.ok()?.0 {
                Event::SequenceStart(..) | Event::MappingStart(..) => open += 1,
                Event::SequenceEnd | Event::MappingEnd => open -= 1,
                Event::StreamEnd => return None,
                _ => {}
            }
        }
        Some(())
    }
}

/// serde_yaml refuses nesting deeper than 128, so files reaching the locator are shallower; the
/// bound only guards the recursion against inputs that never went through serde_yaml.
const MAX_LOCATOR_DEPTH: usize = 256;

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    duplicates: Vec<DuplicateKey>,
    depth: usize,
}

fn to_position(marker: saphyr_parser::Marker) -> Position {
    Position {
        line: marker.line(),
        column: marker.col() + 1,
    }
}

impl Builder<'_> {
    /// Reads one node (the next event starts it). `None` on end of input or error.
    fn node(&mut self) -> Option<Node> {
        let (event, span) = self.parser.next_event()?.ok()?;
        self.node_from(event, span)
    }

    fn node_from(&mut self, event: Event<'_>, span: saphyr_parser::Span) -> Option<Node> {
        let position = to_position(span.start);
        match event {
            Event::Scalar(_, style, _, _) => Some(Node::Scalar {
                position,
                style,
                multiline: span.end.line() != span.start.line(),
                empty: span.end.index() == span.start.index(),
            }),
            Event::Alias(_) => Some(Node::Scalar {
                position,
                style: ScalarStyle::Plain,
                multiline: false,
                empty: false,
            }),
            Event::SequenceStart(..) => {
                self.depth += 1;
                if self.depth > MAX_LOCATOR_DEPTH {
                    return None;
                }
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.parser.next_event()?.ok()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node_from(event, span)?);
                }
                self.depth -= 1;
                Some(Node::Sequence { position, items })
            }
            Event::MappingStart(..) => {
                self.depth += 1;
                if self.depth > MAX_LOCATOR_DEPTH {
                    return None;
                }
                let mut entries: Vec<(String, Position, Node)> = Vec::new();
                loop {
                    let (event, span) = self.parser.next_event()?.ok()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key_position = to_position(span.start);
                    let key = match &event {
                        Event::Scalar(text, ..) => text.to_string(),
                        _ => String::new(),
                    };
                    // Complex keys are read (and discarded) so the event stream stays in step.
                    self.node_from(event, span)?;
                    let value = self.node()?;
                    if let Some((_, first, _)) = entries.iter().find(|(k, _, _)| *k == key) {
                        self.duplicates.push(DuplicateKey {
                            key: key.clone(),
                            position: key_position,
                            first: *first,
                        });
                    }
                    entries.push((key, key_position, value));
                }
                self.depth -= 1;
                Some(Node::Mapping { position, entries })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_keys_values_and_items() {
        let text = "title: x\ndetection:\n    sel:\n        - 'a'\n        - b\n    condition: sel and x\n";
        let locator = Locator::new(text);
        let root = NodePath::root(0);
        assert_eq!(
            locator.locate(&root.key("title")),
            Position { line: 1, column: 8 }
        );
        assert_eq!(
            locator.locate(&root.key("detection").key("sel")),
            Position { line: 3, column: 5 }
        );
        assert_eq!(
            locator.locate(&root.key("detection").key("sel").index(1)),
            Position {
                line: 5,
                column: 11
            }
        );
        let condition = root.key("detection").key("condition");
        assert_eq!(
            locator.locate(&condition.at_offset(8)),
            Position {
                line: 6,
                column: 24
            }
        );
        assert_eq!(
            locator.locate(&root.key("detection").key_name("condition")),
            Position { line: 6, column: 5 }
        );
        // A missing key resolves to its nearest ancestor.
        assert_eq!(
            locator.locate(&root.key("detection").key("nope")),
            Position { line: 2, column: 1 }
        );
    }

    /// Every path into `node`, with a missing key, a missing index and a scalar offset beside
    /// the real ones.
    fn paths_into(node: &Node, path: NodePath, out: &mut Vec<NodePath>) {
        out.push(path.clone());
        match node {
            Node::Scalar { .. } => out.push(path.at_offset(3)),
            Node::Sequence { items, .. } => {
                out.push(path.index(items.len()));
                out.push(path.key("x"));
                for (i, item) in items.iter().enumerate() {
                    paths_into(item, path.index(i), out);
                }
            }
            Node::Mapping { entries, .. } => {
                out.push(path.key("no such key"));
                out.push(path.index(0));
                for (key, _, value) in entries {
                    out.push(path.key_name(key));
                    paths_into(value, path.key(key), out);
                }
            }
        }
    }

    #[test]
    fn locating_one_path_agrees_with_the_whole_locator() {
        let texts = [
            "title: x\ndetection:\n    sel:\n        - 'a'\n        - b\n    condition: sel and x\n",
            "a: 1\n---\nb:\n  - {c: 2, d: [3, 4]}\n  - \"quoted value\"\n  -\n---\n[x, y]\n",
            "k: |\n  multi\n  line\nanchor: &a {x: 1}\nalias: *a\nempty:\n? [complex, key]\n: v\n",
            "dup: 1\ndup: 2\nnested: {dup: a, dup: b}\n",
        ];
        let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let files = walkdir::WalkDir::new(rules)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "yml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok());
        let mut checked = 0;
        for text in texts.iter().map(|t| t.to_string()).chain(files) {
            let locator = Locator::new(&text);
            let mut paths = vec![NodePath::root(locator.documents.len())];
            for (i, document) in locator.documents.iter().enumerate() {
                paths_into(document, NodePath::root(i), &mut paths);
            }
            for path in &paths {
                assert_eq!(
                    locate(&text, path),
                    locator.locate(path),
                    "{path:?} in {text}"
                );
                checked += 1;
            }
        }
        assert!(checked > 500, "only {checked} paths checked");
    }

    #[test]
    fn duplicate_keys_are_rejected_at_the_duplicate() {
        let text = "title: x\ndetection:\n    sel:\n        a: 1\n        a: 2\n";
        let problem = load_documents(text, &Limits::default()).unwrap_err();
        assert_eq!(problem.code, Code::DuplicateKey);
        assert_eq!(
            problem.at,
            super::super::diagnostic::Where::Position(Position { line: 5, column: 9 })
        );
        assert!(problem.message.contains("`a`"), "{}", problem.message);
    }

    #[test]
    fn duplicate_top_level_keys_are_rejected() {
        let text = "title: x\nlevel: high\ntitle: y\n";
        let problem = load_documents(text, &Limits::default()).unwrap_err();
        assert_eq!(problem.code, Code::DuplicateKey);
        assert_eq!(
            problem.at,
            super::super::diagnostic::Where::Position(Position { line: 3, column: 1 })
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        // An unclosed construct is reported where it starts, not where libyaml gave up.
        let problem = load_documents("a: [1\n", &Limits::default()).unwrap_err();
        assert_eq!(problem.code, Code::YamlSyntax);
        assert_eq!(
            problem.at,
            super::super::diagnostic::Where::Position(Position { line: 1, column: 4 })
        );
        assert!(
            problem.message.contains("never closed"),
            "{}",
            problem.message
        );
        let problem = load_documents("a: 'x\nb: c\n", &Limits::default()).unwrap_err();
        assert_eq!(
            problem.at,
            super::super::diagnostic::Where::Position(Position { line: 1, column: 4 })
        );
        // Other errors keep libyaml's position, without the location text in the message.
        let problem = load_documents("a: b: c\n", &Limits::default()).unwrap_err();
        assert_eq!(
            problem.at,
            super::super::diagnostic::Where::Position(Position { line: 1, column: 5 })
        );
        assert!(!problem.message.contains("at line"), "{}", problem.message);
        let problem = load_documents("a:\n\tb: c\n", &Limits::default()).unwrap_err();
        assert!(problem.message.contains("tab"), "{}", problem.message);
    }

    #[test]
    fn multiple_documents_are_loaded() {
        let docs = load_documents("a: 1\n---\nb: 2\n", &Limits::default()).unwrap();
        assert_eq!(docs.len(), 2);
        let locator = Locator::new("a: 1\n---\nb: 2\n");
        assert_eq!(
            locator.locate(&NodePath::root(1).key("b")),
            Position { line: 3, column: 4 }
        );
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert!(load_documents(&bomb, &Limits::default()).is_err());
        let deep = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        let problem = load_documents(&deep, &Limits::default()).unwrap_err();
        assert_eq!(problem.code, Code::NestingTooDeep);
    }
}
