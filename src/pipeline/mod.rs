//! Processing pipelines over the condition IR, with pySigma's model and semantics: what turns a
//! rule's generic field names and log source into the ones a user's SIEM stores (ECS,
//! Sysmon event IDs, `source=WinEventLog:…`), before any target renders a query.
//!
//! A [`Pipeline`] is read from pySigma's YAML pipeline format ([`load`]), or is one of the
//! built-in pipelines shipped as data files (`data/pipelines/`). Several pipelines are chained
//! by priority into a [`Chain`], which processes one document at a time ([`Chain::apply`]) into
//! a changed document and the processing state a backend reads (`set_state`). A rule a
//! pipeline refuses (`rule_failure`, `detection_item_failure`, a placeholder without a value)
//! gives a [`Refusal`].
//!
//! Semantics follow pySigma's documentation. A detection item a transformation replaces by
//! alternatives (a field mapped to several fields, a `Hashes` item split per algorithm) is
//! replaced in place, as pySigma nests a detection there: the selection becomes a
//! [`crate::sigma::SearchBody::All`] of its items, the replaced one an OR (`a and (x1 or x2)`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub mod apply;
pub mod custom;
pub mod kusto;
pub mod load;
pub mod model;

pub use model::{Pipeline, PipelineValue, ProcessingItem, Transformation};

use crate::sigma::Document;
use crate::sigma::diagnostic::{Code, Diagnostic, NodePath, Position};

/// The state pipelines set for a backend (`set_state`), per rule.
pub type ProcessingState = BTreeMap<String, PipelineValue>;

/// The built-in pipelines: name, targets they are made for (empty: any), and YAML text.
const BUILTIN: &[(&str, &str)] = &[
    ("sysmon", include_str!("../../data/pipelines/sysmon.yml")),
    (
        "windows-logsources",
        include_str!("../../data/pipelines/windows-logsources.yml"),
    ),
    (
        "windows-audit",
        include_str!("../../data/pipelines/windows-audit.yml"),
    ),
    (
        "ecs_windows",
        include_str!("../../data/pipelines/ecs_windows.yml"),
    ),
    (
        "ecs_windows_old",
        include_str!("../../data/pipelines/ecs_windows_old.yml"),
    ),
    (
        "splunk_windows",
        include_str!("../../data/pipelines/splunk_windows.yml"),
    ),
    (
        "splunk_sysmon_acceleration",
        include_str!("../../data/pipelines/splunk_sysmon_acceleration.yml"),
    ),
    (
        "microsoft_xdr",
        include_str!("../../data/pipelines/microsoft_xdr.yml"),
    ),
    (
        "sentinel_asim",
        include_str!("../../data/pipelines/sentinel_asim.yml"),
    ),
    (
        "azure_monitor",
        include_str!("../../data/pipelines/azure_monitor.yml"),
    ),
];

/// Other names of built-in pipelines: alias and the name it stands for.
pub const ALIASES: &[(&str, &str)] = &[
    // pySigma-backend-kusto's earlier name of `microsoft_xdr`, still accepted by sigma-cli.
    ("microsoft_365_defender", "microsoft_xdr"),
];

/// A pipeline file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PipelineError {
    /// The file (or `<built-in NAME>`).
    pub file: PathBuf,
    /// Where in it (`None` when the file itself cannot be used).
    pub position: Option<Position>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PipelineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                p.line,
                p.column,
                self.message
            ),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

impl PipelineError {
    /// The error as a diagnostic (`invalid-pipeline`), as `sigwiki check` prints it.
    pub fn diagnostic(&self) -> Diagnostic {
        let position = self.position.unwrap_or(Position { line: 1, column: 1 });
        Diagnostic {
            file: self.file.clone(),
            line: position.line,
            column: position.column,
            severity: Code::InvalidPipeline.default_severity(),
            code: Code::InvalidPipeline,
            message: self.message.clone(),
        }
    }
}

/// Whether YAML text is a processing pipeline rather than Sigma documents: a top-level
/// `transformations` key, and none of the keys that make a Sigma rule, correlation or filter.
pub fn looks_like_pipeline(text: &str) -> bool {
    let top_level = |key: &str| {
        text.lines().any(|l| {
            l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
    };
    top_level("transformations")
        && !top_level("detection")
        && !top_level("correlation")
        && !top_level("filter")
}

/// Why a pipeline refused a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The pipeline's name.
    pub pipeline: String,
    /// The processing item's id, if it has one.
    pub item: Option<String>,
    /// The message (a `rule_failure`'s own, or what went wrong).
    pub message: String,
    /// The rule node at fault, when one is.
    pub path: Option<NodePath>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline {}: {}", self.pipeline, self.message)
    }
}

/// A document after the pipelines.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The changed document.
    pub document: Document,
    /// `set_state` values, for the backend.
    pub state: ProcessingState,
    /// `set_custom_attribute` values.
    pub attributes: BTreeMap<String, PipelineValue>,
}

impl Pipeline {
    /// The names of the built-in pipelines.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN.iter().map(|(name, _)| *name)
    }

    /// The built-in pipeline called `name` (or one of its aliases).
    pub fn builtin(name: &str) -> Option<Result<Pipeline, PipelineError>> {
        let name = ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, real)| *real);
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| load::parse(text, Path::new(&format!("<built-in {n}>")), n))
    }

    /// A pipeline file, or a built-in pipeline when `spec` names one and no such file exists.
    pub fn load(spec: &str) -> Result<Pipeline, PipelineError> {
        let path = Path::new(spec);
        if !path.exists() {
            if let Some(found) = Pipeline::builtin(spec) {
                return found;
            }
            return Err(PipelineError {
                file: path.to_path_buf(),
                position: None,
                message: format!(
                    "no such pipeline file, and no built-in pipeline of that name (built-in: {})",
                    Pipeline::builtin_names().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|e| PipelineError {
            file: path.to_path_buf(),
            position: None,
            message: format!("cannot read the pipeline: {e}"),
        })?;
        load::parse(&text, path, spec)
    }

    /// Whether the pipeline is made for `target` (it names no targets, or names this one).
    pub fn fits(&self, target: &str) -> bool {
        self.allowed_backends.is_empty() || self.allowed_backends.iter().any(|b| b == target)
    }
}

/// One line per built-in pipeline (and alias): name, the targets it is made for, its
/// description.
pub fn listing() -> Vec<String> {
    let mut lines = Vec::new();
    for p in Pipeline::builtin_names().filter_map(|name| Pipeline::builtin(name)?.ok()) {
        let targets = if p.allowed_backends.is_empty() {
            "any target".to_string()
        } else {
            p.allowed_backends.join(", ")
        };
        lines.push(format!("{:<28}{:<36}{}", p.spec, targets, p.name));
        for (alias, _) in ALIASES.iter().filter(|(_, real)| *real == p.spec) {
            lines.push(format!(
                "{alias:<28}{targets:<36}{} (another name of {})",
                p.name, p.spec
            ));
        }
    }
    lines
}

/// Pipelines chained by priority (lower first; equal priorities keep the order given), as
/// `sigma convert -p A -p B` chains them.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pipelines: Vec<Arc<Pipeline>>,
    vars: BTreeMap<String, Vec<PipelineValue>>,
    /// Whether any item has a detection-item or field-name `processing_item_applied`
    /// condition: only then is it worth recording which items changed each detection item
    /// (an allocation and a hash-map insert per changed item).
    tracks_detection_items: bool,
}

impl Chain {
    /// The chain of `pipelines`, sorted by priority.
    pub fn new(pipelines: Vec<Pipeline>) -> Chain {
        Chain::of(pipelines.into_iter().map(Arc::new).collect())
    }

    /// The chain of shared pipelines, sorted by priority.
    pub fn of(mut pipelines: Vec<Arc<Pipeline>>) -> Chain {
        pipelines.sort_by_key(|p| p.priority);
        let mut vars = BTreeMap::new();
        for p in &pipelines {
            for (k, v) in &p.vars {
                vars.insert(k.clone(), v.clone());
            }
        }
        let tracks_detection_items =
            pipelines.iter().flat_map(|p| &p.items).any(|item| {
                item.detection_item_conditions.items.iter().any(|(_, c)| {
                    matches!(c, model::DetectionItemCondition::ProcessingItemApplied(_))
                }) || item
                    .field_name_conditions
                    .items
                    .iter()
                    .any(|(_, c)| matches!(c, model::FieldNameCondition::ProcessingItemApplied(_)))
            });
        Chain {
            pipelines,
            vars,
            tracks_detection_items,
        }
    }

    /// Whether the chain's conditions ask which items changed a detection item.
    pub(crate) fn tracks_detection_items(&self) -> bool {
        self.tracks_detection_items
    }

    /// Loads each spec (a file or a built-in name) and chains them.
    pub fn load(specs: &[String]) -> Result<Chain, PipelineError> {
        let pipelines = specs
            .iter()
            .map(|s| Pipeline::load(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chain::new(pipelines))
    }

    /// The pipelines, in the order they run.
    pub fn pipelines(&self) -> &[Arc<Pipeline>] {
        &self.pipelines
    }

    /// Whether there are no pipelines.
    pub fn is_empty(&self) -> bool {
        self.pipelines.is_empty()
    }

    /// The values of the variable `name` (`vars`; a later pipeline's win).
    pub fn var(&self, name: &str) -> Option<&[PipelineValue]> {
        self.vars.get(name).map(Vec::as_slice)
    }

    /// The pipelines as named on the command line, joined with `+` in the order given to
    /// [`Chain::new`]'s sort (priority order).
    pub fn label(&self) -> String {
        self.pipelines
            .iter()
            .map(|p| p.spec.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The pipelines of the chain that are not made for `target`.
    pub fn misfits(&self, target: &str) -> Vec<&Pipeline> {
        self.pipelines
            .iter()
            .filter(|p| !p.fits(target))
            .map(|p| p.as_ref())
            .collect()
    }

    /// Processes one document.
    pub fn apply(&self, document: &Document) -> Result<Processed, Refusal> {
        apply::apply(self, document)
    }
}
