//! The log-source table: which Windows events a rule's `logsource` applies to.
//!
//! A generic `category` (`process_creation`) is one or more event IDs of a service's channel
//! (Sysmon event 1, or Security event 4688, where `Image` is called `NewProcessName`); a
//! `service` is its channels. The embedded table (`data/logsources.yml`) holds the facts of
//! SigmaHQ's regression-test table; a user's own table can replace it, written in the same format
//! or in the format of SigmaHQ's `thor.yml`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::EvalError;
use crate::sigma::LogSource;

const EMBEDDED: &str = include_str!("../../data/logsources.yml");

/// One way a log-source category is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryEntry {
    /// The product the entry is for (`windows`).
    #[serde(default)]
    pub product: Option<String>,
    /// The service whose channels record the events.
    #[serde(default)]
    pub service: Option<String>,
    /// The event IDs (any, when empty).
    #[serde(default)]
    pub event_ids: Vec<i64>,
    /// Other fields and the values one of which they must hold.
    #[serde(default, rename = "where")]
    pub conditions: BTreeMap<String, OneOrMany>,
    /// Rule field name → the name the events use.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// A value or a list of values in a table file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(Scalar),
    /// Several values.
    Many(Vec<Scalar>),
}

/// A scalar of a table file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// A number.
    Int(i64),
    /// Text.
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Text(t) => t.clone(),
        }
    }
}

impl OneOrMany {
    fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.text()],
            OneOrMany::Many(list) => list.iter().map(Scalar::text).collect(),
        }
    }
}

/// A log-source table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSourceTable {
    /// Category → the ways it is recorded.
    #[serde(default)]
    pub categories: BTreeMap<String, Vec<CategoryEntry>>,
    /// Service → its event-log channels.
    #[serde(default)]
    pub services: BTreeMap<String, Vec<String>>,
}

/// An entry of SigmaHQ's `thor.yml` format.
#[derive(Debug, Deserialize)]
struct ThorEntry {
    category: Option<String>,
    product: Option<String>,
    service: Option<String>,
    #[serde(default)]
    conditions: BTreeMap<String, OneOrMany>,
    #[serde(default)]
    rewrite: BTreeMap<String, String>,
    #[serde(default)]
    fieldmappings: BTreeMap<String, String>,
    #[serde(default)]
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ThorTable {
    logsources: BTreeMap<String, ThorEntry>,
}

/// The events one alternative of a rule's log source covers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceAlternative {
    /// Channels, lowercase (any, when empty).
    pub channels: Vec<String>,
    /// Event IDs (any, when empty).
    pub event_ids: Vec<i64>,
    /// Other field conditions: field and the values one of which it must hold.
    pub conditions: Vec<(String, Vec<String>)>,
    /// Rule field name → event field name.
    pub fields: Vec<(String, String)>,
}

/// What a rule's `logsource` covers among Windows events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceMatch {
    /// Every Windows event (`product: windows` alone, or no log source).
    Any,
    /// The events of any of these alternatives.
    Windows(Vec<SourceAlternative>),
    /// No Windows event: why.
    None(String),
}

impl LogSourceTable {
    /// The embedded table.
    pub fn embedded() -> LogSourceTable {
        Self::parse(EMBEDDED).unwrap_or_default()
    }

    /// Reads a table in sigwiki's format (`categories:`, `services:`) or in the format of
    /// SigmaHQ's `thor.yml` (`logsources:`).
    pub fn parse(text: &str) -> Result<LogSourceTable, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        if yaml.get("logsources").is_some() {
            let thor: ThorTable = serde_yaml::from_value(yaml).map_err(|e| e.to_string())?;
            return Ok(Self::from_thor(thor));
        }
        serde_yaml::from_value(yaml).map_err(|e| e.to_string())
    }

    /// Reads a table file.
    pub fn load(path: &std::path::Path) -> Result<LogSourceTable, EvalError> {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|message| EvalError::Table {
            path: path.to_path_buf(),
            message,
        })
    }

    fn from_thor(thor: ThorTable) -> LogSourceTable {
        let mut table = LogSourceTable::default();
        for entry in thor.logsources.into_values() {
            if !entry.sources.is_empty() {
                let channels: Vec<String> = entry
                    .sources
                    .iter()
                    .filter_map(|s| s.strip_prefix("WinEventLog:"))
                    .map(str::to_string)
                    .collect();
                if let (Some(service), false) = (entry.service, channels.is_empty()) {
                    table.services.entry(service).or_default().extend(channels);
                }
                continue;
            }
            let Some(category) = entry.category else {
                continue;
            };
            let mut conditions = entry.conditions;
            let event_ids = conditions
                .remove("EventID")
                .map(|ids| ids.values().iter().filter_map(|v| v.parse().ok()).collect())
                .unwrap_or_default();
            table
                .categories
                .entry(category)
                .or_default()
                .push(CategoryEntry {
                    product: entry.product,
                    service: entry.rewrite.get("service").cloned().or(entry.service),
                    event_ids,
                    conditions,
                    fields: entry.fieldmappings,
                });
        }
        table
    }

    fn channels(&self, service: &str) -> Vec<String> {
        self.services
            .get(service)
            .map(|c| c.iter().map(|s| s.to_lowercase()).collect())
            .unwrap_or_default()
    }

    /// What `logsource` covers among Windows events.
    pub fn resolve(&self, logsource: &LogSource) -> SourceMatch {
        let product = logsource.product.as_deref().map(str::to_ascii_lowercase);
        if product.as_deref().is_some_and(|p| p != "windows") {
            return SourceMatch::None(format!(
                "log source product `{}` is not Windows",
                product.unwrap_or_default()
            ));
        }
        let service = logsource.service.as_deref();
        let service_channels = service.map(|s| self.channels(s));
        if let Some(category) = logsource.category.as_deref() {
            let Some(entries) = self.categories.get(category) else {
                return SourceMatch::None(format!(
                    "log source category `{category}` is not in the log-source table"
                ));
            };
            let alternatives: Vec<SourceAlternative> = entries
                .iter()
                .filter(|e| {
                    e.product.is_none()
                        || product.is_none()
                        || e.product.as_deref() == product.as_deref()
                })
                .filter(|e| {
                    service.is_none() || e.service.as_deref().is_none_or(|s| Some(s) == service)
                })
                .map(|e| SourceAlternative {
                    channels: match (&service_channels, e.service.as_deref()) {
                        (Some(c), _) => c.clone(),
                        (None, Some(s)) => self.channels(s),
                        (None, None) => Vec::new(),
                    },
                    event_ids: e.event_ids.clone(),
                    conditions: e
                        .conditions
                        .iter()
                        .map(|(k, v)| (k.clone(), v.values()))
                        .collect(),
                    fields: e
                        .fields
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                })
                .collect();
            if alternatives.is_empty() {
                return SourceMatch::None(format!(
                    "log source category `{category}` with service `{}` is not in the log-source table",
                    service.unwrap_or_default()
                ));
            }
            return SourceMatch::Windows(alternatives);
        }
        match (service, service_channels) {
            (Some(s), Some(channels)) if channels.is_empty() => SourceMatch::None(format!(
                "log source service `{s}` has no channel in the log-source table"
            )),
            (Some(_), Some(channels)) => SourceMatch::Windows(vec![SourceAlternative {
                channels,
                ..SourceAlternative::default()
            }]),
            _ => SourceMatch::Any,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(category: Option<&str>, product: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            category: category.map(str::to_string),
            product: product.map(str::to_string),
            service: service.map(str::to_string),
            ..LogSource::default()
        }
    }

    #[test]
    fn process_creation_is_sysmon_1_or_security_4688() {
        let table = LogSourceTable::embedded();
        let SourceMatch::Windows(alternatives) =
            table.resolve(&source(Some("process_creation"), Some("windows"), None))
        else {
            panic!("process_creation resolves");
        };
        assert_eq!(alternatives.len(), 2);
        assert_eq!(alternatives[0].event_ids, vec![1]);
        assert_eq!(
            alternatives[0].channels,
            vec!["microsoft-windows-sysmon/operational"]
        );
        assert_eq!(alternatives[1].event_ids, vec![4688]);
        assert_eq!(alternatives[1].channels, vec!["security"]);
        assert!(
            alternatives[1]
                .fields
                .contains(&("Image".into(), "NewProcessName".into()))
        );
    }

    #[test]
    fn other_products_and_unknown_categories_cover_no_windows_event() {
        let table = LogSourceTable::embedded();
        assert!(matches!(
            table.resolve(&source(Some("process_creation"), Some("linux"), None)),
            SourceMatch::None(_)
        ));
        assert!(matches!(
            table.resolve(&source(Some("webserver"), None, None)),
            SourceMatch::None(_)
        ));
        assert_eq!(
            table.resolve(&source(None, Some("windows"), None)),
            SourceMatch::Any
        );
        assert!(matches!(
            table.resolve(&source(None, Some("windows"), Some("security"))),
            SourceMatch::Windows(_)
        ));
    }

    #[test]
    fn thor_format_reads_as_the_same_facts() {
        let thor = "logsources:\n  pc:\n    category: process_creation\n    product: windows\n    conditions:\n      EventID: 1\n    rewrite:\n      service: sysmon\n  s:\n    service: sysmon\n    sources: ['WinEventLog:Microsoft-Windows-Sysmon/Operational']\n";
        let table = LogSourceTable::parse(thor).unwrap();
        assert_eq!(table.categories["process_creation"][0].event_ids, vec![1]);
        assert_eq!(
            table.services["sysmon"],
            vec!["Microsoft-Windows-Sysmon/Operational"]
        );
        assert!(LogSourceTable::parse("categories: 3").is_err());
    }
}
