//! The query targets of a site: which sections a rule page shows, each a target (`splunk`) and
//! the processing pipelines its queries go through first (`splunk+sysmon+splunk_windows`).
//!
//! An entry is written `TARGET` or `TARGET+PIPELINE[+PIPELINE…]` (on the command line, in
//! `sigwiki.toml`), where a pipeline is a built-in name or a pipeline file. One target may be
//! listed several times with different pipelines; each entry is its own page section, titled
//! after the target and its pipelines unless the settings give a title. Pipeline files are read
//! once when the entries are resolved and shared by every entry that names them, so a build
//! parses each file once however many rules and entries use it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use crate::convert::mapping::FieldMapping;
use crate::convert::{
    Backend, ConvertError, Preprocess, backends, convert_file_preprocessed, convert_file_with,
};
use crate::pipeline::{ALIASES, Chain, Pipeline, PipelineError};
use crate::sigma::{RuleFile, RuleSet};

/// One section of query blocks on rule pages: a target and the pipelines before it.
#[derive(Clone)]
pub struct QueryTarget {
    /// The target.
    pub backend: &'static dyn Backend,
    /// The pipelines, as the entry names them (built-in names, or file paths as written).
    pub pipelines: Vec<String>,
    /// The pipelines chained by priority; `None` without pipelines.
    pub chain: Option<Arc<Chain>>,
    /// The section title.
    pub title: String,
    misfits: Vec<(String, Vec<String>)>,
}

impl fmt::Debug for QueryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryTarget({} {:?})", self.spec(), self.title)
    }
}

impl From<&'static dyn Backend> for QueryTarget {
    fn from(backend: &'static dyn Backend) -> QueryTarget {
        QueryTarget::plain(backend)
    }
}

impl QueryTarget {
    /// The target without pipelines, under its own title.
    pub fn plain(backend: &'static dyn Backend) -> QueryTarget {
        QueryTarget {
            backend,
            pipelines: Vec::new(),
            chain: None,
            title: backend.title().to_string(),
            misfits: Vec::new(),
        }
    }

    /// Every target sigwiki has, without pipelines, in page order.
    pub fn every() -> Vec<QueryTarget> {
        backends().iter().map(|b| QueryTarget::plain(*b)).collect()
    }

    /// The entry as it is written: `splunk+sysmon+splunk_windows`.
    pub fn spec(&self) -> String {
        let mut spec = self.backend.name().to_string();
        for p in &self.pipelines {
            spec.push('+');
            spec.push_str(p);
        }
        spec
    }

    /// Converts `file` for this entry: through its pipelines, or else after `mapping` (the
    /// legacy field mapping applies only to entries without pipelines). A rule a pipeline
    /// refuses is an error naming the pipeline and its reason.
    pub fn convert(
        &self,
        file: &RuleFile,
        rules: &RuleSet,
        mapping: Option<&FieldMapping>,
    ) -> Result<String, ConvertError> {
        match &self.chain {
            Some(chain) => {
                convert_file_preprocessed(self.backend, file, rules, Preprocess::Pipelines(chain))
            }
            None => convert_file_with(self.backend, file, rules, mapping),
        }
    }

    /// The entry's pipelines that are not made for its target (`allowed_backends`), as
    /// `(pipeline as written, the targets it is made for)`: worth a warning, as sigma-cli gives.
    pub fn misfits(&self) -> &[(String, Vec<String>)] {
        &self.misfits
    }
}

/// Where an entry was written: a line of a settings file, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `--targets`.
    CommandLine,
    /// A line of a settings file.
    Settings {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::CommandLine => write!(f, "--targets"),
            Origin::Settings { file, line } => write!(f, "{}:{line}", file.display()),
        }
    }
}

/// An entry as asked for, before the target and pipelines are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRequest {
    /// `TARGET[+PIPELINE…]`, or `all` for every target without pipelines.
    pub spec: String,
    /// Pipelines named apart from `spec` (a settings table's `pipelines`), run after those of
    /// `spec` in the order given (chained by priority, like all pipelines).
    pub pipelines: Vec<String>,
    /// The section title, when the settings give one.
    pub title: Option<String>,
    /// Where the entry was written.
    pub origin: Origin,
    /// The folder relative pipeline paths are relative to (the settings file's), if not the
    /// current directory.
    pub base: Option<PathBuf>,
}

impl TargetRequest {
    /// An entry given on the command line.
    pub fn command_line(spec: &str) -> TargetRequest {
        TargetRequest {
            spec: spec.to_string(),
            pipelines: Vec::new(),
            title: None,
            origin: Origin::CommandLine,
            base: None,
        }
    }
}

/// A target entry that cannot be used.
#[derive(Debug, Error)]
pub enum TargetError {
    /// No target of that name.
    #[error(
        "{origin}: target entry `{entry}`: unknown query target `{name}`; available: {available}"
    )]
    UnknownTarget {
        /// Where the entry was written.
        origin: Origin,
        /// The entry.
        entry: String,
        /// The target asked for.
        name: String,
        /// The targets there are.
        available: String,
    },
    /// A pipeline that is neither a file nor a built-in one.
    #[error(
        "{origin}: target entry `{entry}`: unknown pipeline `{name}`: no such file, and no built-in pipeline of that name (built-in: {builtin})"
    )]
    UnknownPipeline {
        /// Where the entry was written.
        origin: Origin,
        /// The entry.
        entry: String,
        /// The pipeline asked for.
        name: String,
        /// The built-in pipelines.
        builtin: String,
    },
    /// A pipeline file that does not load.
    #[error("{origin}: target entry `{entry}`: {source}")]
    BadPipeline {
        /// Where the entry was written.
        origin: Origin,
        /// The entry.
        entry: String,
        /// What is wrong with the file.
        source: Box<PipelineError>,
    },
    /// An entry with nothing in it, or an empty pipeline name (`splunk+`).
    #[error("{origin}: target entry `{entry}`: {problem}")]
    Malformed {
        /// Where the entry was written.
        origin: Origin,
        /// The entry.
        entry: String,
        /// What is wrong.
        problem: &'static str,
    },
}

/// The entries `requests` ask for, in order; `defaults` (target names) when there are none.
/// `all` stands for every target without pipelines; an entry listed twice (same target, same
/// pipelines) is shown once. Every pipeline file is read once, whatever the number of entries
/// naming it.
pub fn resolve(
    requests: Option<&[TargetRequest]>,
    defaults: &[&str],
) -> Result<Vec<QueryTarget>, TargetError> {
    let Some(requests) = requests else {
        return Ok(defaults
            .iter()
            .filter_map(|name| crate::convert::backend(name))
            .map(QueryTarget::plain)
            .collect());
    };
    let mut loaded: HashMap<String, Arc<Pipeline>> = HashMap::new();
    let mut out: Vec<QueryTarget> = Vec::new();
    let push = |entry: QueryTarget, out: &mut Vec<QueryTarget>| {
        let same = |t: &QueryTarget| {
            t.backend.name() == entry.backend.name() && t.pipelines == entry.pipelines
        };
        if !out.iter().any(same) {
            out.push(entry);
        }
    };
    for request in requests {
        let entry_text = request.spec.trim();
        if entry_text.is_empty() && request.pipelines.is_empty() {
            // `--targets a,,b` and `targets = [""]`: nothing asked for.
            continue;
        }
        if entry_text == "all" && request.pipelines.is_empty() {
            for backend in backends() {
                push(QueryTarget::plain(*backend), &mut out);
            }
            continue;
        }
        let entry = display_entry(request);
        let malformed = |problem| TargetError::Malformed {
            origin: request.origin.clone(),
            entry: entry.clone(),
            problem,
        };
        let mut parts = entry_text.split('+').map(str::trim);
        let name = parts.next().unwrap_or_default();
        if name.is_empty() {
            return Err(malformed("the entry starts with `+`: name a target first"));
        }
        let backend = crate::convert::backend(name).ok_or_else(|| TargetError::UnknownTarget {
            origin: request.origin.clone(),
            entry: entry.clone(),
            name: name.to_string(),
            available: backends()
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        let mut labels: Vec<String> = Vec::new();
        for part in parts {
            if part.is_empty() {
                return Err(malformed("an empty pipeline name (`++` or a trailing `+`)"));
            }
            labels.push(part.to_string());
        }
        for extra in &request.pipelines {
            let extra = extra.trim();
            if extra.is_empty() {
                return Err(malformed("an empty pipeline name in `pipelines`"));
            }
            labels.push(extra.to_string());
        }
        let mut pipelines = Vec::with_capacity(labels.len());
        let mut misfits = Vec::new();
        for label in &labels {
            let location = pipeline_location(label, request.base.as_deref());
            if let Some(p) = loaded.get(&location) {
                if !p.fits(backend.name()) {
                    misfits.push((label.clone(), p.allowed_backends.clone()));
                }
                pipelines.push(Arc::clone(p));
                continue;
            }
            if !Path::new(&location).exists() && !is_builtin(&location) {
                return Err(TargetError::UnknownPipeline {
                    origin: request.origin.clone(),
                    entry,
                    name: label.clone(),
                    builtin: Pipeline::builtin_names().collect::<Vec<_>>().join(", "),
                });
            }
            let pipeline =
                Arc::new(
                    Pipeline::load(&location).map_err(|source| TargetError::BadPipeline {
                        origin: request.origin.clone(),
                        entry: entry.clone(),
                        source: Box::new(source),
                    })?,
                );
            if !pipeline.fits(backend.name()) {
                misfits.push((label.clone(), pipeline.allowed_backends.clone()));
            }
            loaded.insert(location, Arc::clone(&pipeline));
            pipelines.push(pipeline);
        }
        let title = request.title.clone().unwrap_or_else(|| {
            if labels.is_empty() {
                backend.title().to_string()
            } else {
                format!("{} ({})", backend.title(), labels.join(" + "))
            }
        });
        let chain = (!pipelines.is_empty()).then(|| Arc::new(Chain::of(pipelines)));
        push(
            QueryTarget {
                backend,
                pipelines: labels,
                chain,
                title,
                misfits,
            },
            &mut out,
        );
    }
    Ok(out)
}

/// The entry as the user wrote it, for messages.
fn display_entry(request: &TargetRequest) -> String {
    let mut entry = request.spec.trim().to_string();
    for p in &request.pipelines {
        entry.push('+');
        entry.push_str(p.trim());
    }
    entry
}

/// Whether `name` is a built-in pipeline or an alias of one.
fn is_builtin(name: &str) -> bool {
    Pipeline::builtin_names().any(|b| b == name) || ALIASES.iter().any(|(a, _)| *a == name)
}

/// What to load for a pipeline named `label` in an entry whose relative paths are relative to
/// `base`: a built-in name stays a name unless a file of that name sits in `base`.
fn pipeline_location(label: &str, base: Option<&Path>) -> String {
    let path = Path::new(label);
    match base {
        Some(base) if path.is_relative() => {
            let beside = base.join(path);
            if !is_builtin(label) || beside.exists() {
                beside.to_string_lossy().into_owned()
            } else {
                label.to_string()
            }
        }
        _ => label.to_string(),
    }
}
