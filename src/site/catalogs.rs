//! The [`Enricher`] over sigwiki's catalogs: ATT&CK tag resolution ([`crate::attack`]), the
//! Data Needed catalog and the Atomic Red Team triggers ([`crate::enrich`]), turned into the
//! plain values the pages show.

use std::sync::Arc;

use crate::attack::{self, Catalog, ObjectKind, TechniqueInfo};
use crate::enrich::{DataNeededCatalog, Triggers};
use crate::sigma::{Diagnostic, Document, RuleFile, SigmaKind};

use super::enrichment::{
    DataNeeded, Enricher, Enrichment, Matrix, MatrixTactic, MatrixTechnique, OtherTag, Tactic,
    Technique, TechniqueRef, Trigger,
};

/// The catalogs a build enriches rules with.
#[derive(Debug)]
pub struct Catalogs<'a> {
    attack: &'a Catalog,
    data_needed: &'a DataNeededCatalog,
    triggers: &'a Triggers,
    matrix: Matrix,
}

impl<'a> Catalogs<'a> {
    /// Wraps the catalogs, computing the matrix once.
    pub fn new(
        attack: &'a Catalog,
        data_needed: &'a DataNeededCatalog,
        triggers: &'a Triggers,
    ) -> Catalogs<'a> {
        let matrix = Matrix {
            version: attack.version().to_string(),
            tactics: attack
                .matrix()
                .into_iter()
                .map(|column| MatrixTactic {
                    id: column.tactic.id.clone(),
                    name: column.tactic.name.clone(),
                    shortname: column.tactic.shortname.clone(),
                    url: ObjectKind::Tactic.url(&column.tactic.id),
                    techniques: column
                        .techniques
                        .into_iter()
                        .map(|cell| MatrixTechnique {
                            technique: reference(&cell.technique.id, &cell.technique.name),
                            subtechniques: cell
                                .subtechniques
                                .into_iter()
                                .map(|s| reference(&s.id, &s.name))
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        };
        Catalogs {
            attack,
            data_needed,
            triggers,
            matrix,
        }
    }
}

fn reference(id: &str, name: &str) -> TechniqueRef {
    TechniqueRef {
        id: id.to_string(),
        name: name.to_string(),
        url: ObjectKind::Technique.url(id),
    }
}

fn info_ref(info: &TechniqueInfo) -> TechniqueRef {
    TechniqueRef {
        id: info.id.clone(),
        name: info.full_name.clone(),
        url: info.url.clone(),
    }
}

impl Enricher for Catalogs<'_> {
    fn enrich(&self, document: &Document) -> Enrichment {
        let meta = document.kind.meta();
        let resolved = attack::resolve_tags(self.attack, &meta.tags);
        let mut out = Enrichment::default();
        for t in &resolved.tactics {
            out.tactics.push(Arc::new(Tactic {
                id: t.id.clone(),
                name: t.name.clone(),
                url: t.url.clone(),
                shortname: t.shortname.clone(),
                tag: t.tags.first().map(|r| r.text.clone()).unwrap_or_default(),
                former_name: t.former_name.clone(),
                implied_by: t.implied_by.clone(),
            }));
        }
        for t in &resolved.techniques {
            let technique = match &t.technique {
                Some(info) => info_ref(info),
                None => TechniqueRef {
                    id: t.id.clone(),
                    name: format!("not in ATT&CK v{}", self.attack.version()),
                    url: ObjectKind::Technique.url(&t.id),
                },
            };
            out.techniques.push(Arc::new(Technique {
                technique,
                tag: t.tag.text.clone(),
                revoked_by: match t.status {
                    attack::Status::Revoked => t.replacement.as_ref().map(info_ref),
                    _ => None,
                },
                deprecated: t.status == attack::Status::Deprecated,
                tactics: t
                    .effective()
                    .map(|info| info.tactics.clone())
                    .unwrap_or_default(),
                unknown: t.status == attack::Status::Unknown,
            }));
        }
        for object in resolved.objects() {
            let info = object.object.as_ref();
            out.other_tags.push(OtherTag {
                tag: object.tag.text.clone(),
                namespace: "attack".to_string(),
                name: info.map(|o| format!("{} ({})", o.name, object.kind.label())),
                url: info.map(|o| o.url.clone()),
            });
        }
        for other in &resolved.other {
            out.other_tags.push(OtherTag::plain(&other.tag.text));
        }
        if let SigmaKind::Rule(rule) = &document.kind {
            for entry in self.data_needed.match_rule(rule) {
                out.data_needed.push(Arc::new(DataNeeded {
                    id: entry.id.clone(),
                    title: entry.title.clone(),
                    platform: entry.platform.clone(),
                    category: None,
                    event_id: entry.event_id.map(|id| id.to_string()),
                    channel: entry.channel().map(str::to_string),
                    provider: entry.provider.clone(),
                    fields: entry.fields.clone(),
                    description: None,
                }));
            }
            out.data_needed.sort_by(|a, b| a.id.cmp(&b.id));
        }
        for technique in resolved.covered_techniques() {
            if let Some(trigger) = self.triggers.for_technique(&technique.id) {
                out.triggers.push(Trigger {
                    technique: trigger.technique_id.clone(),
                    url: trigger.url.clone(),
                    test_count: trigger.test_count,
                    tests: trigger.tests.iter().map(|t| t.name.clone()).collect(),
                });
            }
        }
        out
    }

    fn diagnostics(&self, file: &RuleFile) -> Vec<Diagnostic> {
        attack::rule_file_diagnostics(self.attack, file)
    }

    fn matrix(&self) -> Option<&Matrix> {
        Some(&self.matrix)
    }
}
