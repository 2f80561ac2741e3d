//! The MITRE ATT&CK catalog: the embedded compact dataset, the STIX importer that produces it,
//! and the resolution of Sigma `attack.*` tags to tactics, techniques, groups and software.
//!
//! - [`Catalog`] holds one ATT&CK release: [`Catalog::embedded`] is the dataset compiled into
//!   the binary (`data/attack.json`), [`Catalog::load`] reads a STIX bundle or a dataset given
//!   with `--attack FILE`. Lookups are keyed by object kind and ID, because ATT&CK reuses IDs
//!   across kinds. [`Catalog::matrix`] gives the coverage matrix's columns.
//! - [`import_file`] / [`import_bundle`] turn MITRE's STIX data into a [`Dataset`], which
//!   [`Dataset::to_json`] writes in the committed, deterministic form.
//! - [`resolve_tags`] resolves a rule's tags to what pages show; [`rule_file_diagnostics`]
//!   turns revoked, deprecated and unknown ATT&CK tags into `check` diagnostics.

mod catalog;
mod dataset;
mod error;
mod input;
mod stix;
mod tag_syntax;
mod tags;

use std::path::Path;

pub use catalog::{Catalog, EMBEDDED_DATASET, MatrixCell, MatrixColumn, ObjectKind, ObjectView};
pub use dataset::{Dataset, Entry, FORMAT, Software, SoftwareKind, Tactic, Technique, compare_ids};
pub use error::AttackError;
pub use stix::{ImportOptions, import_bundle, version_from_file_name};
pub use tag_syntax::{TagNamespace, TagTarget, parse_tag};
pub use tags::{
    ObjectInfo, OtherTag, ResolvedObject, ResolvedTactic, ResolvedTags, ResolvedTechnique, Status,
    TagProblem, TagRef, TechniqueInfo, resolve_tags, rule_file_diagnostics,
};

/// Imports the STIX bundle at `path` (plain or gzip-compressed JSON).
pub fn import_file(path: &Path, options: &ImportOptions) -> Result<Dataset, AttackError> {
    let json = input::read_data(path)?;
    match input::probe(&json, path)? {
        input::DataKind::Bundle => import_bundle(&json, path, options),
        input::DataKind::Dataset => Err(AttackError::Invalid {
            path: path.to_path_buf(),
            message: "this is already a sigwiki ATT&CK dataset; `attack import` reads MITRE's STIX bundles".to_string(),
        }),
    }
}
