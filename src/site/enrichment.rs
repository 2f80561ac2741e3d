//! What the site needs to know about a rule beyond the rule itself, as plain typed values: its
//! ATT&CK tactics and techniques, the log data it needs, the tests that trigger it, and the
//! ATT&CK matrix for the coverage page.
//!
//! The site asks an [`Enricher`] for these facts. The catalog adapters (ATT&CK, Data Needed,
//! Atomic Red Team) implement it; [`TagsOnly`] is the honest fallback when no catalog is
//! available: tags are shown as written and every ATT&CK cell says it is unmapped.

use serde::Serialize;

use crate::sigma::{Diagnostic, Document, RuleFile};

/// An ATT&CK tactic a rule is tagged with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Tactic {
    /// `TA0005`.
    pub id: String,
    /// The current display name ("Stealth").
    pub name: String,
    /// The ATT&CK page.
    pub url: String,
    /// The hyphenated short name (`defense-evasion`), as the Navigator uses it.
    pub shortname: String,
    /// The tag as written in the rule (empty when implied).
    pub tag: String,
    /// When the tag used a former name of the tactic, that name ("Defense Evasion").
    pub former_name: Option<String>,
    /// When the rule tags no tactic: the techniques that imply this one.
    pub implied_by: Vec<String>,
}

/// A reference to an ATT&CK technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TechniqueRef {
    /// `T1218.011`.
    pub id: String,
    /// The full name ("System Binary Proxy Execution: Rundll32").
    pub name: String,
    /// The ATT&CK page.
    pub url: String,
}

/// An ATT&CK technique a rule is tagged with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Technique {
    /// The technique as tagged.
    #[serde(flatten)]
    pub technique: TechniqueRef,
    /// The tag as written in the rule.
    pub tag: String,
    /// When the tagged technique was revoked: the technique that replaces it.
    pub revoked_by: Option<TechniqueRef>,
    /// Whether ATT&CK deprecated the technique (without a replacement).
    pub deprecated: bool,
    /// The IDs of the tactics the technique belongs to.
    pub tactics: Vec<String>,
    /// Whether the catalog does not know the technique.
    pub unknown: bool,
}

impl Technique {
    /// The technique that counts for coverage: the replacement of a revoked one, else itself.
    pub fn effective(&self) -> &TechniqueRef {
        self.revoked_by.as_ref().unwrap_or(&self.technique)
    }
}

/// A Data Needed entry: a kind of log event a rule needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct DataNeeded {
    /// Slug id (`sysmon-3`), used for its page.
    pub id: String,
    /// "Sysmon event 3: Network connection detected".
    pub title: String,
    /// Platform ("Windows").
    pub platform: Option<String>,
    /// The kind of log ("OS Logs", "Applications Logs").
    pub category: Option<String>,
    /// The event id.
    pub event_id: Option<String>,
    /// Event log channel.
    pub channel: Option<String>,
    /// Event provider.
    pub provider: Option<String>,
    /// Fields of the event.
    pub fields: Vec<String>,
    /// A short description.
    pub description: Option<String>,
}

/// A way to trigger a technique: Atomic Red Team tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trigger {
    /// The technique tested (`T1218.011`).
    pub technique: String,
    /// The page with the tests.
    pub url: String,
    /// How many tests there are.
    pub test_count: usize,
    /// The test names, when known.
    pub tests: Vec<String>,
}

/// A tag that is not an ATT&CK tactic or technique: a group, software, CVE, CAR analytic…
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherTag {
    /// The tag as written.
    pub tag: String,
    /// Its namespace (`attack`, `cve`, `car`…), empty for a tag without one.
    pub namespace: String,
    /// What it names, when known ("APT29").
    pub name: Option<String>,
    /// Where to read about it, when known.
    pub url: Option<String>,
}

impl OtherTag {
    /// A tag with nothing known about it.
    pub fn plain(tag: &str) -> OtherTag {
        OtherTag {
            tag: tag.to_string(),
            namespace: tag_namespace(tag).to_string(),
            name: None,
            url: None,
        }
    }
}

/// The namespace of a tag: the part before the first `.`, or `""`.
pub fn tag_namespace(tag: &str) -> &str {
    tag.split_once('.').map_or("", |(ns, _)| ns)
}

/// Everything known about one rule document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Enrichment {
    /// ATT&CK tactics, in tag order, without duplicates. Shared (here and below), so that the
    /// entries of a large rule set hold one copy of each (see [`super::model::compact`]).
    pub tactics: Vec<std::sync::Arc<Tactic>>,
    /// ATT&CK techniques, in tag order, without duplicates.
    pub techniques: Vec<std::sync::Arc<Technique>>,
    /// Data Needed entries, sorted by id.
    pub data_needed: Vec<std::sync::Arc<DataNeeded>>,
    /// Triggers of the rule's techniques.
    pub triggers: Vec<Trigger>,
    /// The other tags.
    pub other_tags: Vec<OtherTag>,
}

/// One cell of the ATT&CK matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixTechnique {
    /// The technique.
    #[serde(flatten)]
    pub technique: TechniqueRef,
    /// Its sub-techniques.
    pub subtechniques: Vec<TechniqueRef>,
}

/// A column of the ATT&CK matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixTactic {
    /// `TA0005`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Short name (`defense-evasion`).
    pub shortname: String,
    /// ATT&CK page.
    pub url: String,
    /// The techniques in this column, in display order.
    pub techniques: Vec<MatrixTechnique>,
}

/// The ATT&CK Enterprise matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Matrix {
    /// The ATT&CK version (`19.1`).
    pub version: String,
    /// The columns, in ATT&CK's order.
    pub tactics: Vec<MatrixTactic>,
}

/// A source of facts about rules.
pub trait Enricher: Send + Sync {
    /// The facts about one document of a rule file.
    fn enrich(&self, document: &Document) -> Enrichment;

    /// The ATT&CK matrix, if a catalog is available.
    fn matrix(&self) -> Option<&Matrix>;

    /// What the catalogs find wrong with a rule file (revoked or unknown ATT&CK tags…), the
    /// same warnings `sigwiki check` reports.
    fn diagnostics(&self, _file: &RuleFile) -> Vec<Diagnostic> {
        Vec::new()
    }
}

/// The enricher without catalogs: every tag is shown as written.
#[derive(Debug, Clone, Copy, Default)]
pub struct TagsOnly;

impl Enricher for TagsOnly {
    fn enrich(&self, document: &Document) -> Enrichment {
        let mut seen = std::collections::HashSet::new();
        Enrichment {
            other_tags: document
                .kind
                .meta()
                .tags
                .iter()
                .filter(|t| seen.insert(t.as_str()))
                .map(|t| OtherTag::plain(t))
                .collect(),
            ..Enrichment::default()
        }
    }

    fn matrix(&self) -> Option<&Matrix> {
        None
    }
}
