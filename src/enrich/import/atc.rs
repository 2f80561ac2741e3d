//! Reading atc-project/atc-data "Data Needed" items (`data_needed/DN_NNNN_<eventid>_<slug>.yml`).
//!
//! Facts kept: the event ID encoded in the title, platform, channel, provider and field names.
//! Fields the upstream files mark `# redundant` (ATC's own aliases such as `Hostname`) are
//! dropped; descriptions and samples are not read.

use std::path::Path;

use serde::Deserialize;
use serde_yaml::Value as Yaml;

use super::ossem::{scalar_text, sorted_dir};
use super::{ImportError, read_text};

/// One Data Needed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtcItem {
    /// `title` (= the file stem, `DN_0005_7045_windows_service_insatalled`).
    pub title: String,
    /// The event ID encoded in the title, when it has one.
    pub event_id: Option<u32>,
    /// `platform` (`Windows`, `Linux`, …).
    pub platform: String,
    /// `channel`, unless `None`.
    pub channel: Option<String>,
    /// `provider`, unless `None`.
    pub provider: Option<String>,
    /// Field names, without the ones marked redundant.
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ItemFile {
    title: String,
    #[serde(default)]
    platform: Option<Yaml>,
    #[serde(default)]
    channel: Option<Yaml>,
    #[serde(default)]
    provider: Option<Yaml>,
    #[serde(default)]
    fields: Option<Vec<Yaml>>,
}

/// Reads every `DN_*.yml` of `dir` (the atc-data checkout or its `data_needed` folder), in
/// file-name order.
pub fn read_items(dir: &Path) -> Result<Vec<AtcItem>, ImportError> {
    let nested = dir.join("data_needed");
    let folder = if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    };
    let mut items = Vec::new();
    for path in sorted_dir(&folder)? {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.starts_with("DN_") || !name.ends_with(".yml") {
            continue;
        }
        let text = read_text(&path)?;
        let file: ItemFile =
            serde_yaml::from_str(&text).map_err(|e| ImportError::yaml(&path, &e))?;
        let redundant = redundant_fields(&text);
        let text_of = |v: &Option<Yaml>| {
            v.as_ref()
                .and_then(scalar_text)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty() && s != "None")
        };
        let platform = text_of(&file.platform).unwrap_or_default();
        // The Windows items list the event header (`EventID`, `Computer`) among the event's
        // data fields; the OSSEM-DD entries list event data only, so the header is left out.
        let header: &[&str] = if platform.eq_ignore_ascii_case("windows") {
            &["EventID", "Computer"]
        } else {
            &[]
        };
        let mut fields = Vec::new();
        for field in file.fields.unwrap_or_default() {
            if let Some(f) = scalar_text(&field) {
                let f = f.trim().to_string();
                if !f.is_empty()
                    && !redundant.contains(&f)
                    && !header.contains(&f.as_str())
                    && !fields.contains(&f)
                {
                    fields.push(f);
                }
            }
        }
        items.push(AtcItem {
            event_id: title_event_id(&file.title),
            platform,
            channel: text_of(&file.channel),
            provider: text_of(&file.provider),
            title: file.title,
            fields,
        });
    }
    if items.is_empty() {
        return Err(ImportError::Missing {
            path: folder,
            message: "no atc-data DN_*.yml files found".to_string(),
        });
    }
    Ok(items)
}

/// `DN_0005_7045_windows_service…` → 7045; `DN_0092_unix_generic_syslog` → none.
fn title_event_id(title: &str) -> Option<u32> {
    let mut parts = title.split('_');
    (parts.next()? == "DN").then_some(())?;
    parts.next()?;
    parts.next()?.parse().ok()
}

/// Field list lines with a comment saying the field is redundant (`- Hostname # redundant`).
fn redundant_fields(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (item, comment) = line.split_once('#')?;
            let item = item.trim().strip_prefix("- ")?.trim();
            (comment.contains("redundant") && !item.is_empty()).then(|| item.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_redundant_fields() {
        assert_eq!(title_event_id("DN_0005_7045_windows_service"), Some(7045));
        assert_eq!(title_event_id("DN_0092_unix_generic_syslog"), None);
        assert_eq!(
            redundant_fields(
                "fields:\n  - EventID\n  - Hostname # redundant\n  - X   # redundant, inconsistent\n"
            ),
            ["Hostname", "X"]
        );
    }
}
