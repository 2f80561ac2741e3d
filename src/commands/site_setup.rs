//! What `build`, `preview` and `serve` share: the settings file and command-line options
//! turned into [`BuildOptions`], the query target entries (with their pipelines), the templates folder and the loaded catalogs.

use std::path::PathBuf;

use anyhow::{Context, Result};

use sigwiki::attack::Catalog;
use sigwiki::config::Config;
use sigwiki::sigma::{Limits, ParseOptions};
use sigwiki::site::targets::TargetRequest;
use sigwiki::site::{self, BuildOptions, QueryTarget};

use crate::cli::SiteArgs;

/// The targets ATC's pages showed, used when neither `--targets` nor the settings name any.
pub const DEFAULT_TARGETS: [&str; 3] = ["es-qs", "xpack-watcher", "graylog"];

/// The query target entries of a site command: `--targets` (each `TARGET[+PIPELINE…]`, or
/// `all`), else the settings file's `targets`, else the defaults. Pipelines that are not made
/// for their entry's target are reported on standard error, as `sigma convert` reports them.
pub fn resolve_targets(
    command_line: Option<&[String]>,
    config: &Config,
) -> Result<Vec<QueryTarget>> {
    let requests = match command_line {
        Some(entries) => Some(
            entries
                .iter()
                .map(|e| TargetRequest::command_line(e))
                .collect::<Vec<_>>(),
        ),
        None => config.target_requests(),
    };
    let targets = sigwiki::site::targets::resolve(requests.as_deref(), &DEFAULT_TARGETS)?;
    for entry in &targets {
        for (pipeline, made_for) in entry.misfits() {
            eprintln!(
                "warning: target entry `{}`: pipeline {pipeline} is made for {}, not {}",
                entry.spec(),
                made_for.join(", "),
                entry.backend.name()
            );
        }
    }
    Ok(targets)
}

/// The catalogs rules are enriched with: ATT&CK (embedded or `--attack`), Data Needed
/// (embedded, with `--data-needed` overrides) and Atomic Red Team (embedded or `--atomics`).
pub struct LoadedCatalogs {
    /// The ATT&CK catalog.
    pub attack: std::borrow::Cow<'static, Catalog>,
    /// Data Needed and Atomic Red Team.
    pub enrichment: sigwiki::enrich::Enrichment,
}

impl LoadedCatalogs {
    /// Loads the catalogs `site_args` and `config` select.
    pub fn load(site_args: &SiteArgs, config: &Config) -> Result<LoadedCatalogs> {
        let attack = match site_args.attack.as_ref().or(config.attack.as_ref()) {
            Some(path) => {
                std::borrow::Cow::Owned(Catalog::load(path).context("cannot load the ATT&CK data")?)
            }
            None => std::borrow::Cow::Borrowed(Catalog::embedded()),
        };
        let options = sigwiki::enrich::EnrichOptions {
            data_needed: site_args
                .data_needed
                .clone()
                .or_else(|| config.data_needed.clone()),
            atomics: site_args.atomics.clone().or_else(|| config.atomics.clone()),
        };
        let enrichment = options.load()?;
        Ok(LoadedCatalogs { attack, enrichment })
    }

    /// The enricher over these catalogs.
    pub fn enricher(&self) -> site::catalogs::Catalogs<'_> {
        site::catalogs::Catalogs::new(
            &self.attack,
            &self.enrichment.data_needed,
            &self.enrichment.triggers,
        )
    }
}

/// The settings of one site command, resolved from `sigwiki.toml` and the command line.
pub struct Setup {
    /// The settings file (or the defaults).
    pub config: Config,
    /// A folder of templates overriding the embedded ones.
    pub templates_dir: Option<PathBuf>,
    /// The build options.
    pub options: BuildOptions,
    /// The catalogs rules are enriched with.
    pub catalogs: LoadedCatalogs,
}

/// Resolves the settings of a site command: the settings file (`--config`, or discovered),
/// then the command-line options over it; `paths` are the rule inputs given on the command line.
pub fn setup(site_args: &SiteArgs, paths: &[PathBuf]) -> Result<Setup> {
    let config = match &site_args.config {
        Some(path) => Config::load(path)?,
        None => Config::discover()?,
    };
    let inputs = if !paths.is_empty() {
        paths.to_vec()
    } else if !config.inputs.is_empty() {
        config.inputs.clone()
    } else {
        sigwiki::walk::default_inputs(std::path::Path::new("."))
    };
    let targets = resolve_targets(site_args.targets.as_deref(), &config)?;
    let mut options = BuildOptions::new(inputs);
    options.title = site_args
        .title
        .clone()
        .or_else(|| config.title.clone())
        .unwrap_or_else(|| "Detection rules".to_string());
    options.base_url = site::normalize_base_url(config.base_url.as_deref().unwrap_or("/"));
    options.site_url = config
        .site_url
        .as_deref()
        .and_then(site::normalize_site_url);
    options.targets = targets;
    options.parse = ParseOptions {
        limits: Limits {
            max_file_size: site_args.max_file_size,
            ..Limits::default()
        },
    };
    if let Some(spec) = site_args.mapping.as_ref().or(config.mapping.as_ref()) {
        let mapping = sigwiki::convert::mapping::FieldMapping::load(spec)
            .context("cannot load the field mapping")?;
        options.mapping = Some(std::sync::Arc::new(mapping));
    }
    let templates_dir = site_args
        .templates
        .clone()
        .or_else(|| config.templates.clone());
    let catalogs = LoadedCatalogs::load(site_args, &config)?;
    Ok(Setup {
        config,
        templates_dir,
        options,
        catalogs,
    })
}
