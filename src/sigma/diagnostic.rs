//! Diagnostics: problems found in a rule file, each with a stable code, a severity and the
//! position (file, line, column) of the YAML node it is about.
//!
//! Parsing code records *where* a problem is as a [`NodePath`] (a path of keys and indices into
//! the YAML document), because serde_yaml's values carry no positions. The path is turned into a
//! line and column only when a diagnostic is reported (see [`crate::sigma::yaml::Locator`]), so the
//! fast path — a valid rule — never pays for position tracking.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The rule is usable but does not follow the specification's recommendations.
    Warning,
    /// The rule (or the file) cannot be used.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $severity:ident; )*) => {
        /// The stable identifier of a kind of problem. The kebab-case name printed in
        /// `error[name]` never changes once released, so CI scripts can match on it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable kebab-case name of the code.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The severity a problem of this kind has unless `--strict` raises it.
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }
        }
    };
}

codes! {
    /// The file could not be read.
    Io = "io", Error;
    /// The file is not valid UTF-8.
    InvalidUtf8 = "invalid-utf8", Error;
    /// The file is larger than the configured limit.
    FileTooLarge = "file-too-large", Error;
    /// The YAML nests deeper than the configured limit.
    NestingTooDeep = "nesting-too-deep", Error;
    /// The file is not well-formed YAML.
    YamlSyntax = "yaml-syntax", Error;
    /// A mapping defines the same key twice.
    DuplicateKey = "duplicate-key", Error;
    /// The file holds no YAML document at all.
    EmptyFile = "empty-file", Error;
    /// A document is not a mapping (or a value has the wrong YAML type).
    InvalidType = "invalid-type", Error;
    /// A field the specification requires is absent.
    MissingField = "missing-field", Error;
    /// `status` is not one of the specification's values.
    InvalidStatus = "invalid-status", Error;
    /// `level` is not one of the specification's values.
    InvalidLevel = "invalid-level", Error;
    /// `date` or `modified` is not a valid calendar date.
    InvalidDate = "invalid-date", Error;
    /// A `related` entry has an unknown type or no id.
    InvalidRelated = "invalid-related", Error;
    /// A detection contains no search identifier, or a search identifier is empty.
    EmptyDetection = "empty-detection", Error;
    /// A detection value is of a kind Sigma does not allow there (nested maps, null in lists…).
    InvalidValue = "invalid-value", Error;
    /// A modifier name that the specification does not define.
    UnknownModifier = "unknown-modifier", Error;
    /// Modifiers that cannot be combined, or a modifier applied to a value it cannot take.
    IllegalModifierChain = "illegal-modifier-chain", Error;
    /// A `|re` value that is not a valid regular expression.
    InvalidRegex = "invalid-regex", Error;
    /// A `|cidr` value that is not a valid network.
    InvalidCidr = "invalid-cidr", Error;
    /// The condition does not follow the condition grammar.
    ConditionSyntax = "condition-syntax", Error;
    /// The condition's parentheses do not balance.
    UnbalancedParentheses = "unbalanced-parentheses", Error;
    /// The condition names a search identifier the detection does not define.
    UndefinedIdentifier = "undefined-identifier", Error;
    /// `1 of x*` / `all of x*` matches no search identifier.
    UnmatchedPattern = "unmatched-pattern", Error;
    /// A multi-document file uses an unknown `action`.
    InvalidAction = "invalid-action", Error;
    /// A correlation rule is malformed (type, group-by, timespan, condition, aliases).
    InvalidCorrelation = "invalid-correlation", Error;
    /// A filter rule is malformed.
    InvalidFilter = "invalid-filter", Error;
    /// A correlation or filter names a rule that does not exist in the rule set.
    UnresolvedReference = "unresolved-reference", Error;
    /// Two rules share a `name`, which correlations use as a unique reference.
    DuplicateName = "duplicate-name", Error;
    /// Two rules share an `id`.
    DuplicateId = "duplicate-id", Warning;
    /// A recommended field (id, status, description, author, date, level) is absent.
    MissingRecommendedField = "missing-recommended-field", Warning;
    /// A construct the specification deprecates (pipe aggregations, `near`, `timeframe`,
    /// `YYYY/MM/DD` dates, `action` documents, v1 `obsoletes`, v1 tag spellings such as
    /// `attack.defense_evasion`…).
    Deprecated = "deprecated", Warning;
    /// A tag outside the namespaces of the tags appendix.
    NonStandardTag = "non-standard-tag", Warning;
    /// A tag that breaks the tag syntax (upper case, spaces, no namespace).
    InvalidTagFormat = "invalid-tag-format", Warning;
    /// `id` (or a `related` id) is not a UUID.
    IdNotUuid = "id-not-uuid", Warning;
    /// An `attack.*` tag names a revoked ATT&CK object.
    RevokedAttackTag = "revoked-attack-tag", Warning;
    /// An `attack.*` tag names a deprecated ATT&CK object.
    DeprecatedAttackTag = "deprecated-attack-tag", Warning;
    /// An `attack.*` tag names nothing in the ATT&CK catalog.
    UnknownAttackTag = "unknown-attack-tag", Warning;
    /// A value exceeds a length the specification sets (title 256, description 65,535).
    TooLong = "too-long", Warning;
    /// A path the walker skipped: a symlink loop, a link leaving the input folder, a
    /// non-UTF-8 file name.
    SkippedPath = "skipped-path", Warning;
    /// A construct the specification discourages (`all of them`, `|all` on one value…).
    Discouraged = "discouraged", Warning;
    /// A `logsource` `category`, `product` or `service` that is not lower case with `_` for
    /// spaces (`.` and `-` allowed), as the rules specification asks.
    NonStandardLogsource = "non-standard-logsource", Warning;
    /// A filter whose log source does not cover a rule it names, so it never applies to it.
    IneffectiveFilter = "ineffective-filter", Warning;
    /// A processing pipeline file that cannot be used (bad YAML, unknown transformation type,
    /// missing or mistyped parameter, bad regular expression…).
    InvalidPipeline = "invalid-pipeline", Error;
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// The value of a mapping key.
    Key(String),
    /// The key itself (not its value) of a mapping entry: used for problems with the key text,
    /// such as an unknown modifier in `Image|foo`.
    KeyName(String),
    /// An element of a sequence.
    Index(usize),
}

/// Where in a file a node is: the document (0-based, in a multi-document file) and the path of
/// keys and indices from the document root.
///
/// Every search item of every rule keeps its path, and most paths are never read (only a problem
/// reads one), so a path is a shared list: extending it allocates one link and never copies the
/// path it extends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct NodePath {
    /// Index of the YAML document in the file.
    pub document: usize,
    /// The last step; its links lead back to the document's root.
    last: Option<Arc<Link>>,
    /// Character offset inside the scalar the path ends at (for condition errors), if known.
    pub offset: Option<usize>,
}

/// One step of a [`NodePath`] and the path before it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Link {
    before: Option<Arc<Link>>,
    segment: PathSegment,
}

impl NodePath {
    /// The root of document `document`.
    pub fn root(document: usize) -> Self {
        NodePath {
            document,
            last: None,
            offset: None,
        }
    }

    /// This path extended by the value of mapping key `key`.
    pub fn key(&self, key: &str) -> Self {
        self.with(PathSegment::Key(key.to_string()))
    }

    /// This path extended by the key text of mapping key `key`.
    pub fn key_name(&self, key: &str) -> Self {
        self.with(PathSegment::KeyName(key.to_string()))
    }

    /// This path extended by sequence element `index`.
    pub fn index(&self, index: usize) -> Self {
        self.with(PathSegment::Index(index))
    }

    /// This path pointing `offset` characters into the scalar it ends at.
    pub fn at_offset(&self, offset: usize) -> Self {
        let mut path = self.clone();
        path.offset = Some(offset);
        path
    }

    /// Whether this is the root of its document.
    pub fn is_root(&self) -> bool {
        self.last.is_none()
    }

    /// The steps from the document's root.
    pub fn segments(&self) -> Vec<&PathSegment> {
        let mut segments = Vec::new();
        let mut link = self.last.as_deref();
        while let Some(l) = link {
            segments.push(&l.segment);
            link = l.before.as_deref();
        }
        segments.reverse();
        segments
    }

    fn with(&self, segment: PathSegment) -> Self {
        NodePath {
            document: self.document,
            last: Some(Arc::new(Link {
                before: self.last.clone(),
                segment,
            })),
            offset: None,
        }
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() {
            return f.write_str("<document>");
        }
        for (i, segment) in self.segments().into_iter().enumerate() {
            match segment {
                PathSegment::Key(k) | PathSegment::KeyName(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A line and column, both 1-based (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Position {
    /// The first character of a file.
    pub const START: Position = Position { line: 1, column: 1 };
}

/// A problem with a rule file, before its position is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// What kind of problem.
    pub code: Code,
    /// The severity (normally `code.default_severity()`).
    pub severity: Severity,
    /// Human-readable explanation.
    pub message: String,
    /// Where: a node path, or an already known position.
    pub at: Where,
}

/// Where a problem is, before positions are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Where {
    /// A node of the YAML document.
    Node(NodePath),
    /// A known position (from the YAML parser).
    Position(Position),
}

impl Problem {
    /// A problem at a node, with the code's default severity.
    pub fn at(code: Code, path: &NodePath, message: impl Into<String>) -> Self {
        Problem {
            code,
            severity: code.default_severity(),
            message: message.into(),
            at: Where::Node(path.clone()),
        }
    }

    /// A problem at a known position, with the code's default severity.
    pub fn at_position(code: Code, position: Position, message: impl Into<String>) -> Self {
        Problem {
            code,
            severity: code.default_severity(),
            message: message.into(),
            at: Where::Position(position),
        }
    }
}

/// A problem with its position resolved: what `sigwiki check` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as it was given or found.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: Code,
    /// Explanation.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about a whole file (I/O problems), placed at its first character.
    pub fn for_file(file: &Path, code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            severity: code.default_severity(),
            code,
            message: message.into(),
        }
    }

    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}[{}]: {}",
            self.file.display(),
            self.line,
            self.column,
            self.severity,
            self.code,
            self.message
        )
    }
}

impl Ord for Diagnostic {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.file, self.line, self.column, self.code, &self.message).cmp(&(
            &other.file,
            other.line,
            other.column,
            other.code,
            &other.message,
        ))
    }
}

impl PartialOrd for Diagnostic {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
