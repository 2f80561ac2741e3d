//! Errors of reading ATT&CK data: a STIX bundle or a compact dataset.

use std::path::PathBuf;

use thiserror::Error;

/// Why ATT&CK data could not be read or imported. Every variant names the file (or
/// `<embedded>` for the dataset compiled into the binary).
#[derive(Debug, Error)]
pub enum AttackError {
    /// The file could not be read.
    #[error("{}: cannot read: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },
    /// The file is gzip-compressed but the stream is broken.
    #[error("{}: cannot decompress: {error}", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source).
        error: std::io::Error,
    },
    /// The file is not valid JSON, or a field has the wrong JSON type (the message gives the
    /// line and column).
    #[error("{}: {error}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error, with line and column (shown in the message).
        error: serde_json::Error,
    },
    /// The JSON is neither a STIX bundle nor a sigwiki ATT&CK dataset.
    #[error(
        "{}: not ATT&CK data: expected a STIX bundle (`\"type\": \"bundle\"`) or a dataset written by `sigwiki attack import` (`\"format\": \"sigwiki-attack/1\"`)",
        path.display()
    )]
    NotAttackData {
        /// The file.
        path: PathBuf,
    },
    /// A sigwiki dataset of a format this version does not read.
    #[error(
        "{}: dataset format `{found}` is not supported (this sigwiki reads `{expected}`); re-import the STIX bundle with `sigwiki attack import`",
        path.display()
    )]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format the file declares.
        found: String,
        /// The format this version reads.
        expected: &'static str,
    },
    /// The ATT&CK release could not be determined.
    #[error(
        "{}: cannot tell which ATT&CK release this bundle is: it has no `x-mitre-collection` object and its file name does not carry a version (like `enterprise-attack-v19.1.json.gz`); pass `--attack-version`",
        path.display()
    )]
    UnknownVersion {
        /// The file.
        path: PathBuf,
    },
    /// A version given explicitly is not of the form `19.1`.
    #[error("`{version}` is not an ATT&CK version (expected digits and dots, like `19.1`)")]
    InvalidVersion {
        /// What was given.
        version: String,
    },
    /// The data is well-formed JSON but inconsistent (no matrix, duplicate IDs, …).
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
