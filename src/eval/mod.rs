//! The evaluator: Sigma rules run on recorded events, over the same condition IR the converters
//! render (values already expanded by their modifiers when the rule was parsed, so a modifier
//! means one thing for every query target and here).
//!
//! ```text
//! events file ──reader──▶ Event (flat named values) ──Engine (compiled rule set, indexed by
//! log source)──▶ matching rules ──▶ correlations ──▶ regression verdicts (`sigwiki test`)
//! ```
//!
//! - [`event`]: the event model and field resolution (`Image` → `Event.EventData.Image`).
//! - [`reader`]: EVTX, `evtx_dump` JSON, JSON Lines, Winlogbeat/ECS, streamed.
//! - [`logsource`]: which Windows events a rule's `logsource` covers (SigmaHQ's table).
//! - [`matcher`] and [`compile`]: values and detections compiled once.
//! - [`hash`]: the fast hash of per-event lookups.
//! - [`literals`]: which of many literals occur in a value, found by their grams.
//! - [`prefilter`]: the facts of an event found in one pass, which decide the rules to test.
//! - [`engine`]: the compiled rule set and correlations.
//! - [`regression`]: SigmaHQ's regression tests (`regression_tests_path`, `info.yml`).

pub mod compile;
pub mod engine;
pub mod event;
pub mod hash;
pub mod literals;
pub mod logsource;
pub mod matcher;
pub mod prefilter;
pub mod reader;
pub mod regression;

use std::path::PathBuf;

pub use engine::{CorrelationState, Engine, RuleInfo, Scratch};
pub use event::Event;
pub use logsource::LogSourceTable;
pub use reader::{ReadProblem, ReadSummary, read_events};
pub use regression::{RegressionOutcome, TestStatus};

/// Errors of the evaluator's inputs.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A log-source table is malformed.
    #[error("{}: not a log-source table: {message}", path.display())]
    Table {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}
