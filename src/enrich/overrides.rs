//! User additions to and overrides of the Data Needed catalog: a folder of YAML files
//! (`--data-needed DIR`, or `data-needed` in `sigwiki.toml`).
//!
//! # Format
//!
//! Every `*.yml` / `*.yaml` file under the folder (recursively, applied in path order) holds one
//! entry (a mapping) or a list of entries; a file may hold several YAML documents. An entry:
//!
//! ```yaml
//! - id: edr-process-start          # required: lower-case slug, also the page file name
//!   name: Process start            # required for a new entry
//!   title: EDR 1: Process start    # optional; defaults to the name
//!   event_id: 1                    # optional: the event ID, for one event of a log
//!   platform: windows              # optional: the Sigma product it runs on
//!   channels: [EDR/Operational]    # optional: log names; the first is the usual one
//!   provider: ExampleEDR           # optional
//!   logsources:                    # the log sources that need it when no EventID narrows
//!     - product: windows
//!       category: process_creation
//!   fields: [Image, CommandLine]   # optional: field names
//! - id: security-4688              # an existing id: the keys given replace the embedded ones
//!   logsources: []                 # e.g. stop matching process_creation rules to 4688
//! - id: sysmon-24
//!   remove: true                   # drop an embedded entry
//! ```
//!
//! Matching uses `logsources` (which log sources select the entry) and, for rules that test
//! `EventID`, `event_id` with `channels`: an event entry is chosen for such a rule when one of
//! its channels is a channel of the entries the rule's log source selects (for example the
//! `windows-sysmon` log entry for `service: sysmon`). Unknown keys, a missing `id` or `name`,
//! and a `remove` of an unknown id are errors that name the file, line and column.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use crate::sigma::Limits;
use crate::sigma::diagnostic::{NodePath, Position, Where};
use crate::sigma::yaml::{Locator, load_documents};

use super::data_needed::{CatalogData, DataNeededCatalog, Entry, LogSourceKey, Source};

/// `catalog` with the entries of the YAML files in `dir` added or overriding (see the module
/// documentation for the format). A function of this module rather than a method of
/// [`DataNeededCatalog`], so that the catalog knows nothing of its override format: this module
/// depends on the catalog, never the other way round.
pub fn with_overrides(
    catalog: &DataNeededCatalog,
    dir: &Path,
) -> Result<DataNeededCatalog, DataNeededError> {
    let mut data = catalog.data().clone();
    apply_dir(&mut data, dir)?;
    Ok(DataNeededCatalog::from_data(data))
}

/// A problem with a Data Needed override folder.
#[derive(Debug, thiserror::Error)]
pub enum DataNeededError {
    /// A file or folder cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The folder does not exist or is not a folder.
    #[error("{}: not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file's content is invalid.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// One entry of an override file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntrySpec {
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    event_id: Option<u32>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    provider: Option<String>,
    #[serde(default)]
    logsources: Option<Vec<LogSourceKey>>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    remove: bool,
}

/// Applies every YAML file under `dir` to `data`.
pub fn apply_dir(data: &mut CatalogData, dir: &Path) -> Result<(), DataNeededError> {
    if !dir.is_dir() {
        return Err(DataNeededError::NotAFolder {
            path: dir.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    for item in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let item = item.map_err(|e| DataNeededError::Io {
            path: e.path().unwrap_or(dir).to_path_buf(),
            source: e.into(),
        })?;
        let path = item.path();
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if item.file_type().is_file() && yaml {
            files.push(path.to_path_buf());
        }
    }
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|source| DataNeededError::Io {
            path: path.clone(),
            source,
        })?;
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        let source = Source {
            key: format!("file:{}", relative.display()),
            name: relative.display().to_string(),
            url: None,
            licence: None,
            attribution: None,
        };
        apply_text(data, &text, &path, &source)?;
    }
    Ok(())
}

/// Applies the entries of one YAML text (read from `path`, which errors name) to `data`,
/// citing `source` on every entry it adds or changes.
pub fn apply_text(
    data: &mut CatalogData,
    text: &str,
    path: &Path,
    source: &Source,
) -> Result<(), DataNeededError> {
    let documents = load_documents(text, &Limits::default()).map_err(|problem| {
        let position = match problem.at {
            Where::Position(p) => p,
            Where::Node(node) => Locator::new(text).locate(&node),
        };
        invalid(path, position, problem.message)
    })?;
    let mut locator: Option<Locator> = None;
    let mut fail = |node: &NodePath, message: String| {
        let locator = locator.get_or_insert_with(|| Locator::new(text));
        invalid(path, locator.locate(node), message)
    };
    let mut used_source = false;
    for (index, document) in documents.iter().enumerate() {
        let root = NodePath::root(index);
        let items: Vec<(NodePath, &Yaml)> = match document {
            Yaml::Null => continue,
            Yaml::Sequence(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| (root.index(i), item))
                .collect(),
            Yaml::Mapping(_) => vec![(root.clone(), document)],
            _ => {
                return Err(fail(
                    &root,
                    "expected an entry (a mapping) or a list of entries".to_string(),
                ));
            }
        };
        for (node, item) in items {
            let spec: EntrySpec = serde_yaml::from_value(item.clone())
                .map_err(|e| fail(&node, format!("invalid Data Needed entry: {e}")))?;
            apply_spec(data, spec, &source.key).map_err(|(key, message)| {
                let at = match key {
                    Some(key) => node.key(key),
                    None => node.clone(),
                };
                fail(&at, message)
            })?;
            used_source = true;
        }
    }
    if used_source && !data.sources.iter().any(|s| s.key == source.key) {
        data.sources.push(source.clone());
    }
    Ok(())
}

fn invalid(path: &Path, position: Position, message: String) -> DataNeededError {
    DataNeededError::Invalid {
        path: path.to_path_buf(),
        line: position.line,
        column: position.column,
        message,
    }
}

/// Whether `id` is a slug safe as a file name: lower-case ASCII letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
        && !id.contains("..")
}

/// Applies one entry; on error returns the offending key (if any) and a message.
fn apply_spec(
    data: &mut CatalogData,
    spec: EntrySpec,
    source_key: &str,
) -> Result<(), (Option<&'static str>, String)> {
    if !is_valid_id(&spec.id) {
        return Err((
            Some("id"),
            format!(
                "invalid id `{}`: use lower-case letters, digits, `-`, `_` and `.`",
                spec.id
            ),
        ));
    }
    if let Some(keys) = &spec.logsources
        && keys.iter().any(LogSourceKey::is_empty)
    {
        return Err((
            Some("logsources"),
            "a log source needs a product, category or service".to_string(),
        ));
    }
    let position = data.entries.iter().position(|e| e.id == spec.id);
    if spec.remove {
        return match position {
            Some(i) => {
                data.entries.remove(i);
                Ok(())
            }
            None => Err((
                Some("id"),
                format!("cannot remove `{}`: no such entry", spec.id),
            )),
        };
    }
    let entry = match position {
        Some(i) => match data.entries.get_mut(i) {
            Some(entry) => entry,
            None => return Err((None, "internal: entry vanished".to_string())),
        },
        None => {
            let Some(name) = spec.name.clone() else {
                return Err((None, format!("new entry `{}` needs a `name`", spec.id)));
            };
            data.entries.push(Entry {
                id: spec.id.clone(),
                title: String::new(),
                name,
                event_id: None,
                platform: None,
                channels: Vec::new(),
                provider: None,
                logsources: Vec::new(),
                fields: Vec::new(),
                sources: Vec::new(),
            });
            match data.entries.last_mut() {
                Some(entry) => entry,
                None => return Err((None, "internal: entry vanished".to_string())),
            }
        }
    };
    if let Some(name) = spec.name {
        if spec.title.is_none() && !entry.title.is_empty() {
            entry.title = retitle(&entry.title, &entry.name, &name);
        }
        entry.name = name;
    }
    if let Some(title) = spec.title {
        entry.title = title;
    }
    if entry.title.is_empty() && position.is_none() {
        entry.title = entry.name.clone();
    }
    if spec.event_id.is_some() {
        entry.event_id = spec.event_id;
    }
    if spec.platform.is_some() {
        entry.platform = spec.platform;
    }
    if let Some(channels) = spec.channels {
        entry.channels = channels;
    }
    if spec.provider.is_some() {
        entry.provider = spec.provider;
    }
    if let Some(keys) = spec.logsources {
        entry.logsources = keys.iter().map(LogSourceKey::normalized).collect();
    }
    if let Some(fields) = spec.fields {
        entry.fields = fields;
    }
    if !entry.sources.iter().any(|s| s == source_key) {
        entry.sources.push(source_key.to_string());
    }
    Ok(())
}

/// The title after a rename: the old name at the end of the title is replaced
/// (`Sysmon 3: Network connection` → `Sysmon 3: <new>`), else the new name is appended.
fn retitle(title: &str, old_name: &str, new_name: &str) -> String {
    match title.strip_suffix(old_name) {
        Some(prefix) => format!("{prefix}{new_name}"),
        None => format!("{title}: {new_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> CatalogData {
        CatalogData {
            format: 1,
            sources: Vec::new(),
            entries: vec![Entry {
                id: "sysmon-3".into(),
                title: "Sysmon 3: Network connection".into(),
                name: "Network connection".into(),
                event_id: Some(3),
                platform: Some("windows".into()),
                channels: vec!["Microsoft-Windows-Sysmon/Operational".into()],
                provider: Some("Microsoft-Windows-Sysmon".into()),
                logsources: Vec::new(),
                fields: vec!["Image".into()],
                sources: vec!["ossem-dd".into()],
            }],
        }
    }

    fn source() -> Source {
        Source {
            key: "file:x.yml".into(),
            name: "x.yml".into(),
            url: None,
            licence: None,
            attribution: None,
        }
    }

    #[test]
    fn override_renames_and_keeps_title_prefix() {
        let mut d = data();
        apply_text(
            &mut d,
            "id: sysmon-3\nname: Net\n",
            Path::new("x.yml"),
            &source(),
        )
        .unwrap();
        assert_eq!(d.entries[0].title, "Sysmon 3: Net");
        assert_eq!(d.entries[0].sources, ["ossem-dd", "file:x.yml"]);
        assert_eq!(d.sources.len(), 1);
    }

    #[test]
    fn new_entry_needs_a_name_and_errors_name_the_line() {
        let mut d = data();
        let err = apply_text(
            &mut d,
            "- id: ok\n  name: Fine\n- id: other\n  fields: [a]\n",
            Path::new("x.yml"),
            &source(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "x.yml:3:3: new entry `other` needs a `name`"
        );
    }

    #[test]
    fn unknown_keys_and_bad_ids_are_errors() {
        let mut d = data();
        let err = apply_text(
            &mut d,
            "\n\nid: sysmon-3\nfeilds: [a]\n",
            Path::new("x.yml"),
            &source(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("x.yml:3:1: "), "{text}");
        assert!(text.contains("unknown field `feilds`"), "{text}");
        let err = apply_text(
            &mut d,
            "id: ../evil\nname: x\n",
            Path::new("x.yml"),
            &source(),
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("x.yml:1:5: invalid id"),
            "{err}"
        );
    }

    #[test]
    fn remove_drops_entries_and_syntax_errors_have_positions() {
        let mut d = data();
        apply_text(
            &mut d,
            "id: sysmon-3\nremove: true\n",
            Path::new("x.yml"),
            &source(),
        )
        .unwrap();
        assert!(d.entries.is_empty());
        let err =
            apply_text(&mut d, "id: a\n  name: [\n", Path::new("x.yml"), &source()).unwrap_err();
        assert!(
            matches!(err, DataNeededError::Invalid { line: 2, .. }),
            "{err}"
        );
    }
}
