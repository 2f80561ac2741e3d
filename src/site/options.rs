//! What a build is asked to do: the inputs, the site's title and URLs, the query targets, and
//! the switches of `sigwiki build` and `sigwiki serve`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::convert::mapping::FieldMapping;
use crate::sigma::ParseOptions;

use super::targets::QueryTarget;

/// What a build is asked to do.
pub struct BuildOptions {
    /// Rule files and folders.
    pub inputs: Vec<PathBuf>,
    /// The site's title.
    pub title: String,
    /// The path the site is served under, with leading and trailing `/` (`/`, `/repo/`).
    pub base_url: String,
    /// The absolute URL of the published site, with a trailing `/`.
    pub site_url: Option<String>,
    /// Query target entries (a target and its pipelines), in page order.
    pub targets: Vec<QueryTarget>,
    /// Rule parsing options.
    pub parse: ParseOptions,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Add the live-reload script (`sigwiki serve`).
    pub live_reload: bool,
    /// The field mapping applied before every conversion (`--mapping`), if any.
    pub mapping: Option<Arc<FieldMapping>>,
    /// Events files every rule page shows its matches in (`--events`).
    pub events: Vec<PathBuf>,
    /// Above this many rule files the build holds the rule set compactly and renders the rule
    /// pages in chunks (see [`super::build`]): the same site, in memory that grows little
    /// with the rule set. Below it every file stays parsed, which is faster.
    pub compact_above: usize,
    /// The rule pages of a compact build are rendered this many at a time.
    pub chunk: usize,
}

impl std::fmt::Debug for BuildOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildOptions")
            .field("inputs", &self.inputs)
            .field("title", &self.title)
            .field("base_url", &self.base_url)
            .field("site_url", &self.site_url)
            .field(
                "targets",
                &self
                    .targets
                    .iter()
                    .map(QueryTarget::spec)
                    .collect::<Vec<_>>(),
            )
            .field("mapping", &self.mapping.as_ref().map(|m| &m.name))
            .finish_non_exhaustive()
    }
}

impl BuildOptions {
    /// Options with defaults: no targets, base URL `/`.
    pub fn new(inputs: Vec<PathBuf>) -> BuildOptions {
        BuildOptions {
            inputs,
            title: "Detection rules".to_string(),
            base_url: "/".to_string(),
            site_url: None,
            targets: Vec::new(),
            parse: ParseOptions::default(),
            progress: false,
            live_reload: false,
            mapping: None,
            events: Vec::new(),
            compact_above: 4096,
            chunk: 1024,
        }
    }

    /// The name of the field mapping some queries are written with: `mapping`, when a target
    /// entry without pipelines uses it (entries with pipelines do not).
    pub fn mapping_shown(&self) -> Option<String> {
        let mapping = self.mapping.as_ref()?;
        self.targets
            .iter()
            .any(|t| t.chain.is_none())
            .then(|| mapping.name.clone())
    }
}
