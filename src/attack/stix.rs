//! The STIX importer: turns an ATT&CK STIX 2.0 or 2.1 bundle into a compact [`Dataset`].
//!
//! Only the fields the dataset keeps are deserialised; descriptions, citations and every other
//! field are skipped by serde without being allocated, which keeps a 36 MB bundle well under a
//! second in a release build.
//!
//! Facts the importer relies on (see `SOURCE.md` beside the committed dataset):
//! - an object's ATT&CK ID is the `external_id` of its `external_references` entry whose
//!   `source_name` is `mitre-attack` (the other entries are citations);
//! - IDs are unique only per object type (`T1085` is a technique *and* an old mitigation), so
//!   each type goes to its own table;
//! - a revoked object points to its replacement through a `revoked-by` relationship, and the
//!   replacement may itself be revoked (three chains in v19.1), so chains are followed to the
//!   end;
//! - a sub-technique's parent is the target of its `subtechnique-of` relationship; revoked
//!   sub-techniques lose that relationship, so the ID before the dot is the fallback;
//! - the tactic order is the matrix's `tactic_refs`.
//!
//! The ATT&CK release number is not in the objects of MITRE's STIX 2.0 data (the matrix's
//! `x_mitre_version` is the version of the matrix object, not of ATT&CK). It is taken, in this
//! order, from an explicit [`ImportOptions::version`], the `x_mitre_version` of the bundle's
//! `x-mitre-collection` object (present in the official STIX 2.1 bundles), or the file name
//! (`enterprise-attack-v19.1.json.gz`, `enterprise-attack-19.1.json`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

use super::dataset::{
    Dataset, Entry, FORMAT, Software, SoftwareKind, Tactic, Technique, compare_ids,
};
use super::error::AttackError;

/// How to import a bundle.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The ATT&CK release, overriding what the bundle and its file name say.
    pub version: Option<String>,
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    objects: Vec<StixObject>,
}

#[derive(Deserialize)]
struct StixObject {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    revoked: Option<bool>,
    #[serde(default)]
    x_mitre_deprecated: Option<bool>,
    #[serde(default)]
    external_references: Vec<ExternalReference>,
    #[serde(default)]
    kill_chain_phases: Vec<KillChainPhase>,
    #[serde(default)]
    x_mitre_platforms: Vec<String>,
    #[serde(default)]
    x_mitre_shortname: Option<String>,
    #[serde(default)]
    x_mitre_version: Option<String>,
    #[serde(default)]
    tactic_refs: Vec<String>,
    #[serde(default)]
    relationship_type: Option<String>,
    #[serde(default)]
    source_ref: Option<String>,
    #[serde(default)]
    target_ref: Option<String>,
    #[serde(default)]
    definition: Option<MarkingDefinition>,
}

#[derive(Deserialize)]
struct ExternalReference {
    #[serde(default)]
    source_name: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct KillChainPhase {
    #[serde(default)]
    phase_name: Option<String>,
}

#[derive(Deserialize)]
struct MarkingDefinition {
    #[serde(default)]
    statement: Option<String>,
}

impl StixObject {
    fn attack_id(&self) -> Option<&str> {
        self.external_references
            .iter()
            .find(|r| r.source_name.as_deref() == Some("mitre-attack"))
            .and_then(|r| r.external_id.as_deref())
    }

    fn is_revoked(&self) -> bool {
        self.revoked == Some(true)
    }

    fn is_deprecated(&self) -> bool {
        self.x_mitre_deprecated == Some(true)
    }
}

/// The tables of the dataset, which are also the namespaces ATT&CK IDs are unique in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Table {
    Tactics,
    Techniques,
    Groups,
    Software,
    Mitigations,
    DataSources,
    DataComponents,
}

fn table_of(stix_type: &str) -> Option<Table> {
    Some(match stix_type {
        "x-mitre-tactic" => Table::Tactics,
        "attack-pattern" => Table::Techniques,
        "intrusion-set" => Table::Groups,
        "malware" | "tool" => Table::Software,
        "course-of-action" => Table::Mitigations,
        "x-mitre-data-source" => Table::DataSources,
        "x-mitre-data-component" => Table::DataComponents,
        _ => return None,
    })
}

/// Imports a STIX bundle, already decompressed. `path` names the file in errors and is where
/// the release number may come from.
pub fn import_bundle(
    json: &[u8],
    path: &Path,
    options: &ImportOptions,
) -> Result<Dataset, AttackError> {
    let bundle: Bundle = serde_json::from_slice(json).map_err(|error| AttackError::Json {
        path: path.to_path_buf(),
        error,
    })?;
    if bundle.kind != "bundle" {
        return Err(AttackError::NotAttackData {
            path: path.to_path_buf(),
        });
    }
    Importer::new(&bundle.objects, path).run(options)
}

struct Importer<'a> {
    path: &'a Path,
    objects: &'a [StixObject],
    /// STIX id → the object (the newest version when an id occurs twice).
    by_stix_id: HashMap<&'a str, &'a StixObject>,
    /// Old object → its direct replacement.
    revoked_by: HashMap<&'a str, &'a str>,
    /// Sub-technique → parent technique.
    subtechnique_of: HashMap<&'a str, &'a str>,
}

impl<'a> Importer<'a> {
    fn new(objects: &'a [StixObject], path: &'a Path) -> Self {
        let mut by_stix_id: HashMap<&str, &StixObject> = HashMap::with_capacity(objects.len());
        for object in objects {
            by_stix_id
                .entry(object.id.as_str())
                .and_modify(|kept| {
                    if object.modified > kept.modified {
                        *kept = object;
                    }
                })
                .or_insert(object);
        }
        // Relationships are collected with their `modified` so that, should an object have
        // two, the newest wins, independently of the order of objects in the bundle.
        let mut revoked_by: HashMap<&str, (&str, &str)> = HashMap::new();
        let mut subtechnique_of: HashMap<&str, (&str, &str)> = HashMap::new();
        for object in by_stix_id.values() {
            if object.kind != "relationship" || object.is_revoked() || object.is_deprecated() {
                continue;
            }
            let (Some(source), Some(target)) = (&object.source_ref, &object.target_ref) else {
                continue;
            };
            let map = match object.relationship_type.as_deref() {
                Some("revoked-by") => &mut revoked_by,
                Some("subtechnique-of") => &mut subtechnique_of,
                _ => continue,
            };
            let candidate = (object.modified.as_deref().unwrap_or(""), target.as_str());
            map.entry(source.as_str())
                .and_modify(|kept| {
                    if candidate > *kept {
                        *kept = candidate;
                    }
                })
                .or_insert(candidate);
        }
        let strip = |map: HashMap<&'a str, (&'a str, &'a str)>| {
            map.into_iter()
                .map(|(source, (_, target))| (source, target))
                .collect()
        };
        Importer {
            path,
            objects,
            by_stix_id,
            revoked_by: strip(revoked_by),
            subtechnique_of: strip(subtechnique_of),
        }
    }

    fn invalid(&self, message: String) -> AttackError {
        AttackError::Invalid {
            path: self.path.to_path_buf(),
            message,
        }
    }

    fn run(&self, options: &ImportOptions) -> Result<Dataset, AttackError> {
        let version = self.version(options)?;
        let matrix = self.matrix()?;
        let domain = matrix
            .attack_id()
            .ok_or_else(|| self.invalid("the x-mitre-matrix object has no ATT&CK ID".into()))?
            .to_string();
        let tactics = self.tactics(matrix)?;
        let tactic_order: HashMap<String, usize> = tactics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.shortname.clone(), i))
            .collect();

        let mut dataset = Dataset {
            format: FORMAT.to_string(),
            domain,
            version,
            modified: self.newest_modified(),
            attribution: self.attribution(),
            tactics,
            techniques: Vec::new(),
            groups: Vec::new(),
            software: Vec::new(),
            mitigations: Vec::new(),
            data_sources: Vec::new(),
            data_components: Vec::new(),
        };
        let mut seen: HashMap<(Table, &str), &str> = HashMap::new();
        for object in self.current_objects() {
            let Some(table) = table_of(&object.kind) else {
                continue;
            };
            if table == Table::Tactics {
                continue;
            }
            let Some(id) = object.attack_id() else {
                continue;
            };
            if let Some(other) = seen.insert((table, id), &object.id) {
                return Err(self.invalid(format!(
                    "two objects have the ATT&CK ID {id}: {other} and {}",
                    object.id
                )));
            }
            let name = object
                .name
                .clone()
                .ok_or_else(|| self.invalid(format!("{} ({id}) has no name", object.id)))?;
            let revoked = object.is_revoked();
            let replaced_by = if revoked {
                self.final_replacement(object, table)
            } else {
                None
            };
            let deprecated = object.is_deprecated();
            let entry = || Entry {
                id: id.to_string(),
                name: name.clone(),
                revoked,
                replaced_by: replaced_by.clone(),
                deprecated,
            };
            match table {
                Table::Techniques => dataset.techniques.push(Technique {
                    id: id.to_string(),
                    name: name.clone(),
                    parent: self.parent(object, id),
                    tactics: phases(object, &tactic_order),
                    platforms: object.x_mitre_platforms.clone(),
                    revoked,
                    replaced_by: replaced_by.clone(),
                    deprecated,
                }),
                Table::Software => dataset.software.push(Software {
                    id: id.to_string(),
                    name: name.clone(),
                    kind: if object.kind == "tool" {
                        SoftwareKind::Tool
                    } else {
                        SoftwareKind::Malware
                    },
                    revoked,
                    replaced_by: replaced_by.clone(),
                    deprecated,
                }),
                Table::Groups => dataset.groups.push(entry()),
                Table::Mitigations => dataset.mitigations.push(entry()),
                Table::DataSources => dataset.data_sources.push(entry()),
                Table::DataComponents => dataset.data_components.push(entry()),
                Table::Tactics => {}
            }
        }
        dataset.techniques.sort_by(|a, b| compare_ids(&a.id, &b.id));
        dataset.software.sort_by(|a, b| compare_ids(&a.id, &b.id));
        for list in [
            &mut dataset.groups,
            &mut dataset.mitigations,
            &mut dataset.data_sources,
            &mut dataset.data_components,
        ] {
            list.sort_by(|a, b| compare_ids(&a.id, &b.id));
        }
        Ok(dataset)
    }

    /// The objects, one per STIX id, in bundle order.
    fn current_objects(&self) -> impl Iterator<Item = &'a StixObject> + '_ {
        self.objects.iter().filter(|object| {
            self.by_stix_id
                .get(object.id.as_str())
                .is_some_and(|kept| std::ptr::eq(*kept, *object))
        })
    }

    fn version(&self, options: &ImportOptions) -> Result<String, AttackError> {
        if let Some(version) = &options.version {
            return validate_version(version);
        }
        let collections: Vec<&str> = self
            .current_objects()
            .filter(|o| o.kind == "x-mitre-collection")
            .filter_map(|o| o.x_mitre_version.as_deref())
            .collect();
        if let [version] = collections.as_slice() {
            return validate_version(version);
        }
        version_from_file_name(self.path).ok_or_else(|| AttackError::UnknownVersion {
            path: self.path.to_path_buf(),
        })
    }

    fn matrix(&self) -> Result<&'a StixObject, AttackError> {
        let matrices: Vec<&StixObject> = self
            .current_objects()
            .filter(|o| o.kind == "x-mitre-matrix" && !o.is_revoked() && !o.is_deprecated())
            .collect();
        match matrices.as_slice() {
            [matrix] => Ok(matrix),
            [] => Err(self
                .invalid("no x-mitre-matrix object: cannot tell the tactics' order".to_string())),
            _ => Err(self.invalid(format!(
                "{} x-mitre-matrix objects; import one ATT&CK domain at a time",
                matrices.len()
            ))),
        }
    }

    fn tactics(&self, matrix: &StixObject) -> Result<Vec<Tactic>, AttackError> {
        let mut tactics = Vec::with_capacity(matrix.tactic_refs.len());
        for stix_id in &matrix.tactic_refs {
            let tactic = self
                .by_stix_id
                .get(stix_id.as_str())
                .filter(|o| o.kind == "x-mitre-tactic")
                .ok_or_else(|| {
                    self.invalid(format!(
                        "the matrix lists {stix_id}, which is not a tactic of the bundle"
                    ))
                })?;
            let missing = |what: &str| self.invalid(format!("tactic {stix_id} has no {what}"));
            tactics.push(Tactic {
                id: tactic
                    .attack_id()
                    .ok_or_else(|| missing("ATT&CK ID"))?
                    .to_string(),
                name: tactic.name.clone().ok_or_else(|| missing("name"))?,
                shortname: tactic
                    .x_mitre_shortname
                    .clone()
                    .ok_or_else(|| missing("x_mitre_shortname"))?,
            });
        }
        Ok(tactics)
    }

    /// Follows `revoked-by` from `object` while the target is itself revoked, and returns the
    /// ATT&CK ID of the end of the chain if it is in the same table (a revoked malware may be
    /// replaced by a tool: both are software).
    fn final_replacement(&self, object: &StixObject, table: Table) -> Option<String> {
        let mut visited: HashSet<&str> = HashSet::new();
        visited.insert(object.id.as_str());
        let mut current = *self.revoked_by.get(object.id.as_str())?;
        loop {
            let target = self.by_stix_id.get(current)?;
            if !visited.insert(current) {
                // A cycle: no object in it is a usable replacement.
                return None;
            }
            match self.revoked_by.get(current) {
                Some(next) if target.is_revoked() => current = next,
                _ => {
                    return (table_of(&target.kind) == Some(table))
                        .then(|| target.attack_id().map(str::to_string))
                        .flatten();
                }
            }
        }
    }

    fn parent(&self, object: &StixObject, id: &str) -> Option<String> {
        let from_relationship = self
            .subtechnique_of
            .get(object.id.as_str())
            .and_then(|parent| self.by_stix_id.get(parent))
            .and_then(|parent| parent.attack_id());
        match from_relationship {
            Some(parent) => Some(parent.to_string()),
            None => id.split_once('.').map(|(parent, _)| parent.to_string()),
        }
    }

    fn newest_modified(&self) -> String {
        self.objects
            .iter()
            .filter_map(|o| o.modified.as_deref())
            .max()
            .unwrap_or_default()
            .to_string()
    }

    /// MITRE's copyright designation with the year of this release: the last year of the
    /// copyright range in the bundle's marking definition ("Copyright 2015-2026, The MITRE
    /// Corporation…"), or else the year of the newest object.
    fn attribution(&self) -> String {
        static YEAR: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"\b(?:19|20)\d\d\b").expect("valid regex"));
        let from_marking = self
            .objects
            .iter()
            .filter(|o| o.kind == "marking-definition")
            .filter_map(|o| o.definition.as_ref()?.statement.as_deref())
            .filter(|statement| statement.contains("MITRE"))
            .flat_map(|statement| YEAR.find_iter(statement).map(|m| m.as_str().to_string()))
            .max();
        let newest = self.newest_modified();
        let year = from_marking.or_else(|| {
            newest
                .get(..4)
                .filter(|y| y.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string)
        });
        match year {
            Some(year) => format!(
                "© {year} The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation."
            ),
            None => "© The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.".to_string(),
        }
    }
}

/// The tactic shortnames of a technique, without repeats, in matrix order (names the matrix
/// does not know keep their bundle order, after the others).
fn phases(object: &StixObject, order: &HashMap<String, usize>) -> Vec<String> {
    let mut names: Vec<&str> = Vec::with_capacity(object.kill_chain_phases.len());
    for phase in &object.kill_chain_phases {
        match phase.phase_name.as_deref() {
            Some(name) if !names.contains(&name) => names.push(name),
            _ => {}
        }
    }
    names.sort_by_key(|name| order.get(*name).copied().unwrap_or(usize::MAX));
    names.into_iter().map(str::to_string).collect()
}

fn validate_version(version: &str) -> Result<String, AttackError> {
    let version = version.trim().trim_start_matches(['v', 'V']);
    let valid = !version.is_empty()
        && version.split('.').all(|part| {
            !part.is_empty() && part.len() <= 6 && part.chars().all(|c| c.is_ascii_digit())
        });
    if valid {
        Ok(version.to_string())
    } else {
        Err(AttackError::InvalidVersion {
            version: version.to_string(),
        })
    }
}

/// The release in a file name such as `enterprise-attack-v19.1.json.gz` or
/// `enterprise-attack-19.1.json`.
pub fn version_from_file_name(path: &Path) -> Option<String> {
    static VERSION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:^|[-_ ])v?(\d+(?:\.\d+){1,2})\.json(?:\.gz)?$").expect("valid regex")
    });
    let name = path.file_name()?.to_str()?;
    VERSION
        .captures(name)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_file_name() {
        let v = |name: &str| version_from_file_name(Path::new(name));
        assert_eq!(
            v("data/enterprise-attack-v19.1.json.gz").as_deref(),
            Some("19.1")
        );
        assert_eq!(v("enterprise-attack-18.1.json").as_deref(), Some("18.1"));
        assert_eq!(v("ics-attack-v17.0.1.JSON").as_deref(), Some("17.0.1"));
        assert_eq!(v("enterprise-attack.json"), None);
        assert_eq!(v("attack-v19.json"), None);
        assert_eq!(v("bundle19.1.json"), None);
    }

    #[test]
    fn explicit_versions_are_checked() {
        assert_eq!(validate_version(" v19.1 ").ok().as_deref(), Some("19.1"));
        assert!(validate_version("nineteen").is_err());
        assert!(validate_version("19..1").is_err());
        assert!(validate_version("").is_err());
    }
}

#[cfg(test)]
mod bundle_tests {
    use super::*;

    const MINI_BUNDLE: &str = include_str!("../../tests/fixtures/attack/mini-bundle.json");

    fn import(name: &str, version: Option<&str>) -> Result<Dataset, AttackError> {
        import_bundle(
            MINI_BUNDLE.as_bytes(),
            Path::new(name),
            &ImportOptions {
                version: version.map(str::to_string),
            },
        )
    }

    #[test]
    fn imports_the_hand_written_bundle() {
        let dataset = import("mini.json", None).expect("imports");
        assert_eq!(dataset.version, "99.2", "from the collection object");
        assert_eq!(dataset.domain, "test-attack");
        assert!(
            dataset
                .attribution
                .starts_with("© 2030 The MITRE Corporation.")
        );
        let tactics: Vec<&str> = dataset.tactics.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(tactics, vec!["TA0001", "TA0002"], "matrix order");
        let technique = |id: &str| dataset.techniques.iter().find(|t| t.id == id).expect(id);
        assert_eq!(
            technique("T1100").tactics,
            vec!["first-tactic", "second-tactic"]
        );
        assert_eq!(technique("T1200").replaced_by.as_deref(), Some("T1100.001"));
        assert_eq!(technique("T1100.002").parent.as_deref(), Some("T1100"));
        assert!(technique("T1300").deprecated);
        assert_eq!(dataset.mitigations.len(), 2);
        assert_eq!(dataset.software[1].replaced_by.as_deref(), Some("S0001"));
        assert_eq!(
            dataset.to_json(),
            include_str!("../../tests/fixtures/attack/mini-dataset.json")
        );
    }

    #[test]
    fn explicit_version_wins() {
        let dataset = import("mini.json", Some("v1.2")).expect("imports");
        assert_eq!(dataset.version, "1.2");
        assert!(matches!(
            import("mini.json", Some("one")),
            Err(AttackError::InvalidVersion { .. })
        ));
    }

    #[test]
    fn file_name_gives_the_version_without_a_collection() {
        let without_collection = MINI_BUNDLE.replace("\"x-mitre-collection\"", "\"x-other\"");
        let run = |name: &str| {
            import_bundle(
                without_collection.as_bytes(),
                Path::new(name),
                &ImportOptions::default(),
            )
        };
        assert_eq!(
            run("enterprise-attack-v3.4.json").expect("imports").version,
            "3.4"
        );
        let error = run("bundle.json").expect_err("no version");
        assert!(matches!(error, AttackError::UnknownVersion { .. }));
        assert!(error.to_string().contains("--attack-version"));
    }

    #[test]
    fn inconsistent_bundles_are_refused() {
        let two_ids =
            MINI_BUNDLE.replace("\"external_id\": \"T1300\"", "\"external_id\": \"T1100\"");
        let error = import_bundle(
            two_ids.as_bytes(),
            Path::new("x.json"),
            &ImportOptions::default(),
        )
        .expect_err("duplicate ID");
        assert!(
            error
                .to_string()
                .contains("two objects have the ATT&CK ID T1100"),
            "{error}"
        );
        let no_matrix = MINI_BUNDLE.replace("\"x-mitre-matrix\"", "\"x-other\"");
        let error = import_bundle(
            no_matrix.as_bytes(),
            Path::new("x.json"),
            &ImportOptions::default(),
        )
        .expect_err("no matrix");
        assert!(error.to_string().contains("no x-mitre-matrix"), "{error}");
        let error = import_bundle(
            b"{\"type\": \"bundle\", \"objects\": [1]}",
            Path::new("x.json"),
            &ImportOptions::default(),
        )
        .expect_err("not objects");
        assert!(
            error.to_string().starts_with("x.json: invalid type"),
            "{error}"
        );
        assert!(error.to_string().contains("line 1"), "{error}");
    }

    #[test]
    fn revoked_by_cycles_end_without_a_replacement() {
        let cyclic = MINI_BUNDLE.replace(
            "\"source_ref\": \"attack-pattern--00000000-0000-4000-8000-000000000102\", \"target_ref\": \"attack-pattern--00000000-0000-4000-8000-000000000101\"",
            "\"source_ref\": \"attack-pattern--00000000-0000-4000-8000-000000000102\", \"target_ref\": \"attack-pattern--00000000-0000-4000-8000-000000000200\"",
        );
        assert_ne!(cyclic, MINI_BUNDLE);
        let dataset = import_bundle(
            cyclic.as_bytes(),
            Path::new("x.json"),
            &ImportOptions::default(),
        )
        .expect("imports");
        let old = dataset
            .techniques
            .iter()
            .find(|t| t.id == "T1200")
            .expect("T1200");
        assert!(old.revoked);
        assert_eq!(old.replaced_by, None);
    }
}
