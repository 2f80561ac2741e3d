//! Enrichment of parsed rules with facts from embedded datasets: the log data a rule needs
//! ("Data Needed") and the Atomic Red Team tests that trigger its techniques.
//!
//! - [`DataNeededCatalog`]: the catalog of logs and events ([`Entry`]), matched to a rule from
//!   its `logsource` and the `EventID`s of its detection ([`DataNeededCatalog::match_rule`]);
//!   users add or override entries with a YAML folder ([`overrides`]).
//! - [`Triggers`]: which ATT&CK techniques have Atomic Red Team tests
//!   ([`Triggers::for_technique`]), with test names, GUIDs and platforms when a local checkout
//!   is given.
//! - [`EnrichOptions`]: the user's options (`--data-needed`, `--atomics`, or `sigwiki.toml`),
//!   loaded into an [`Enrichment`].
//! - [`import`]: the importers that produce the embedded datasets from public sources.
//!
//! Technique IDs are plain strings here; resolving tags to techniques is the ATT&CK catalog's
//! job.

pub mod data_needed;
pub mod import;
pub mod options;
pub mod overrides;
pub mod triggers;

pub use data_needed::{CatalogData, DataNeededCatalog, Entry, LogSourceKey, RuleNeeds, Source};
pub use options::{EnrichError, EnrichOptions, Enrichment};
pub use overrides::DataNeededError;
pub use triggers::{AtomicTest, AtomicsError, Trigger, Triggers};
