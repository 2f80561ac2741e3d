//! `sigwiki.toml`: the project settings of a rule repository (inputs, output folder, base URL,
//! site URL, query targets, template folder), read once and overridden by command-line flags.
//!
//! Relative paths in the file are relative to the folder the file is in, so the same file works
//! whatever the current directory is.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::convert::mapping::FieldMapping;

/// The name `sigwiki` looks for in the current directory when `--config` is not given.
pub const DEFAULT_FILE: &str = "sigwiki.toml";

/// The starter file written by `sigwiki init`.
pub const STARTER: &str = r#"# sigwiki settings. Command-line flags override every key.

# The site's title, shown in the header of every page.
title = "Detection rules"

# Folders (or files) of Sigma rules to build.
inputs = ["rules"]

# Where `sigwiki build` writes the site. The folder is replaced as a whole on every build.
output = "site"

# The path the site is served under, used by 404.html (which is served at any depth).
# For a GitHub Pages project site this is "/<repository>/".
base_url = "/"

# The absolute URL of the published site. Enables sitemap.xml and the
# "Open in ATT&CK Navigator" link. Leave empty when unknown.
site_url = ""

# Query targets shown on rule pages, in order; ["all"] for every target sigwiki has
# (`sigwiki convert --list-targets`). Default: the ATC ones, Kibana query, X-Pack Watcher, Graylog.
# targets = ["es-qs", "xpack-watcher", "graylog"]

# A folder of templates replacing the defaults by file name (see `sigwiki templates dump`).
# templates = "templates"

# Enrichment beyond the embedded catalogs:
# attack = "attack.json"            # written by `sigwiki attack import` (default: embedded v19.1)
# data_needed = "data-needed"       # YAML files adding to or overriding Data Needed entries
# atomics = "../atomic-red-team"    # a local checkout, for the names of the triggering tests

# A field mapping applied before the queries are written: a YAML file (format: data/mappings/README.md
# in the sigwiki repository), or the name of a built-in mapping, "winlogbeat" or "ecs-windows".
# mapping = "winlogbeat"
"#;

/// Settings read from `sigwiki.toml`. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The site's title.
    pub title: Option<String>,
    /// Rule files and folders.
    pub inputs: Vec<PathBuf>,
    /// The output folder.
    pub output: Option<PathBuf>,
    /// The path the site is served under (`/`, `/repo/`).
    pub base_url: Option<String>,
    /// The absolute URL of the published site.
    pub site_url: Option<String>,
    /// Query target names, or `["all"]`.
    pub targets: Option<Vec<String>>,
    /// A folder of template overrides.
    pub templates: Option<PathBuf>,
    /// An ATT&CK dataset written by `sigwiki attack import`, instead of the embedded one.
    pub attack: Option<PathBuf>,
    /// A folder of Data Needed YAML overrides.
    pub data_needed: Option<PathBuf>,
    /// A local atomic-red-team checkout, for test-level triggers.
    pub atomics: Option<PathBuf>,
    /// A field mapping file, or the name of a built-in mapping.
    pub mapping: Option<PathBuf>,
}

/// A settings file that cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads `path`, resolving relative paths against its folder.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text, path)?;
        let folder = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(folder);
        Ok(config)
    }

    /// Reads `sigwiki.toml` from the current directory if there is one.
    pub fn discover() -> Result<Config, ConfigError> {
        let path = Path::new(DEFAULT_FILE);
        if path.is_file() {
            Config::load(path)
        } else {
            Ok(Config::default())
        }
    }

    /// Parses settings text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })
    }

    fn resolve_paths(&mut self, folder: &Path) {
        if folder.as_os_str().is_empty() {
            return;
        }
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = folder.join(&*p);
            }
        };
        self.inputs.iter_mut().for_each(resolve);
        self.output.iter_mut().for_each(resolve);
        self.templates.iter_mut().for_each(resolve);
        self.attack.iter_mut().for_each(resolve);
        self.data_needed.iter_mut().for_each(resolve);
        self.atomics.iter_mut().for_each(resolve);
        // A built-in mapping's name stays a name, unless a file of that name sits beside the
        // settings file.
        if let Some(mapping) = &mut self.mapping {
            let beside = folder.join(&*mapping);
            let builtin = mapping
                .to_str()
                .is_some_and(|name| FieldMapping::builtin_names().any(|b| b == name));
            if mapping.is_relative() && (!builtin || beside.exists()) {
                *mapping = beside;
            }
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_file_parses_to_the_defaults_it_documents() {
        let config = Config::parse(STARTER, Path::new("sigwiki.toml")).expect("starter parses");
        assert_eq!(config.inputs, vec![PathBuf::from("rules")]);
        assert_eq!(config.output, Some(PathBuf::from("site")));
        assert_eq!(config.base_url.as_deref(), Some("/"));
        assert_eq!(config.targets, None);
        assert_eq!(config.templates, None);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_position() {
        let err = Config::parse("title = \"x\"\n\noutptu = \"site\"\n", Path::new("s.toml"))
            .expect_err("unknown key");
        match err {
            ConfigError::Invalid { line, message, .. } => {
                assert_eq!(line, 3);
                assert!(message.contains("outptu"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn relative_paths_follow_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sigwiki.toml");
        std::fs::write(
            &path,
            "inputs = [\"r\"]\noutput = \"/abs/site\"\ntemplates = \"t\"\n",
        )
        .expect("write");
        let config = Config::load(&path).expect("load");
        assert_eq!(config.inputs, vec![dir.path().join("r")]);
        assert_eq!(config.output, Some(PathBuf::from("/abs/site")));
        assert_eq!(config.templates, Some(dir.path().join("t")));
    }
}
