//! The user-facing options of enrichment (`--data-needed DIR`, `--atomics DIR`, or the same keys
//! in `sigwiki.toml`) and loading the catalogs they select.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::data_needed::DataNeededCatalog;
use super::overrides::{self, DataNeededError};
use super::triggers::{AtomicsError, Triggers};

/// Where enrichment data beyond the embedded datasets comes from.
///
/// Deserializes from a `sigwiki.toml` table with kebab-case keys:
///
/// ```toml
/// data-needed = "data-needed/"       # folder of Data Needed YAML overrides
/// atomics = "../atomic-red-team"     # local atomic-red-team checkout
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnrichOptions {
    /// A folder of YAML files adding to or overriding the Data Needed catalog.
    pub data_needed: Option<PathBuf>,
    /// A local atomic-red-team checkout (or its `atomics` folder) for test-level triggers.
    pub atomics: Option<PathBuf>,
}

impl EnrichOptions {
    /// These options with every option `other` sets taking precedence (command line over
    /// config file).
    pub fn overridden_by(&self, other: &EnrichOptions) -> EnrichOptions {
        EnrichOptions {
            data_needed: other
                .data_needed
                .clone()
                .or_else(|| self.data_needed.clone()),
            atomics: other.atomics.clone().or_else(|| self.atomics.clone()),
        }
    }

    /// These options with relative paths taken relative to `base` (the config file's folder).
    pub fn relative_to(&self, base: &Path) -> EnrichOptions {
        let resolve = |p: &Option<PathBuf>| {
            p.as_ref().map(|p| {
                if p.is_absolute() {
                    p.clone()
                } else {
                    base.join(p)
                }
            })
        };
        EnrichOptions {
            data_needed: resolve(&self.data_needed),
            atomics: resolve(&self.atomics),
        }
    }

    /// Loads the catalogs: the embedded ones, with the override folder and checkout applied.
    pub fn load(&self) -> Result<Enrichment, EnrichError> {
        let data_needed = match &self.data_needed {
            Some(dir) => Cow::Owned(overrides::with_overrides(
                DataNeededCatalog::embedded(),
                dir,
            )?),
            None => Cow::Borrowed(DataNeededCatalog::embedded()),
        };
        let triggers = match &self.atomics {
            Some(dir) => Cow::Owned(Triggers::with_atomics_dir(dir)?),
            None => Cow::Borrowed(Triggers::embedded()),
        };
        Ok(Enrichment {
            data_needed,
            triggers,
        })
    }
}

/// The loaded enrichment catalogs.
#[derive(Debug, Clone)]
pub struct Enrichment {
    /// The Data Needed catalog.
    pub data_needed: Cow<'static, DataNeededCatalog>,
    /// The Atomic Red Team triggers.
    pub triggers: Cow<'static, Triggers>,
}

/// A problem loading enrichment data.
#[derive(Debug, thiserror::Error)]
pub enum EnrichError {
    /// The Data Needed override folder is invalid.
    #[error(transparent)]
    DataNeeded(#[from] DataNeededError),
    /// The atomic-red-team checkout is invalid.
    #[error(transparent)]
    Atomics(#[from] AtomicsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_keys_precedence_and_relative_paths() {
        let config: EnrichOptions =
            serde_yaml::from_str("data-needed: dn\natomics: /abs/art\n").unwrap();
        assert_eq!(config.data_needed.as_deref(), Some(Path::new("dn")));
        assert!(serde_yaml::from_str::<EnrichOptions>("atomic: x\n").is_err());
        let resolved = config.relative_to(Path::new("/site"));
        assert_eq!(resolved.data_needed.as_deref(), Some(Path::new("/site/dn")));
        assert_eq!(resolved.atomics.as_deref(), Some(Path::new("/abs/art")));
        let cli = EnrichOptions {
            data_needed: None,
            atomics: Some(PathBuf::from("other")),
        };
        let merged = resolved.overridden_by(&cli);
        assert_eq!(merged.data_needed.as_deref(), Some(Path::new("/site/dn")));
        assert_eq!(merged.atomics.as_deref(), Some(Path::new("other")));
    }

    #[test]
    fn defaults_load_the_embedded_catalogs_and_errors_surface() {
        let loaded = EnrichOptions::default().load().unwrap();
        assert!(matches!(loaded.data_needed, Cow::Borrowed(_)));
        assert!(loaded.data_needed.get("sysmon-1").is_some());
        assert!(loaded.triggers.for_technique("T1218.011").is_some());
        let missing = EnrichOptions {
            data_needed: None,
            atomics: Some(PathBuf::from("/nonexistent/atomic-red-team")),
        };
        assert!(matches!(missing.load(), Err(EnrichError::Atomics(_))));
    }
}
