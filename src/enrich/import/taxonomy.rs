//! Reading the Sigma taxonomy appendix (`sigma-appendix-taxonomy.md`), the authority for which
//! log source means which channel and event IDs.
//!
//! Two parts of the document are read: the log source tables (a `Logsource` cell such as
//! `product: windows<br>category: process_creation` and a description cell such as
//! `EventID: 1<br>Channel: Microsoft-Windows-Sysmon/Operational`), and the field name lists of
//! the "Specific" and "Network category" sections.

use crate::enrich::data_needed::LogSourceKey;

/// One log source row of a taxonomy table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaxonomyRow {
    /// The log source (lower case).
    pub logsource: LogSourceKey,
    /// `EventID` / `EventIDs` of the description.
    pub event_ids: Vec<u32>,
    /// `Channel` values of the description.
    pub channels: Vec<String>,
    /// `ETW Provider` of the description.
    pub etw_provider: Option<String>,
    /// `service` of the description (Linux rows: `service: sysmon`).
    pub service_hint: Option<String>,
}

/// Field names the document lists for a log source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldBlock {
    /// The log source the list is for, as the document names it (lower case).
    pub logsource: LogSourceKey,
    /// The field names, in document order.
    pub fields: Vec<String>,
}

/// What the importer uses of the taxonomy appendix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taxonomy {
    /// Log source rows, in document order.
    pub rows: Vec<TaxonomyRow>,
    /// Field lists.
    pub field_blocks: Vec<FieldBlock>,
}

impl Taxonomy {
    /// The channels of a Windows `service`.
    pub fn service_channels(&self, service: &str) -> Vec<String> {
        self.rows
            .iter()
            .filter(|r| {
                r.logsource.product.as_deref() == Some("windows")
                    && r.logsource.service.as_deref() == Some(service)
                    && r.logsource.category.is_none()
            })
            .flat_map(|r| r.channels.iter().cloned())
            .collect()
    }
}

/// Parses the appendix text.
pub fn parse(text: &str) -> Taxonomy {
    let mut taxonomy = Taxonomy::default();
    let mut section = String::new();
    let mut block: Option<FieldBlock> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix('#') {
            flush(&mut block, &mut taxonomy);
            section = heading.trim_start_matches('#').trim().to_ascii_lowercase();
            continue;
        }
        if line.trim_start().starts_with('|') {
            if let Some(row) = parse_row(line) {
                taxonomy.rows.push(row);
            }
            continue;
        }
        if section == "specific" {
            specific_line(line, &mut block, &mut taxonomy);
        } else if let Some(category) = section.strip_suffix(" category") {
            category_line(category, line, &mut block, &mut taxonomy);
        }
    }
    flush(&mut block, &mut taxonomy);
    taxonomy
}

fn flush(block: &mut Option<FieldBlock>, taxonomy: &mut Taxonomy) {
    if let Some(b) = block.take()
        && !b.fields.is_empty()
    {
        taxonomy.field_blocks.push(b);
    }
}

fn parse_row(line: &str) -> Option<TaxonomyRow> {
    // `\|` is an escaped pipe inside a cell.
    let line = line.trim().replace("\\|", "\u{1}");
    let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
    let (index, logsource) = cells
        .iter()
        .enumerate()
        .find_map(|(i, cell)| parse_logsource_cell(cell).map(|k| (i, k)))?;
    let mut row = TaxonomyRow {
        logsource,
        event_ids: Vec::new(),
        channels: Vec::new(),
        etw_provider: None,
        service_hint: None,
    };
    let description = cells.get(index + 1).copied().unwrap_or("");
    let mut current_key = String::new();
    for part in description.split("<br>").map(str::trim) {
        let (key, value) = if let Some(item) = part.strip_prefix("- ") {
            (current_key.clone(), item.trim())
        } else if let Some((k, v)) = part.split_once(':') {
            current_key = k.trim().to_ascii_lowercase();
            (current_key.clone(), v.trim())
        } else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        match key.as_str() {
            "eventid" | "eventids" => row.event_ids.extend(value.parse::<u32>().ok()),
            "channel" => row.channels.push(value.to_string()),
            "etw provider" => row.etw_provider = Some(value.to_string()),
            "service" => row.service_hint = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(row)
}

/// `product: windows<br>category: process_creation` → the key; `None` unless every part is a
/// `product`/`category`/`service` pair.
fn parse_logsource_cell(cell: &str) -> Option<LogSourceKey> {
    let mut key = LogSourceKey::default();
    for part in cell.split("<br>").map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once(':')?;
        let value = value.trim().to_ascii_lowercase();
        if value.is_empty() || value.contains(' ') {
            return None;
        }
        match name.trim() {
            "product" => key.product = Some(value),
            "category" => key.category = Some(value),
            "service" => key.service = Some(value),
            _ => return None,
        }
    }
    (!key.is_empty()).then_some(key)
}

/// The backticked tokens of a line.
fn backticked(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

/// A line of the "Specific" section: a top-level bullet names a log source
/// (`` - `category: proxy` ``); nested bullets list its fields (`` - `c-uri`: … `` or
/// `` - `src_ip`, `src_port`, … ``). Nested log sources (`` `service: security` ``) are not
/// fields.
fn specific_line(line: &str, block: &mut Option<FieldBlock>, taxonomy: &mut Taxonomy) {
    let indented = line.starts_with(' ') || line.starts_with('\t');
    let Some(item) = line.trim_start().strip_prefix("- ") else {
        return;
    };
    let tokens = backticked(item);
    if !indented {
        flush(block, taxonomy);
        *block = tokens
            .first()
            .and_then(|t| parse_logsource_cell(t))
            .map(|logsource| FieldBlock {
                logsource,
                fields: Vec::new(),
            });
        return;
    }
    let Some(current) = block.as_mut() else {
        return;
    };
    let Some(first) = tokens.first() else {
        return;
    };
    if first.contains(':') || !item.trim_start().starts_with('`') {
        return;
    }
    let fields: Vec<&str> = if item.contains("`, `") {
        tokens
    } else {
        vec![*first]
    };
    for field in fields {
        push_field(&mut current.fields, field);
    }
}

/// A line of a "<name> category" section: a top-level `` - `service: connection` `` starts the
/// list of `category: <name>, service: connection`; nested `- field.name: description` lines
/// are its fields.
fn category_line(
    category: &str,
    line: &str,
    block: &mut Option<FieldBlock>,
    taxonomy: &mut Taxonomy,
) {
    let indented = line.starts_with(' ') || line.starts_with('\t');
    let Some(item) = line.trim_start().strip_prefix("- ") else {
        return;
    };
    if !indented {
        flush(block, taxonomy);
        *block = backticked(item)
            .first()
            .and_then(|t| parse_logsource_cell(t))
            .map(|mut logsource| {
                logsource.category = Some(category.to_string());
                FieldBlock {
                    logsource,
                    fields: Vec::new(),
                }
            });
        return;
    }
    if let Some(current) = block.as_mut() {
        let name = item
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('`');
        push_field(&mut current.fields, name);
    }
}

fn push_field(fields: &mut Vec<String>, name: &str) {
    let name = name.trim();
    if !name.is_empty() && !name.contains(' ') && !fields.iter().any(|f| f == name) {
        fields.push(name.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
### Windows Folder

| Product | Logsource | Description |
| ------- | --------- | ----------- |
| windows | product: windows<br>category: sysmon_status | EventIDs: <br> - 4<br> - 16<br>Channel: Microsoft-Windows-Sysmon/Operational |
| windows | product: windows<br>category: ps_script | EventID: 4104<br>Channel:<br> - Microsoft-Windows-PowerShell/Operational<br> - PowerShellCore/Operational |
| windows | product: windows<br>category: file_access | ETW Provider: Microsoft-Windows-Kernel-File |
| Linux   | product: linux<br>category: file_event | EventID: 11<br>service: sysmon |
| Linux   | product: linux<br>service: auditd | auditd.log |
| UtcTime | 2019 | C:\\\\Windows\\| |

### Specific

- `product: windows`: Windows logs
  - `service: security`: Security log
- `category: firewall`
  - Field Names:
    - `src_ip`, `src_port`, `dst_ip`
- `category: webserver`
  - `date`: The date.
  - `c-ip`:The IP address.

### Network category

- `service: dns`
  - source.ip : Source IP address
  - dns.question.name: DNS question name

## History
";

    #[test]
    fn rows_and_field_blocks() {
        let t = parse(SAMPLE);
        assert_eq!(t.rows.len(), 5);
        assert_eq!(t.rows[0].event_ids, [4, 16]);
        assert_eq!(t.rows[0].channels, ["Microsoft-Windows-Sysmon/Operational"]);
        assert_eq!(
            t.rows[1].channels,
            [
                "Microsoft-Windows-PowerShell/Operational",
                "PowerShellCore/Operational"
            ]
        );
        assert_eq!(
            t.rows[2].etw_provider.as_deref(),
            Some("Microsoft-Windows-Kernel-File")
        );
        assert_eq!(t.rows[3].service_hint.as_deref(), Some("sysmon"));
        assert_eq!(t.rows[4].logsource.service.as_deref(), Some("auditd"));
        assert!(t.rows[4].event_ids.is_empty());
        assert_eq!(t.field_blocks.len(), 3);
        assert_eq!(t.field_blocks[0].fields, ["src_ip", "src_port", "dst_ip"]);
        assert_eq!(t.field_blocks[1].fields, ["date", "c-ip"]);
        assert_eq!(
            t.field_blocks[2].logsource.category.as_deref(),
            Some("network")
        );
        assert_eq!(t.field_blocks[2].fields, ["source.ip", "dns.question.name"]);
    }
}
