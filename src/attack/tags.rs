//! Resolution of a rule's tags against the ATT&CK catalog: `attack.*` tags become tactics,
//! techniques, groups, software, mitigations, data sources and data components (revoked IDs
//! followed to their replacement, deprecated and unknown ones flagged); tags of other
//! namespaces are kept as typed "other tags". Problems (revoked, deprecated, unknown) carry
//! the index of their tag so that `check` can print them at the tag's line.
//!
//! Tag syntax accepted (case and surrounding whitespace are ignored, since the parser already
//! reports them as format problems):
//! - `attack.t1059`, `attack.t1059.001` — techniques and sub-techniques;
//! - `attack.execution`, `attack.defense-evasion` (Sigma 2) and `attack.defense_evasion`
//!   (Sigma 1) — tactics by shortname; `attack.ta0005` — a tactic by ID;
//! - `attack.g0016`, `attack.s0002`, `attack.m1042`, `attack.ds0009`, `attack.dc0032`.

use serde::Serialize;

use super::catalog::{Catalog, ObjectKind, ObjectView};
use super::dataset::{Tactic, Technique};
use crate::sigma::RuleFile;
use crate::sigma::diagnostic::{Code, Diagnostic, NodePath, Problem};

/// A tactic ATT&CK renamed, whose old shortname Sigma rules still use.
struct FormerTactic {
    /// The old shortname.
    shortname: &'static str,
    /// The old name.
    name: &'static str,
    /// The tactic's ID, which did not change.
    id: &'static str,
}

/// ATT&CK v19 renamed TA0005 "Defense Evasion" (`defense-evasion`) to "Stealth" (`stealth`)
/// and moved part of it to the new TA0112 "Defense Impairment". No v19 object keeps the old
/// phase name, so the old tags are aliases of TA0005. An alias applies only when the loaded
/// catalog has no tactic of that shortname, so an older release resolves it natively.
const FORMER_TACTICS: &[FormerTactic] = &[FormerTactic {
    shortname: "defense-evasion",
    name: "Defense Evasion",
    id: "TA0005",
}];

/// What a tag names, before any lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagTarget {
    /// `attack.<word>`: a tactic shortname in ATT&CK's spelling (`_` turned into `-`).
    TacticName(String),
    /// `attack.taNNNN`: a tactic by ID (upper case).
    TacticId(String),
    /// `attack.tNNNN`, `attack.gNNNN`, …: an object by kind and ID (upper case).
    Object(ObjectKind, String),
    /// An `attack.*` tag of no known form; the text after `attack.`.
    UnrecognizedAttack(String),
    /// A tag of another namespace (or of none).
    Other {
        /// The namespace.
        namespace: TagNamespace,
        /// The namespace as written (lower case; empty when the tag has none).
        prefix: String,
        /// The text after the first `.` (the whole tag when it has no namespace).
        value: String,
    },
}

/// The namespaces of Sigma's tags appendix, for tags that are not resolved against ATT&CK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TagNamespace {
    /// An `attack.*` tag of no known form.
    Attack,
    /// MITRE Cyber Analytics Repository.
    Car,
    /// CVE identifiers.
    Cve,
    /// MITRE D3FEND.
    D3fend,
    /// Detection kinds (`detection.threat-hunting`, …).
    Detection,
    /// Summiting the Pyramid.
    Stp,
    /// Traffic Light Protocol.
    Tlp,
    /// Any other namespace, or none.
    Nonstandard,
}

/// Parses one tag. Never fails: anything unrecognised is reported as such.
pub fn parse_tag(tag: &str) -> TagTarget {
    let lower = tag.trim().to_lowercase();
    let Some((prefix, value)) = lower.split_once('.') else {
        return TagTarget::Other {
            namespace: TagNamespace::Nonstandard,
            prefix: String::new(),
            value: lower,
        };
    };
    let (prefix, value) = (prefix.trim(), value.trim());
    let namespace = match prefix {
        "attack" => return parse_attack(value),
        "car" => TagNamespace::Car,
        "cve" => TagNamespace::Cve,
        "d3fend" => TagNamespace::D3fend,
        "detection" => TagNamespace::Detection,
        "stp" => TagNamespace::Stp,
        "tlp" => TagNamespace::Tlp,
        _ => TagNamespace::Nonstandard,
    };
    TagTarget::Other {
        namespace,
        prefix: prefix.to_string(),
        value: value.to_string(),
    }
}

fn parse_attack(value: &str) -> TagTarget {
    let letters = value
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(value.len());
    let (kind, number) = value.split_at(letters);
    let is_id = !kind.is_empty()
        && number.starts_with(|c: char| c.is_ascii_digit())
        && number.chars().all(|c| c.is_ascii_digit() || c == '.');
    if is_id {
        let id = format!("{}{number}", kind.to_ascii_uppercase());
        let kind = match kind {
            "ta" => return TagTarget::TacticId(id),
            "t" => ObjectKind::Technique,
            "g" => ObjectKind::Group,
            "s" => ObjectKind::Software,
            "m" => ObjectKind::Mitigation,
            "ds" => ObjectKind::DataSource,
            "dc" => ObjectKind::DataComponent,
            _ => return TagTarget::UnrecognizedAttack(value.to_string()),
        };
        return TagTarget::Object(kind, id);
    }
    let is_word = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_');
    if is_word {
        TagTarget::TacticName(value.replace('_', "-"))
    } else {
        TagTarget::UnrecognizedAttack(value.to_string())
    }
}

/// A tag as written, and its position in the rule's `tags` list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagRef {
    /// Index in the rule's `tags` list.
    pub index: usize,
    /// The tag as written.
    pub text: String,
}

/// Where an ATT&CK object stands in the loaded release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Current.
    Active,
    /// Replaced by another object.
    Revoked,
    /// Withdrawn without a replacement.
    Deprecated,
    /// Not in the catalog.
    Unknown,
}

/// A tactic of a rule, named by its tags or implied by its techniques.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTactic {
    /// `TA0005`.
    pub id: String,
    /// The current name, `Stealth`.
    pub name: String,
    /// `stealth`.
    pub shortname: String,
    /// The name the rule's tag used when it is a former one (`Defense Evasion`).
    pub former_name: Option<String>,
    /// `Stealth (formerly Defense Evasion)`, or just the name.
    pub display_name: String,
    /// Its page on attack.mitre.org.
    pub url: String,
    /// Implied by the rule's techniques, not tagged: the rule names no tactic.
    pub implied: bool,
    /// The tags that name it (empty when implied).
    pub tags: Vec<TagRef>,
    /// The techniques that imply it (only when implied), by their current ID.
    pub implied_by: Vec<String>,
}

/// A technique of the catalog, in the form pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TechniqueInfo {
    /// `T1218.011`.
    pub id: String,
    /// Its own name, `Rundll32`.
    pub name: String,
    /// The parent technique's ID, for a sub-technique.
    pub parent_id: Option<String>,
    /// The parent technique's name, for a sub-technique.
    pub parent_name: Option<String>,
    /// `System Binary Proxy Execution: Rundll32`.
    pub full_name: String,
    /// Its page on attack.mitre.org.
    pub url: String,
    /// Its tactics' IDs, in matrix order.
    pub tactics: Vec<String>,
    /// Whether the catalog marks it deprecated.
    pub deprecated: bool,
}

/// A technique tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTechnique {
    /// The tag.
    pub tag: TagRef,
    /// The ID the tag names, in ATT&CK's spelling (`T1085`).
    pub id: String,
    /// Its status in the loaded release.
    pub status: Status,
    /// The technique the tag names (`None` when unknown).
    pub technique: Option<TechniqueInfo>,
    /// For a revoked technique, its final replacement.
    pub replacement: Option<TechniqueInfo>,
}

impl ResolvedTechnique {
    /// The technique the rule effectively covers: the replacement of a revoked technique, the
    /// technique itself otherwise; `None` when unknown or revoked without replacement.
    pub fn effective(&self) -> Option<&TechniqueInfo> {
        match self.status {
            Status::Revoked => self.replacement.as_ref(),
            _ => self.technique.as_ref(),
        }
    }

    /// One line for text output: `T1085 Rundll32 — revoked, now T1218.011 System Binary Proxy
    /// Execution: Rundll32`.
    pub fn text(&self) -> String {
        let named = |info: &TechniqueInfo| format!("{} {}", info.id, info.full_name);
        let this = self
            .technique
            .as_ref()
            .map_or_else(|| self.id.clone(), named);
        match (self.status, &self.replacement) {
            (Status::Active, _) => this,
            (Status::Revoked, Some(replacement)) => {
                format!("{this} — revoked, now {}", named(replacement))
            }
            (Status::Revoked, None) => format!("{this} — revoked"),
            (Status::Deprecated, _) => format!("{this} — deprecated"),
            (Status::Unknown, _) => format!("{this} — unknown"),
        }
    }
}

/// A group, software, mitigation, data source or data component of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// What it is.
    pub kind: ObjectKind,
    /// `G0016`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its page on attack.mitre.org.
    pub url: String,
    /// Whether the catalog marks it deprecated.
    pub deprecated: bool,
}

impl ObjectInfo {
    fn of(view: ObjectView<'_>) -> Self {
        ObjectInfo {
            kind: view.kind,
            id: view.id.to_string(),
            name: view.name.to_string(),
            url: view.url(),
            deprecated: view.deprecated,
        }
    }
}

/// A group, software, mitigation, data source or data component tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedObject {
    /// The tag.
    pub tag: TagRef,
    /// What the tag names.
    pub kind: ObjectKind,
    /// The ID the tag names, in ATT&CK's spelling.
    pub id: String,
    /// Its status in the loaded release.
    pub status: Status,
    /// The object (`None` when unknown).
    pub object: Option<ObjectInfo>,
    /// For a revoked object, its final replacement.
    pub replacement: Option<ObjectInfo>,
}

/// A tag that is not resolved against ATT&CK.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OtherTag {
    /// The tag.
    pub tag: TagRef,
    /// Its namespace.
    pub namespace: TagNamespace,
    /// The namespace as written (lower case; empty when none).
    pub prefix: String,
    /// The text after the namespace.
    pub value: String,
}

/// A revoked, deprecated or unknown ATT&CK tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagProblem {
    /// Index of the tag in the rule's `tags` list.
    pub index: usize,
    /// `revoked-attack-tag`, `deprecated-attack-tag` or `unknown-attack-tag`.
    pub code: Code,
    /// What is wrong, naming the replacement when there is one.
    pub message: String,
}

impl TagProblem {
    /// The problem placed at its tag in YAML document `document`.
    pub fn to_problem(&self, document: usize) -> Problem {
        Problem::at(
            self.code,
            &NodePath::root(document).key("tags").index(self.index),
            self.message.clone(),
        )
    }
}

/// Everything a rule's tags say, resolved against one catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResolvedTags {
    /// Tactics: the tagged ones in tag order, or (when the rule tags no tactic) the ones its
    /// techniques imply, in matrix order.
    pub tactics: Vec<ResolvedTactic>,
    /// Technique tags, in tag order, one per distinct ID.
    pub techniques: Vec<ResolvedTechnique>,
    /// Group tags.
    pub groups: Vec<ResolvedObject>,
    /// Software tags.
    pub software: Vec<ResolvedObject>,
    /// Mitigation tags.
    pub mitigations: Vec<ResolvedObject>,
    /// Data source tags.
    pub data_sources: Vec<ResolvedObject>,
    /// Data component tags.
    pub data_components: Vec<ResolvedObject>,
    /// Tags of other namespaces, and `attack.*` tags of no known form.
    pub other: Vec<OtherTag>,
    /// Revoked, deprecated and unknown ATT&CK tags, in tag order.
    pub problems: Vec<TagProblem>,
}

impl ResolvedTags {
    /// The techniques the rule covers (see [`ResolvedTechnique::effective`]), without repeats.
    pub fn covered_techniques(&self) -> Vec<&TechniqueInfo> {
        let mut out: Vec<&TechniqueInfo> = Vec::new();
        for technique in self
            .techniques
            .iter()
            .filter_map(ResolvedTechnique::effective)
        {
            if !out.iter().any(|t| t.id == technique.id) {
                out.push(technique);
            }
        }
        out
    }

    /// The group, software, mitigation, data source and data component tags, in that order.
    pub fn objects(&self) -> impl Iterator<Item = &ResolvedObject> {
        self.groups
            .iter()
            .chain(&self.software)
            .chain(&self.mitigations)
            .chain(&self.data_sources)
            .chain(&self.data_components)
    }
}

/// Resolves a rule's tags (as written in its `tags` list) against `catalog`.
pub fn resolve_tags(catalog: &Catalog, tags: &[String]) -> ResolvedTags {
    let mut resolver = Resolver {
        catalog,
        out: ResolvedTags::default(),
    };
    for (index, text) in tags.iter().enumerate() {
        let tag = TagRef {
            index,
            text: text.clone(),
        };
        match parse_tag(text) {
            TagTarget::TacticName(name) => resolver.tactic_by_name(tag, &name),
            TagTarget::TacticId(id) => resolver.tactic_by_id(tag, &id),
            TagTarget::Object(ObjectKind::Technique, id) => resolver.technique(tag, id),
            TagTarget::Object(kind, id) => resolver.object(tag, kind, id),
            TagTarget::UnrecognizedAttack(value) => {
                resolver.problem(
                    &tag,
                    Code::UnknownAttackTag,
                    "is not a tag of ATT&CK's forms (tactic name, tNNNN, taNNNN, gNNNN, sNNNN, mNNNN, dsNNNN, dcNNNN)"
                        .to_string(),
                );
                resolver.out.other.push(OtherTag {
                    tag,
                    namespace: TagNamespace::Attack,
                    prefix: "attack".to_string(),
                    value,
                });
            }
            TagTarget::Other {
                namespace,
                prefix,
                value,
            } => resolver.out.other.push(OtherTag {
                tag,
                namespace,
                prefix,
                value,
            }),
        }
    }
    if resolver.out.tactics.is_empty() {
        resolver.imply_tactics();
    }
    resolver.out
}

/// The diagnostics of the ATT&CK tags of every document of `file`, each at its tag's line.
pub fn rule_file_diagnostics(catalog: &Catalog, file: &RuleFile) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for document in &file.documents {
        let resolved = resolve_tags(catalog, &document.kind.meta().tags);
        for problem in &resolved.problems {
            let path = NodePath::root(document.index)
                .key("tags")
                .index(problem.index);
            let position = file.position_of(&path);
            diagnostics.push(Diagnostic {
                file: file.path.clone(),
                line: position.line,
                column: position.column,
                severity: problem.code.default_severity(),
                code: problem.code,
                message: problem.message.clone(),
            });
        }
    }
    diagnostics
}

struct Resolver<'c> {
    catalog: &'c Catalog,
    out: ResolvedTags,
}

impl Resolver<'_> {
    fn release(&self) -> String {
        format!("ATT&CK v{}", self.catalog.version())
    }

    fn problem(&mut self, tag: &TagRef, code: Code, message: String) {
        self.out.problems.push(TagProblem {
            index: tag.index,
            code,
            message: format!("`{}` {message}", tag.text.trim()),
        });
    }

    fn tactic_by_name(&mut self, tag: TagRef, shortname: &str) {
        if let Some(tactic) = self.catalog.tactic_by_shortname(shortname) {
            return self.add_tactic(tag, tactic, None);
        }
        let former = FORMER_TACTICS
            .iter()
            .find(|f| f.shortname == shortname)
            .and_then(|f| Some((f, self.catalog.tactic(f.id)?)));
        match former {
            Some((former, tactic)) => {
                let former_name = (former.name != tactic.name).then_some(former.name);
                self.add_tactic(tag, tactic, former_name);
            }
            None => {
                let message = format!("names no tactic of {}", self.release());
                self.problem(&tag, Code::UnknownAttackTag, message);
                self.out.other.push(OtherTag {
                    tag,
                    namespace: TagNamespace::Attack,
                    prefix: "attack".to_string(),
                    value: shortname.to_string(),
                });
            }
        }
    }

    fn tactic_by_id(&mut self, tag: TagRef, id: &str) {
        match self.catalog.tactic(id) {
            Some(tactic) => self.add_tactic(tag, tactic, None),
            None => {
                let message = format!("names no tactic of {}", self.release());
                self.problem(&tag, Code::UnknownAttackTag, message);
                self.out.other.push(OtherTag {
                    tag,
                    namespace: TagNamespace::Attack,
                    prefix: "attack".to_string(),
                    value: id.to_ascii_lowercase(),
                });
            }
        }
    }

    fn add_tactic(&mut self, tag: TagRef, tactic: &Tactic, former_name: Option<&str>) {
        let entry = match self.out.tactics.iter().position(|t| t.id == tactic.id) {
            Some(i) => &mut self.out.tactics[i],
            None => {
                self.out.tactics.push(tactic_entry(tactic, false));
                let last = self.out.tactics.len() - 1;
                &mut self.out.tactics[last]
            }
        };
        entry.tags.push(tag);
        if let (None, Some(former)) = (&entry.former_name, former_name) {
            entry.former_name = Some(former.to_string());
            entry.display_name = format!("{} (formerly {former})", entry.name);
        }
    }

    fn technique(&mut self, tag: TagRef, id: String) {
        let catalog = self.catalog;
        let resolved = match catalog.technique(&id) {
            None => {
                let message = self.unknown_technique_message(&id);
                self.problem(&tag, Code::UnknownAttackTag, message);
                ResolvedTechnique {
                    tag,
                    id,
                    status: Status::Unknown,
                    technique: None,
                    replacement: None,
                }
            }
            Some(technique) => {
                let info = technique_info(catalog, technique);
                let replacement = technique
                    .replaced_by
                    .as_deref()
                    .filter(|_| technique.revoked)
                    .and_then(|r| catalog.technique(r))
                    .map(|r| technique_info(catalog, r));
                let status = status_of(technique.revoked, technique.deprecated);
                match status {
                    Status::Revoked => {
                        let message = format!(
                            "names technique {} {}, revoked in {}; {}",
                            info.id,
                            info.full_name,
                            self.release(),
                            replacement_advice(
                                replacement
                                    .as_ref()
                                    .map(|r| (&r.id, &r.full_name, r.deprecated)),
                                technique.replaced_by.as_deref()
                            )
                        );
                        self.problem(&tag, Code::RevokedAttackTag, message);
                    }
                    Status::Deprecated => {
                        let message = format!(
                            "names technique {} {}, deprecated in {} (withdrawn with no replacement)",
                            info.id,
                            info.full_name,
                            self.release()
                        );
                        self.problem(&tag, Code::DeprecatedAttackTag, message);
                    }
                    Status::Active | Status::Unknown => {}
                }
                ResolvedTechnique {
                    tag,
                    id,
                    status,
                    technique: Some(info),
                    replacement,
                }
            }
        };
        if !self.out.techniques.iter().any(|t| t.id == resolved.id) {
            self.out.techniques.push(resolved);
        }
    }

    fn unknown_technique_message(&self, id: &str) -> String {
        let well_formed = id.strip_prefix('T').is_some_and(|digits| {
            let (main, sub) = digits.split_once('.').unwrap_or((digits, "000"));
            main.len() == 4
                && sub.len() == 3
                && main.chars().chain(sub.chars()).all(|c| c.is_ascii_digit())
        });
        if !well_formed {
            return format!(
                "is not a technique ID of ATT&CK's form (T1059 or T1059.001); {} has no technique {id}",
                self.release()
            );
        }
        let parent = id
            .split_once('.')
            .and_then(|(parent, _)| self.catalog.technique(parent));
        match parent {
            None => format!("names no technique of {}", self.release()),
            Some(parent) if parent.revoked => {
                let replacement = parent
                    .replaced_by
                    .as_deref()
                    .and_then(|r| self.catalog.technique(r));
                let now = match replacement {
                    Some(r) => format!(", now {} {}", r.id, self.catalog.technique_full_name(r)),
                    None => String::new(),
                };
                format!(
                    "names no technique of {}; its parent {} {} is revoked{now}",
                    self.release(),
                    parent.id,
                    parent.name
                )
            }
            Some(parent) => format!(
                "names no technique of {}: {} {} has no sub-technique {id}",
                self.release(),
                parent.id,
                parent.name
            ),
        }
    }

    fn object(&mut self, tag: TagRef, kind: ObjectKind, id: String) {
        let catalog = self.catalog;
        let resolved = match catalog.object(kind, &id) {
            None => {
                let message = format!("names no {} of {}", kind.label(), self.release());
                self.problem(&tag, Code::UnknownAttackTag, message);
                ResolvedObject {
                    tag,
                    kind,
                    id,
                    status: Status::Unknown,
                    object: None,
                    replacement: None,
                }
            }
            Some(view) => {
                let replacement = view
                    .replaced_by
                    .filter(|_| view.revoked)
                    .and_then(|r| catalog.object(kind, r))
                    .map(ObjectInfo::of);
                let status = status_of(view.revoked, view.deprecated);
                match status {
                    Status::Revoked => {
                        let message = format!(
                            "names {} {} {}, revoked in {}; {}",
                            kind.label(),
                            view.id,
                            view.name,
                            self.release(),
                            replacement_advice(
                                replacement.as_ref().map(|r| (&r.id, &r.name, r.deprecated)),
                                view.replaced_by
                            )
                        );
                        self.problem(&tag, Code::RevokedAttackTag, message);
                    }
                    Status::Deprecated => {
                        let message = format!(
                            "names {} {} {}, deprecated in {} (withdrawn with no replacement)",
                            kind.label(),
                            view.id,
                            view.name,
                            self.release()
                        );
                        self.problem(&tag, Code::DeprecatedAttackTag, message);
                    }
                    Status::Active | Status::Unknown => {}
                }
                ResolvedObject {
                    tag,
                    kind,
                    id,
                    status,
                    object: Some(ObjectInfo::of(view)),
                    replacement,
                }
            }
        };
        let list = match kind {
            ObjectKind::Group => &mut self.out.groups,
            ObjectKind::Software => &mut self.out.software,
            ObjectKind::Mitigation => &mut self.out.mitigations,
            ObjectKind::DataSource => &mut self.out.data_sources,
            ObjectKind::DataComponent => &mut self.out.data_components,
            // Tactic and technique tags have their own resolution and never come here.
            ObjectKind::Tactic | ObjectKind::Technique => return,
        };
        if !list.iter().any(|o| o.id == resolved.id) {
            list.push(resolved);
        }
    }

    /// The rule names techniques but no tactic: their tactics are implied.
    fn imply_tactics(&mut self) {
        let catalog = self.catalog;
        let mut implied: Vec<ResolvedTactic> = Vec::new();
        for technique in self.out.covered_techniques() {
            for tactic_id in &technique.tactics {
                let Some(tactic) = catalog.tactic(tactic_id) else {
                    continue;
                };
                let entry = match implied.iter().position(|t| t.id == tactic.id) {
                    Some(i) => &mut implied[i],
                    None => {
                        implied.push(tactic_entry(tactic, true));
                        let last = implied.len() - 1;
                        &mut implied[last]
                    }
                };
                if !entry.implied_by.contains(&technique.id) {
                    entry.implied_by.push(technique.id.clone());
                }
            }
        }
        implied.sort_by_key(|t| catalog.tactic_position(&t.id));
        self.out.tactics = implied;
    }
}

fn status_of(revoked: bool, deprecated: bool) -> Status {
    if revoked {
        Status::Revoked
    } else if deprecated {
        Status::Deprecated
    } else {
        Status::Active
    }
}

/// What to use instead of a revoked object: `replaced by T1218.011 System Binary Proxy
/// Execution: Rundll32 (tag `attack.t1218.011`)`.
fn replacement_advice(
    replacement: Option<(&String, &String, bool)>,
    replaced_by: Option<&str>,
) -> String {
    match (replacement, replaced_by) {
        (Some((id, name, deprecated)), _) => {
            let caveat = if deprecated {
                ", itself deprecated"
            } else {
                ""
            };
            format!(
                "replaced by {id} {name}{caveat} (tag `attack.{}`)",
                id.to_ascii_lowercase()
            )
        }
        (None, Some(id)) => format!("replaced by {id}, which this catalog does not hold"),
        (None, None) => "no replacement is given".to_string(),
    }
}

fn tactic_entry(tactic: &Tactic, implied: bool) -> ResolvedTactic {
    ResolvedTactic {
        id: tactic.id.clone(),
        name: tactic.name.clone(),
        shortname: tactic.shortname.clone(),
        former_name: None,
        display_name: tactic.name.clone(),
        url: ObjectKind::Tactic.url(&tactic.id),
        implied,
        tags: Vec::new(),
        implied_by: Vec::new(),
    }
}

fn technique_info(catalog: &Catalog, technique: &Technique) -> TechniqueInfo {
    let parent = technique
        .parent
        .as_deref()
        .and_then(|p| catalog.technique(p));
    TechniqueInfo {
        id: technique.id.clone(),
        name: technique.name.clone(),
        parent_id: technique.parent.clone(),
        parent_name: parent.map(|p| p.name.clone()),
        full_name: catalog.technique_full_name(technique),
        url: ObjectKind::Technique.url(&technique.id),
        tactics: catalog
            .technique_tactics(technique)
            .into_iter()
            .map(|t| t.id.clone())
            .collect(),
        deprecated: technique.deprecated,
    }
}
