//! Reading ATT&CK data files: plain or gzip-compressed JSON (recognised by content, not by
//! extension), which is either a STIX bundle or a compact dataset.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;
use serde::Deserialize;

use super::dataset::{Dataset, FORMAT};
use super::error::AttackError;

/// What an ATT&CK data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// A STIX bundle (MITRE's format).
    Bundle,
    /// A dataset written by `sigwiki attack import`.
    Dataset,
}

/// Reads `path`, decompressing it when it starts with the gzip magic bytes.
pub fn read_data(path: &Path) -> Result<Vec<u8>, AttackError> {
    let bytes = std::fs::read(path).map_err(|error| AttackError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    // ATT&CK bundles grow about five times when unpacked.
    let mut json = Vec::with_capacity(bytes.len().saturating_mul(5));
    GzDecoder::new(bytes.as_slice())
        .read_to_end(&mut json)
        .map_err(|error| AttackError::Gzip {
            path: path.to_path_buf(),
            error,
        })?;
    Ok(json)
}

/// The two top-level keys that tell the kinds apart; serde skips everything else without
/// building it, so probing a bundle costs one fast scan.
#[derive(Deserialize)]
struct Probe {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    format: Option<String>,
}

/// Tells a bundle from a dataset.
pub fn probe(json: &[u8], path: &Path) -> Result<DataKind, AttackError> {
    let probe: Probe = serde_json::from_slice(json).map_err(|error| AttackError::Json {
        path: path.to_path_buf(),
        error,
    })?;
    match (probe.kind.as_deref(), probe.format) {
        (Some("bundle"), _) => Ok(DataKind::Bundle),
        (_, Some(format)) if format.starts_with("sigwiki-attack/") => {
            if format == FORMAT {
                Ok(DataKind::Dataset)
            } else {
                Err(AttackError::UnsupportedFormat {
                    path: path.to_path_buf(),
                    found: format,
                    expected: FORMAT,
                })
            }
        }
        _ => Err(AttackError::NotAttackData {
            path: path.to_path_buf(),
        }),
    }
}

/// Parses a compact dataset.
pub fn parse_dataset(json: &[u8], path: &Path) -> Result<Dataset, AttackError> {
    let dataset: Dataset = serde_json::from_slice(json).map_err(|error| AttackError::Json {
        path: path.to_path_buf(),
        error,
    })?;
    if dataset.format != FORMAT {
        return Err(AttackError::UnsupportedFormat {
            path: path.to_path_buf(),
            found: dataset.format,
            expected: FORMAT,
        });
    }
    Ok(dataset)
}
