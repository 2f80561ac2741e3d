//! Resolution of a rule's tags against the ATT&CK catalog: `attack.*` tags become tactics,
//! techniques, groups, software, mitigations, data sources and data components (revoked IDs
//! followed to their replacement, deprecated and unknown ones flagged); tags of other
//! namespaces are kept as typed "other tags". Problems (revoked, deprecated, unknown) carry
//! the index of their tag so that `check` can print them at the tag's line.
//!
//! The tag syntax itself (which forms name what) is [`super::tag_syntax`].

use serde::Serialize;

use super::catalog::{Catalog, ObjectKind, ObjectView};
use super::dataset::{Tactic, Technique};
use super::tag_syntax::{TagNamespace, TagTarget, parse_tag};
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The dataset imported from the hand-written bundle `tests/fixtures/attack/mini-bundle.json`.
    fn mini() -> Catalog {
        Catalog::from_json(
            include_bytes!("../../tests/fixtures/attack/mini-dataset.json"),
            Path::new("mini-dataset.json"),
        )
        .expect("valid fixture")
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn unrecognised_attack_forms_are_reported() {
        for tag in [
            "attack.",
            "attack.a0001",
            "attack.c0001",
            "attack.t1059 .001",
            "attack.9",
        ] {
            assert!(
                matches!(parse_tag(tag), TagTarget::UnrecognizedAttack(_)),
                "{tag}: {:?}",
                parse_tag(tag)
            );
        }
        let resolved = resolve_tags(&mini(), &tags(&["attack.a0001"]));
        assert_eq!(resolved.problems.len(), 1);
        assert_eq!(resolved.problems[0].code, Code::UnknownAttackTag);
        assert_eq!(resolved.other[0].namespace, TagNamespace::Attack);
        assert_eq!(resolved.other[0].value, "a0001");
    }

    #[test]
    fn revoked_chain_resolves_to_the_final_replacement() {
        let resolved = resolve_tags(&mini(), &tags(&["attack.t1200"]));
        let technique = &resolved.techniques[0];
        assert_eq!(technique.id, "T1200");
        assert_eq!(technique.status, Status::Revoked);
        assert_eq!(
            technique.technique.as_ref().map(|t| t.name.as_str()),
            Some("Old")
        );
        let replacement = technique.replacement.as_ref().expect("a replacement");
        assert_eq!(replacement.id, "T1100.001");
        assert_eq!(replacement.full_name, "Parent: Child");
        assert_eq!(replacement.parent_name.as_deref(), Some("Parent"));
        assert_eq!(
            replacement.url,
            "https://attack.mitre.org/techniques/T1100/001/"
        );
        assert_eq!(
            technique.text(),
            "T1200 Old — revoked, now T1100.001 Parent: Child"
        );
        assert_eq!(
            resolved.problems,
            vec![TagProblem {
                index: 0,
                code: Code::RevokedAttackTag,
                message: "`attack.t1200` names technique T1200 Old, revoked in ATT&CK v99.2; replaced by T1100.001 Parent: Child (tag `attack.t1100.001`)".into()
            }]
        );
    }

    #[test]
    fn technique_ids_do_not_collide_with_old_mitigations() {
        let catalog = mini();
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1200", "attack.m1001"]));
        assert_eq!(
            resolved.techniques[0]
                .technique
                .as_ref()
                .map(|t| t.name.as_str()),
            Some("Old")
        );
        assert_eq!(
            resolved.mitigations[0]
                .object
                .as_ref()
                .map(|m| m.name.as_str()),
            Some("Mitigation")
        );
        assert_eq!(
            catalog
                .object(ObjectKind::Mitigation, "T1200")
                .map(|m| m.name),
            Some("Old Mitigation")
        );
    }

    #[test]
    fn subtechnique_of_a_revoked_parent() {
        let catalog = mini();
        // An active sub-technique under a revoked parent keeps the parent's name.
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1200.003"]));
        let technique = &resolved.techniques[0];
        assert_eq!(technique.status, Status::Active);
        let info = technique.technique.as_ref().expect("known");
        assert_eq!(info.full_name, "Old: Orphan");
        assert_eq!(info.parent_id.as_deref(), Some("T1200"));
        assert!(resolved.problems.is_empty());
        // An unknown sub-technique of a revoked parent points at the parent's replacement.
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1200.009"]));
        assert_eq!(resolved.techniques[0].status, Status::Unknown);
        assert_eq!(
            resolved.problems[0].message,
            "`attack.t1200.009` names no technique of ATT&CK v99.2; its parent T1200 Old is revoked, now T1100.001 Parent: Child"
        );
        // A revoked sub-technique resolves like any revoked technique.
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1100.002"]));
        assert_eq!(resolved.techniques[0].status, Status::Revoked);
        assert_eq!(
            resolved.techniques[0]
                .replacement
                .as_ref()
                .map(|r| r.id.as_str()),
            Some("T1100.001")
        );
    }

    #[test]
    fn unknown_and_deprecated_techniques_are_reported() {
        let resolved = resolve_tags(
            &mini(),
            &tags(&[
                "attack.t1300",
                "attack.t9999",
                "attack.t12345",
                "attack.t1100.999",
            ]),
        );
        let codes: Vec<(usize, Code)> = resolved
            .problems
            .iter()
            .map(|p| (p.index, p.code))
            .collect();
        assert_eq!(
            codes,
            vec![
                (0, Code::DeprecatedAttackTag),
                (1, Code::UnknownAttackTag),
                (2, Code::UnknownAttackTag),
                (3, Code::UnknownAttackTag)
            ]
        );
        assert!(
            resolved.problems[2]
                .message
                .contains("not a technique ID of ATT&CK's form")
        );
        assert!(
            resolved.problems[3]
                .message
                .ends_with("T1100 Parent has no sub-technique T1100.999")
        );
        assert_eq!(resolved.techniques[0].status, Status::Deprecated);
        assert!(resolved.techniques[0].effective().is_some());
        assert_eq!(resolved.techniques[1].status, Status::Unknown);
        assert!(resolved.techniques[1].effective().is_none());
        assert_eq!(resolved.techniques[1].text(), "T9999 — unknown");
    }

    #[test]
    fn tactics_are_implied_only_when_none_is_tagged() {
        let catalog = mini();
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1200", "attack.t1200.003"]));
        let implied: Vec<(&str, bool, Vec<String>)> = resolved
            .tactics
            .iter()
            .map(|t| (t.id.as_str(), t.implied, t.implied_by.clone()))
            .collect();
        // T1200 counts through its replacement T1100.001 (first-tactic), not its own tactic.
        assert_eq!(
            implied,
            vec![
                ("TA0001", true, vec!["T1100.001".to_string()]),
                ("TA0002", true, vec!["T1200.003".to_string()])
            ]
        );
        let resolved = resolve_tags(&catalog, &tags(&["attack.t1200", "attack.second_tactic"]));
        assert_eq!(resolved.tactics.len(), 1);
        assert_eq!(resolved.tactics[0].id, "TA0002");
        assert!(!resolved.tactics[0].implied);
        assert_eq!(resolved.tactics[0].tags[0].index, 1);
    }

    #[test]
    fn tactic_tags_merge_and_keep_their_order() {
        let resolved = resolve_tags(
            &mini(),
            &tags(&[
                "attack.second-tactic",
                "attack.ta0001",
                "attack.second_tactic",
                "attack.nope",
            ]),
        );
        let ids: Vec<&str> = resolved.tactics.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, vec!["TA0002", "TA0001"]);
        assert_eq!(resolved.tactics[0].tags.len(), 2);
        assert_eq!(resolved.tactics[0].display_name, "Second Tactic");
        assert_eq!(resolved.problems.len(), 1);
        assert_eq!(resolved.problems[0].index, 3);
        assert_eq!(
            resolved.problems[0].message,
            "`attack.nope` names no tactic of ATT&CK v99.2"
        );
    }

    #[test]
    fn other_objects_resolve_with_their_status() {
        let resolved = resolve_tags(
            &mini(),
            &tags(&[
                "attack.g0001",
                "attack.g0002",
                "attack.s0900",
                "attack.ds0001",
                "attack.dc0001",
                "tlp.clear",
            ]),
        );
        assert_eq!(resolved.groups[0].status, Status::Active);
        assert_eq!(resolved.groups[1].status, Status::Unknown);
        let software = &resolved.software[0];
        assert_eq!(software.status, Status::Revoked);
        assert_eq!(
            software.replacement.as_ref().map(|r| r.name.as_str()),
            Some("A Tool")
        );
        assert_eq!(resolved.data_sources[0].status, Status::Deprecated);
        assert_eq!(resolved.data_components[0].status, Status::Active);
        assert_eq!(resolved.other[0].tag.index, 5);
        let codes: Vec<Code> = resolved.problems.iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            vec![
                Code::UnknownAttackTag,
                Code::RevokedAttackTag,
                Code::DeprecatedAttackTag
            ]
        );
        assert!(resolved.problems[1].message.ends_with(
            "names software S0900 Old Malware, revoked in ATT&CK v99.2; replaced by S0001 A Tool (tag `attack.s0001`)"
        ));
    }

    #[test]
    fn problems_point_at_their_tag() {
        let problem = TagProblem {
            index: 2,
            code: Code::UnknownAttackTag,
            message: "m".into(),
        }
        .to_problem(1);
        assert_eq!(
            problem.at,
            crate::sigma::diagnostic::Where::Node(NodePath::root(1).key("tags").index(2))
        );
    }
}
