//! Reading OTRF/OSSEM-DD event dictionaries (`<os>/<source>/events/event-<id>[_v<ver>].yml`)
//! and the Sysmon manifest schema it ships.
//!
//! Only facts are kept: event IDs, event names, field names, and the channel shown in an
//! event sample. Descriptions and sample values are not read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::{ImportError, read_text};

/// Which OSSEM-DD folder an event comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OssemLog {
    /// `windows/sysmon`.
    WindowsSysmon,
    /// `linux/sysmon`.
    LinuxSysmon,
    /// `windows/powershell`: the classic "Windows PowerShell" log.
    WindowsPowerShellClassic,
    /// `windows/etw-providers/<provider>`.
    EtwProvider(String),
}

/// One event: the best of its versioned files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OssemEvent {
    /// The folder it comes from.
    pub log: OssemLog,
    /// `log_source` of the file (the provider for Windows events).
    pub log_source: String,
    /// The event ID.
    pub event_id: u32,
    /// The event name without its `Event ID N:` prefix, when the files give a real one.
    pub name: Option<String>,
    /// Field names of the newest version.
    pub fields: Vec<String>,
    /// The `<Channel>` of an XML sample, when a sample has one.
    pub sample_channel: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EventFile {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    log_source: Option<String>,
    event_id: Yaml,
    #[serde(default)]
    event_version: Option<Yaml>,
    #[serde(default)]
    event_fields: Option<Vec<FieldSpec>>,
    #[serde(default)]
    event_sample: Option<Vec<SampleSpec>>,
}

#[derive(Debug, Deserialize)]
struct FieldSpec {
    #[serde(default)]
    name: Option<Yaml>,
}

#[derive(Debug, Deserialize)]
struct SampleSpec {
    #[serde(default)]
    sample: Option<String>,
}

struct Version {
    version: Vec<u32>,
    file_name: String,
    name: Option<String>,
    fields: Vec<String>,
    sample_channel: Option<String>,
    log_source: String,
}

/// Reads every event of the OSSEM-DD folders sigwiki uses under `root`.
pub fn read_events(root: &Path) -> Result<Vec<OssemEvent>, ImportError> {
    let mut folders: Vec<(OssemLog, PathBuf)> = vec![
        (OssemLog::WindowsSysmon, root.join("windows/sysmon/events")),
        (OssemLog::LinuxSysmon, root.join("linux/sysmon/events")),
        (
            OssemLog::WindowsPowerShellClassic,
            root.join("windows/powershell/events"),
        ),
    ];
    let providers = root.join("windows/etw-providers");
    for provider in sorted_dir(&providers)? {
        if provider.is_dir()
            && let Some(name) = provider.file_name().and_then(|n| n.to_str())
        {
            folders.push((
                OssemLog::EtwProvider(name.to_string()),
                provider.join("events"),
            ));
        }
    }
    let mut events = Vec::new();
    for (log, folder) in folders {
        if !folder.is_dir() {
            return Err(ImportError::Missing {
                path: folder,
                message: "OSSEM-DD events folder not found".to_string(),
            });
        }
        let mut by_id: BTreeMap<u32, Vec<Version>> = BTreeMap::new();
        for path in sorted_dir(&folder)? {
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !file_name.starts_with("event-") || !file_name.ends_with(".yml") {
                continue;
            }
            let (event_id, version) = read_version(&path, file_name)?;
            by_id.entry(event_id).or_default().push(version);
        }
        for (event_id, mut versions) in by_id {
            // Newest version first; among equal versions the richer field list, then the
            // plain file name (`event-4656_v1` before `event-4656_registry_v1`).
            versions.sort_by(|a, b| {
                b.version
                    .cmp(&a.version)
                    .then(b.fields.len().cmp(&a.fields.len()))
                    .then(a.file_name.len().cmp(&b.file_name.len()))
                    .then(a.file_name.cmp(&b.file_name))
            });
            let Some(best) = versions.first() else {
                continue;
            };
            events.push(OssemEvent {
                log: log.clone(),
                log_source: best.log_source.clone(),
                event_id,
                name: versions.iter().find_map(|v| v.name.clone()),
                fields: best.fields.clone(),
                sample_channel: versions.iter().find_map(|v| v.sample_channel.clone()),
            });
        }
    }
    Ok(events)
}

fn read_version(path: &Path, file_name: &str) -> Result<(u32, Version), ImportError> {
    let text = read_text(path)?;
    let file: EventFile = serde_yaml::from_str(&text).map_err(|e| ImportError::yaml(path, &e))?;
    let event_id = scalar_text(&file.event_id)
        .and_then(|s| s.trim().parse::<u32>().ok())
        .ok_or_else(|| ImportError::Invalid {
            path: path.to_path_buf(),
            line: 1,
            message: "event_id is not a number".to_string(),
        })?;
    let version = file
        .event_version
        .as_ref()
        .and_then(scalar_text)
        .map(|v| {
            v.split('.')
                .map(|part| part.trim().parse::<u32>().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    let mut fields: Vec<String> = Vec::new();
    for field in file.event_fields.unwrap_or_default() {
        if let Some(name) = field.name.as_ref().and_then(scalar_text) {
            let name = name.trim().to_string();
            if !name.is_empty() && !fields.contains(&name) {
                fields.push(name);
            }
        }
    }
    let sample_channel = file
        .event_sample
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.sample.as_deref())
        .find_map(first_channel);
    Ok((
        event_id,
        Version {
            version,
            file_name: file_name.to_string(),
            name: file.name.as_deref().and_then(clean_event_name),
            fields,
            sample_channel,
            log_source: file.log_source.unwrap_or_default().trim().to_string(),
        },
    ))
}

/// The text of a YAML scalar (strings and numbers).
pub fn scalar_text(value: &Yaml) -> Option<String> {
    match value {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `Event ID 3: Network connection` → `Network connection`; `Event 4612 - task_0` → `None`
/// (an ETW task placeholder, not a name).
pub fn clean_event_name(raw: &str) -> Option<String> {
    let mut name = raw.trim();
    if let Some(rest) = name.strip_prefix("Event") {
        let rest = rest.trim_start();
        let rest = rest.strip_prefix("ID").unwrap_or(rest).trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            let rest = rest.get(digits..).unwrap_or("").trim_start();
            name = rest
                .strip_prefix(':')
                .or_else(|| rest.strip_prefix('-'))
                .unwrap_or(rest)
                .trim();
        }
    }
    let name = name.trim_end_matches('.').trim();
    let placeholder = name.is_empty()
        || name.eq_ignore_ascii_case("none")
        || name
            .strip_prefix("task_")
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
    (!placeholder).then(|| name.to_string())
}

/// The first `<Channel>…</Channel>` of an XML sample: the event's own channel (the `System`
/// block comes before the event data, which can mention other channels).
fn first_channel(sample: &str) -> Option<String> {
    let start = sample.find("<Channel>")? + "<Channel>".len();
    let rest = sample.get(start..)?;
    let end = rest.find("</Channel>")?;
    let channel = rest.get(..end)?.trim();
    (!channel.is_empty()).then(|| channel.to_string())
}

/// The entries of a folder, sorted by name.
pub fn sorted_dir(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ImportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    Ok(paths)
}

/// One event of the Sysmon manifest schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaEvent {
    /// The event ID (`value`).
    pub event_id: u32,
    /// The `template` text (`Network connection detected`).
    pub template: String,
    /// The `<data name=…>` fields, in order.
    pub fields: Vec<String>,
}

/// Reads the `<event>` elements of a Sysmon manifest (`sysmon -s` output).
///
/// The manifest is a flat, generated XML file; a small tag scanner reads the two elements
/// needed rather than pulling in an XML library for one file.
pub fn read_sysmon_schema(path: &Path) -> Result<Vec<SchemaEvent>, ImportError> {
    let text = read_text(path)?;
    let mut events = Vec::new();
    let mut current: Option<SchemaEvent> = None;
    let mut rest = text.as_str();
    while let Some(open) = rest.find('<') {
        rest = rest.get(open..).unwrap_or("");
        if rest.starts_with("<!--") {
            let end = rest.find("-->").map_or(rest.len(), |e| e + 3);
            rest = rest.get(end..).unwrap_or("");
            continue;
        }
        let close = rest.find('>').ok_or_else(|| ImportError::Invalid {
            path: path.to_path_buf(),
            line: line_of(&text, rest),
            message: "unterminated tag".to_string(),
        })?;
        let tag = rest.get(1..close).unwrap_or("");
        let line = line_of(&text, rest);
        rest = rest.get(close + 1..).unwrap_or("");
        let name = tag.split_whitespace().next().unwrap_or("");
        match name {
            "event" => {
                let value = attribute(tag, "value").and_then(|v| v.parse::<u32>().ok());
                let Some(event_id) = value else {
                    return Err(ImportError::Invalid {
                        path: path.to_path_buf(),
                        line,
                        message: "<event> without a numeric value".to_string(),
                    });
                };
                if let Some(done) = current.take() {
                    events.push(done);
                }
                current = Some(SchemaEvent {
                    event_id,
                    template: attribute(tag, "template").unwrap_or_default(),
                    fields: Vec::new(),
                });
                if tag.ends_with('/') {
                    events.extend(current.take());
                }
            }
            "data" => {
                if let (Some(event), Some(field)) = (current.as_mut(), attribute(tag, "name")) {
                    event.fields.push(field);
                }
            }
            "/event" => events.extend(current.take()),
            _ => {}
        }
    }
    events.extend(current.take());
    events.sort_by_key(|e| e.event_id);
    Ok(events)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!(" {name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let rest = tag.get(start..)?;
    let end = rest.find('"')?;
    Some(unescape_xml(rest.get(..end)?))
}

fn unescape_xml(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The 1-based line at which `rest` (a suffix of `text`) starts.
fn line_of(text: &str, rest: &str) -> usize {
    let offset = text.len().saturating_sub(rest.len());
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_lose_prefixes_and_placeholders() {
        assert_eq!(
            clean_event_name("Event ID 3: Network connection").as_deref(),
            Some("Network connection")
        );
        assert_eq!(
            clean_event_name("Event ID 16 - Sysmon Config State Changed").as_deref(),
            Some("Sysmon Config State Changed")
        );
        assert_eq!(
            clean_event_name("Event ID 4616: The system time was changed.").as_deref(),
            Some("The system time was changed")
        );
        assert_eq!(clean_event_name("Event 4612 - task_0"), None);
        assert_eq!(clean_event_name("Event 4103 - None"), None);
        assert_eq!(
            clean_event_name("Event 106 - Taskregistered").as_deref(),
            Some("Taskregistered")
        );
    }

    #[test]
    fn sample_channel_is_the_first() {
        let sample = "<Event><System><Channel>System</Channel></System>\
                      <UserData><Channel>Microsoft-Windows-PowerShell/Operational</Channel></UserData></Event>";
        assert_eq!(first_channel(sample).as_deref(), Some("System"));
        assert_eq!(first_channel("no xml"), None);
    }

    #[test]
    fn schema_scanner_reads_events_and_fields() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.xml");
        std::fs::write(
            &path,
            "<manifest><!-- <event value=\"9\"> -->\n<events>\n\
             <event name=\"A\" value=\"3\" template=\"Network connection detected\">\n\
             <data name=\"Image\" inType=\"x\" />\n<data name=\"User\" />\n</event>\n\
             <event name=\"B\" value=\"1\" template=\"Process Create\"><data name=\"CommandLine\"/></event>\n\
             </events></manifest>",
        )
        .unwrap();
        let events = read_sysmon_schema(&path).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].event_id, 1);
        assert_eq!(events[1].template, "Network connection detected");
        assert_eq!(events[1].fields, ["Image", "User"]);
    }
}
