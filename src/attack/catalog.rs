//! The ATT&CK catalog: a [`Dataset`] with indexes for lookups by object type and ID, the
//! dataset embedded in the binary, loading of a user-supplied bundle or dataset, links to
//! attack.mitre.org, and the matrix (tactics × techniques) for the coverage page.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use serde::Serialize;

use super::dataset::{Dataset, Entry, Software, Tactic, Technique, compare_ids};
use super::error::AttackError;
use super::input::{DataKind, parse_dataset, probe, read_data};
use super::stix::{ImportOptions, import_bundle};

/// The dataset compiled into the binary: ATT&CK Enterprise as imported by
/// `sigwiki attack import` from MITRE's STIX data (see `data/attack.SOURCE.md`).
pub const EMBEDDED_DATASET: &str = include_str!("../../data/attack.json");

/// How the embedded dataset is named in messages.
const EMBEDDED_NAME: &str = "<embedded data/attack.json>";

/// The kinds of ATT&CK objects the catalog holds. IDs are unique only within a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObjectKind {
    /// `TA0005`.
    Tactic,
    /// `T1218`, `T1218.011`.
    Technique,
    /// `G0016`.
    Group,
    /// `S0002`.
    Software,
    /// `M1042`.
    Mitigation,
    /// `DS0009`.
    DataSource,
    /// `DC0032`.
    DataComponent,
}

impl ObjectKind {
    /// The kind in words, for messages: `technique`, `data source`, …
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Tactic => "tactic",
            ObjectKind::Technique => "technique",
            ObjectKind::Group => "group",
            ObjectKind::Software => "software",
            ObjectKind::Mitigation => "mitigation",
            ObjectKind::DataSource => "data source",
            ObjectKind::DataComponent => "data component",
        }
    }

    /// The object's page on attack.mitre.org: `https://attack.mitre.org/techniques/T1218/011/`.
    pub fn url(self, id: &str) -> String {
        let section = match self {
            ObjectKind::Tactic => "tactics",
            ObjectKind::Technique => "techniques",
            ObjectKind::Group => "groups",
            ObjectKind::Software => "software",
            ObjectKind::Mitigation => "mitigations",
            ObjectKind::DataSource => "datasources",
            ObjectKind::DataComponent => "datacomponents",
        };
        format!(
            "https://attack.mitre.org/{section}/{}/",
            id.replace('.', "/")
        )
    }
}

/// A uniform view of one catalog object (any kind but tactics, which are never revoked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectView<'a> {
    /// The kind.
    pub kind: ObjectKind,
    /// The ATT&CK ID.
    pub id: &'a str,
    /// The name (a sub-technique's own name, without its parent's).
    pub name: &'a str,
    /// Replaced by another object.
    pub revoked: bool,
    /// The final replacement of a revoked object.
    pub replaced_by: Option<&'a str>,
    /// Withdrawn without a replacement.
    pub deprecated: bool,
}

impl<'a> ObjectView<'a> {
    fn of_entry(kind: ObjectKind, entry: &'a Entry) -> Self {
        ObjectView {
            kind,
            id: &entry.id,
            name: &entry.name,
            revoked: entry.revoked,
            replaced_by: entry.replaced_by.as_deref(),
            deprecated: entry.deprecated,
        }
    }

    fn of_software(software: &'a Software) -> Self {
        ObjectView {
            kind: ObjectKind::Software,
            id: &software.id,
            name: &software.name,
            revoked: software.revoked,
            replaced_by: software.replaced_by.as_deref(),
            deprecated: software.deprecated,
        }
    }

    fn of_technique(technique: &'a Technique) -> Self {
        ObjectView {
            kind: ObjectKind::Technique,
            id: &technique.id,
            name: &technique.name,
            revoked: technique.revoked,
            replaced_by: technique.replaced_by.as_deref(),
            deprecated: technique.deprecated,
        }
    }

    /// The object's page on attack.mitre.org.
    pub fn url(&self) -> String {
        self.kind.url(self.id)
    }
}

/// One column of the matrix: a tactic and its active techniques.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixColumn<'a> {
    /// The tactic.
    pub tactic: &'a Tactic,
    /// Its techniques, by name (as on attack.mitre.org), each with its sub-techniques.
    pub techniques: Vec<MatrixCell<'a>>,
}

/// A technique in a matrix column with the sub-techniques that share the column's tactic.
#[derive(Debug, Clone, Serialize)]
pub struct MatrixCell<'a> {
    /// The technique.
    pub technique: &'a Technique,
    /// Its active sub-techniques of this tactic, by ID.
    pub subtechniques: Vec<&'a Technique>,
}

/// ATT&CK data indexed for lookups. Cheap to share: build it once (see [`Catalog::embedded`])
/// and pass references.
#[derive(Debug, Clone)]
pub struct Catalog {
    data: Dataset,
    tactic_by_id: HashMap<String, usize>,
    tactic_by_shortname: HashMap<String, usize>,
    technique_by_id: HashMap<String, usize>,
    subtechniques: HashMap<String, Vec<usize>>,
    group_by_id: HashMap<String, usize>,
    software_by_id: HashMap<String, usize>,
    mitigation_by_id: HashMap<String, usize>,
    data_source_by_id: HashMap<String, usize>,
    data_component_by_id: HashMap<String, usize>,
}

fn index<T>(
    items: &[T],
    key: impl Fn(&T) -> &str,
    what: &str,
    path: &Path,
) -> Result<HashMap<String, usize>, AttackError> {
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if map.insert(key(item).to_string(), i).is_some() {
            return Err(AttackError::Invalid {
                path: path.to_path_buf(),
                message: format!("{what} {} occurs twice", key(item)),
            });
        }
    }
    Ok(map)
}

impl Catalog {
    /// The catalog of the dataset embedded in the binary, parsed on first use.
    pub fn embedded() -> &'static Catalog {
        static EMBEDDED: OnceLock<Catalog> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            // The embedded dataset is a build input, not user input: a test parses it, so a
            // failure here is a broken build, not a runtime condition.
            Catalog::from_json(EMBEDDED_DATASET.as_bytes(), Path::new(EMBEDDED_NAME))
                .expect("the embedded ATT&CK dataset is valid")
        })
    }

    /// Loads a STIX bundle or a compact dataset, plain or gzip-compressed. A bundle's ATT&CK
    /// release comes from its collection object or its file name (see [`super::stix`]).
    pub fn load(path: &Path) -> Result<Catalog, AttackError> {
        let json = read_data(path)?;
        let dataset = match probe(&json, path)? {
            DataKind::Bundle => import_bundle(&json, path, &ImportOptions::default())?,
            DataKind::Dataset => parse_dataset(&json, path)?,
        };
        Catalog::from_dataset(dataset, path)
    }

    /// Parses a compact dataset held in memory; `path` names it in errors.
    pub fn from_json(json: &[u8], path: &Path) -> Result<Catalog, AttackError> {
        Catalog::from_dataset(parse_dataset(json, path)?, path)
    }

    /// Indexes a dataset. Fails when an ID occurs twice within one kind; `path` names the
    /// dataset's origin in that error.
    pub fn from_dataset(data: Dataset, path: &Path) -> Result<Catalog, AttackError> {
        let tactic_by_id = index(&data.tactics, |t| &t.id, "tactic", path)?;
        let tactic_by_shortname = index(&data.tactics, |t| &t.shortname, "tactic", path)?;
        let technique_by_id = index(&data.techniques, |t| &t.id, "technique", path)?;
        let group_by_id = index(&data.groups, |e| &e.id, "group", path)?;
        let software_by_id = index(&data.software, |e| &e.id, "software", path)?;
        let mitigation_by_id = index(&data.mitigations, |e| &e.id, "mitigation", path)?;
        let data_source_by_id = index(&data.data_sources, |e| &e.id, "data source", path)?;
        let data_component_by_id = index(&data.data_components, |e| &e.id, "data component", path)?;
        let mut subtechniques: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, technique) in data.techniques.iter().enumerate() {
            if let Some(parent) = &technique.parent {
                subtechniques.entry(parent.clone()).or_default().push(i);
            }
        }
        for children in subtechniques.values_mut() {
            children.sort_by(|&a, &b| compare_ids(&data.techniques[a].id, &data.techniques[b].id));
        }
        Ok(Catalog {
            data,
            tactic_by_id,
            tactic_by_shortname,
            technique_by_id,
            subtechniques,
            group_by_id,
            software_by_id,
            mitigation_by_id,
            data_source_by_id,
            data_component_by_id,
        })
    }

    /// The underlying dataset.
    pub fn dataset(&self) -> &Dataset {
        &self.data
    }

    /// The ATT&CK release, like `19.1`.
    pub fn version(&self) -> &str {
        &self.data.version
    }

    /// The ATT&CK domain, like `enterprise-attack`.
    pub fn domain(&self) -> &str {
        &self.data.domain
    }

    /// MITRE's copyright designation, to be shown wherever ATT&CK data is reproduced.
    pub fn attribution(&self) -> &str {
        &self.data.attribution
    }

    /// The tactics, in matrix order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.data.tactics
    }

    /// The tactic with ID `id` (`TA0005`).
    pub fn tactic(&self, id: &str) -> Option<&Tactic> {
        self.tactic_by_id
            .get(id)
            .and_then(|&i| self.data.tactics.get(i))
    }

    /// The tactic whose shortname is `shortname` (`stealth`).
    pub fn tactic_by_shortname(&self, shortname: &str) -> Option<&Tactic> {
        self.tactic_by_shortname
            .get(shortname)
            .and_then(|&i| self.data.tactics.get(i))
    }

    /// The position of a tactic in the matrix, for sorting.
    pub fn tactic_position(&self, id: &str) -> Option<usize> {
        self.tactic_by_id.get(id).copied()
    }

    /// Every technique and sub-technique, including revoked and deprecated ones, by ID.
    pub fn techniques(&self) -> &[Technique] {
        &self.data.techniques
    }

    /// The technique or sub-technique with ID `id` (`T1218.011`).
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.technique_by_id
            .get(id)
            .and_then(|&i| self.data.techniques.get(i))
    }

    /// The sub-techniques of technique `id` (including revoked and deprecated ones), by ID.
    pub fn subtechniques(&self, id: &str) -> impl Iterator<Item = &Technique> {
        self.subtechniques
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.data.techniques.get(i))
    }

    /// A technique's name as ATT&CK shows it: a sub-technique's is prefixed by its parent's
    /// (`System Binary Proxy Execution: Rundll32`).
    pub fn technique_full_name(&self, technique: &Technique) -> String {
        match technique.parent.as_deref().and_then(|p| self.technique(p)) {
            Some(parent) => format!("{}: {}", parent.name, technique.name),
            None => technique.name.clone(),
        }
    }

    /// A technique's tactics, in matrix order.
    pub fn technique_tactics(&self, technique: &Technique) -> Vec<&Tactic> {
        technique
            .tactics
            .iter()
            .filter_map(|shortname| self.tactic_by_shortname(shortname))
            .collect()
    }

    /// The groups.
    pub fn groups(&self) -> &[Entry] {
        &self.data.groups
    }

    /// The software.
    pub fn software(&self) -> &[Software] {
        &self.data.software
    }

    /// The mitigations (including the deprecated ones that reuse technique IDs).
    pub fn mitigations(&self) -> &[Entry] {
        &self.data.mitigations
    }

    /// The data sources.
    pub fn data_sources(&self) -> &[Entry] {
        &self.data.data_sources
    }

    /// The data components.
    pub fn data_components(&self) -> &[Entry] {
        &self.data.data_components
    }

    /// The object of kind `kind` with ID `id`. Tactics are never revoked and have their own
    /// lookups ([`Catalog::tactic`]); for them this returns `None`.
    pub fn object(&self, kind: ObjectKind, id: &str) -> Option<ObjectView<'_>> {
        fn lookup<'a, T>(map: &HashMap<String, usize>, list: &'a [T], id: &str) -> Option<&'a T> {
            map.get(id).and_then(|&i| list.get(i))
        }
        let entry = |map, list| lookup(map, list, id).map(|e| ObjectView::of_entry(kind, e));
        match kind {
            ObjectKind::Tactic => None,
            ObjectKind::Technique => self.technique(id).map(ObjectView::of_technique),
            ObjectKind::Software => {
                lookup(&self.software_by_id, &self.data.software, id).map(ObjectView::of_software)
            }
            ObjectKind::Group => entry(&self.group_by_id, &self.data.groups),
            ObjectKind::Mitigation => entry(&self.mitigation_by_id, &self.data.mitigations),
            ObjectKind::DataSource => entry(&self.data_source_by_id, &self.data.data_sources),
            ObjectKind::DataComponent => {
                entry(&self.data_component_by_id, &self.data.data_components)
            }
        }
    }

    /// The matrix: every tactic in order, each with its active (neither revoked nor
    /// deprecated) techniques sorted by name, each with its active sub-techniques of that
    /// tactic sorted by ID. A sub-technique whose tactic its parent lacks still appears, under
    /// its parent.
    pub fn matrix(&self) -> Vec<MatrixColumn<'_>> {
        self.tactics()
            .iter()
            .map(|tactic| MatrixColumn {
                tactic,
                techniques: self.matrix_cells(tactic),
            })
            .collect()
    }

    fn matrix_cells<'a>(&'a self, tactic: &Tactic) -> Vec<MatrixCell<'a>> {
        let active = |t: &&Technique| !t.revoked && !t.deprecated;
        let mut cells: Vec<MatrixCell<'a>> = Vec::new();
        let mut position: HashMap<&'a str, usize> = HashMap::new();
        let techniques = self
            .techniques()
            .iter()
            .filter(active)
            .filter(|t| t.tactics.contains(&tactic.shortname));
        for technique in techniques {
            let (parent, child) = match technique.parent.as_deref() {
                None => (technique, None),
                Some(parent_id) => match self.technique(parent_id).filter(active) {
                    Some(parent) => (parent, Some(technique)),
                    None => continue,
                },
            };
            let at = *position.entry(parent.id.as_str()).or_insert_with(|| {
                cells.push(MatrixCell {
                    technique: parent,
                    subtechniques: Vec::new(),
                });
                cells.len() - 1
            });
            if let (Some(cell), Some(child)) = (cells.get_mut(at), child) {
                cell.subtechniques.push(child);
            }
        }
        for cell in &mut cells {
            cell.subtechniques.sort_by(|a, b| compare_ids(&a.id, &b.id));
        }
        cells.sort_by(|a, b| {
            a.technique
                .name
                .to_lowercase()
                .cmp(&b.technique.name.to_lowercase())
                .then_with(|| compare_ids(&a.technique.id, &b.technique.id))
        });
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_attack_mitre_org() {
        assert_eq!(
            ObjectKind::Technique.url("T1218.011"),
            "https://attack.mitre.org/techniques/T1218/011/"
        );
        assert_eq!(
            ObjectKind::Tactic.url("TA0005"),
            "https://attack.mitre.org/tactics/TA0005/"
        );
        assert_eq!(
            ObjectKind::DataSource.url("DS0005"),
            "https://attack.mitre.org/datasources/DS0005/"
        );
    }

    #[test]
    fn embedded_dataset_parses() {
        let catalog = Catalog::embedded();
        assert!(!catalog.version().is_empty());
        assert!(catalog.attribution().contains("The MITRE Corporation"));
    }
}
