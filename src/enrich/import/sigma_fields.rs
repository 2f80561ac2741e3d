//! Reading SigmaHQ's field-per-log-source list (`tests/logsource.json` of the SigmaHQ rule
//! repository): the field names SigmaHQ rules may use for each product/category/service.
//!
//! Only its `legit` part is read (the `addon` part lists fields pipelines add). The pseudo
//! product `empty` stands for log sources without a product (`category: proxy`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{ImportError, read_text};
use crate::enrich::data_needed::LogSourceKey;

#[derive(Debug, Deserialize)]
struct FieldFile {
    legit: BTreeMap<String, ProductFields>,
}

#[derive(Debug, Deserialize)]
struct ProductFields {
    #[serde(default)]
    category: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    service: BTreeMap<String, Vec<String>>,
}

/// Every log source the file lists, with its field names (possibly none), in file order of
/// products (sorted) and names (sorted).
pub fn read(path: &Path) -> Result<Vec<(LogSourceKey, Vec<String>)>, ImportError> {
    let text = read_text(path)?;
    let file: FieldFile = serde_json::from_str(&text).map_err(|e| ImportError::Invalid {
        path: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (product, lists) in file.legit {
        let product = (product != "empty").then(|| product.to_ascii_lowercase());
        for (category, fields) in lists.category {
            out.push((
                LogSourceKey {
                    product: product.clone(),
                    category: Some(category.to_ascii_lowercase()),
                    service: None,
                },
                dedup(fields),
            ));
        }
        for (service, fields) in lists.service {
            out.push((
                LogSourceKey {
                    product: product.clone(),
                    category: None,
                    service: Some(service.to_ascii_lowercase()),
                },
                dedup(fields),
            ));
        }
    }
    Ok(out)
}

fn dedup(fields: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(fields.len());
    for f in fields {
        let f = f.trim().to_string();
        if !f.is_empty() && !out.contains(&f) {
            out.push(f);
        }
    }
    out
}
