//! `sigwiki.toml`: the project settings of a rule repository (inputs, output folder, base URL,
//! site URL, query targets, template folder), read once and overridden by command-line flags.
//!
//! Relative paths in the file are relative to the folder the file is in, so the same file works
//! whatever the current directory is.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use crate::convert::mapping::FieldMapping;
use crate::site::targets::{Origin, TargetRequest};

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

# Query targets shown on rule pages, in order. An entry is a target (`sigwiki convert
# --list-targets`) and the processing pipelines its queries go through first, "TARGET+PIPELINE",
# each pipeline a built-in one (`sigwiki convert --list-pipelines`) or a pySigma pipeline file
# of your own (relative to this file): they turn the rules' generic field names and log sources
# into the ones your SIEM stores. A target may be listed more than once with other pipelines;
# a table gives a section its own title. Without this key: ATC's Kibana query, X-Pack Watcher
# and Graylog sections, with the rules' own field names; ["all"] for every target without
# pipelines.
targets = [
    # Elasticsearch: Winlogbeat / Elastic Agent documents (Elastic Common Schema).
    "lucene+ecs_windows",
    "eql+ecs_windows",
    # Splunk: Sysmon field names and event IDs, in the Windows add-on's sources.
    { target = "splunk+sysmon+splunk_windows", title = "Splunk SPL (Sysmon, Windows add-on)" },
    # Microsoft Defender XDR advanced hunting: its tables (DeviceProcessEvents, …) and columns.
    { target = "kusto+microsoft_xdr", title = "Microsoft Defender XDR (KQL)" },
    # Microsoft Sentinel instead: "kusto+sentinel_asim" (ASIM parsers) or "kusto+azure_monitor".
    # Your own pipeline file, beside this one:
    # { target = "splunk", pipelines = ["pipelines/our_splunk.yml"], title = "Splunk (our indexes)" },
]

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
    /// Query target entries (`TARGET[+PIPELINE…]`, or tables with a title), or `["all"]`.
    pub targets: Option<Vec<Spanned<TargetSetting>>>,
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
    /// The file the settings were read from and the line each target entry is on, for
    /// messages about an entry.
    #[serde(skip)]
    target_origins: Vec<Origin>,
    /// The folder relative pipeline paths of target entries are relative to.
    #[serde(skip)]
    folder: Option<PathBuf>,
}

/// One entry of `targets`: `"TARGET[+PIPELINE…]"`, or a table
/// `{ target = "splunk+sysmon", pipelines = ["splunk_windows"], title = "Splunk (Sysmon)" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSetting {
    /// `"splunk+sysmon+splunk_windows"`.
    Spec(String),
    /// A table.
    Table(TargetTable),
}

/// A `targets` entry written as a table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetTable {
    /// `TARGET[+PIPELINE…]`.
    pub target: String,
    /// More pipelines, for file paths that hold a `+`.
    #[serde(default)]
    pub pipelines: Vec<String>,
    /// The section title on rule pages.
    pub title: Option<String>,
}

impl<'de> Deserialize<'de> for TargetSetting {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = TargetSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a target entry: \"TARGET[+PIPELINE…]\" or { target = …, title = … }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<TargetSetting, E> {
                Ok(TargetSetting::Spec(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<TargetSetting, A::Error> {
                TargetTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(TargetSetting::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
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
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map_or((1, 1), |span| line_column(text, span.start));
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        config.target_origins = config
            .targets
            .iter()
            .flatten()
            .map(|entry| Origin::Settings {
                file: path.to_path_buf(),
                line: line_column(text, entry.span().start).0,
            })
            .collect();
        Ok(config)
    }

    /// The `targets` entries, each with the line it is on; `None` when the key is absent.
    pub fn target_requests(&self) -> Option<Vec<TargetRequest>> {
        let targets = self.targets.as_ref()?;
        Some(
            targets
                .iter()
                .zip(&self.target_origins)
                .map(|(entry, origin)| {
                    let (spec, pipelines, title) = match entry.get_ref() {
                        TargetSetting::Spec(spec) => (spec.clone(), Vec::new(), None),
                        TargetSetting::Table(t) => {
                            (t.target.clone(), t.pipelines.clone(), t.title.clone())
                        }
                    };
                    TargetRequest {
                        spec,
                        pipelines,
                        title,
                        origin: origin.clone(),
                        base: self.folder.clone(),
                    }
                })
                .collect(),
        )
    }

    fn resolve_paths(&mut self, folder: &Path) {
        if folder.as_os_str().is_empty() {
            return;
        }
        // Pipeline files of target entries are resolved when the entries are, where a
        // built-in pipeline's name can be told from a file name.
        self.folder = Some(folder.to_path_buf());
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
        assert_eq!(config.templates, None);
        let requests = config.target_requests().expect("the starter names targets");
        let specs: Vec<&str> = requests.iter().map(|r| r.spec.as_str()).collect();
        assert_eq!(
            specs,
            [
                "lucene+ecs_windows",
                "eql+ecs_windows",
                "splunk+sysmon+splunk_windows",
                "kusto+microsoft_xdr"
            ]
        );
        assert_eq!(
            requests[2].origin,
            Origin::Settings {
                file: PathBuf::from("sigwiki.toml"),
                line: STARTER
                    .lines()
                    .position(|l| l.contains("\"splunk+sysmon+splunk_windows\""))
                    .expect("the splunk entry")
                    + 1,
            }
        );
        // Every entry names a target and pipelines this build has.
        let targets = crate::site::targets::resolve(Some(&requests), &[]).expect("resolves");
        assert_eq!(targets[2].title, "Splunk SPL (Sysmon, Windows add-on)");
        assert_eq!(targets[2].pipelines, ["sysmon", "splunk_windows"]);
        assert_eq!(targets[3].title, "Microsoft Defender XDR (KQL)");
        assert_eq!(targets[3].pipelines, ["microsoft_xdr"]);
    }

    #[test]
    fn target_entries_are_strings_or_tables_with_their_lines() {
        let text = "targets = [\n  \"es-qs\",\n  { target = \"splunk\", pipelines = [\"a+b.yml\"], title = \"S\" },\n]\n";
        let config = Config::parse(text, Path::new("s.toml")).expect("parses");
        let requests = config.target_requests().expect("targets");
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[1].spec, "splunk");
        assert_eq!(requests[1].pipelines, ["a+b.yml"]);
        assert_eq!(requests[1].title.as_deref(), Some("S"));
        let lines: Vec<String> = requests.iter().map(|r| r.origin.to_string()).collect();
        assert_eq!(lines, ["s.toml:2", "s.toml:3"]);
        let err = Config::parse(
            "targets = [{ target = \"es-qs\", titel = \"x\" }]\n",
            Path::new("s.toml"),
        )
        .expect_err("unknown key of an entry");
        assert!(err.to_string().contains("titel"), "{err}");
    }

    #[test]
    fn pipeline_files_of_entries_follow_the_file_and_built_in_names_stay_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sigwiki.toml");
        std::fs::write(&path, "targets = [\"splunk+sysmon+p/mine.yml\"]\n").expect("write");
        let config = Config::load(&path).expect("load");
        let requests = config.target_requests().expect("targets");
        assert_eq!(requests[0].base.as_deref(), Some(dir.path()));
        let err = crate::site::targets::resolve(Some(&requests), &[]).expect_err("no file");
        let message = err.to_string();
        // The missing file is named as written, on the entry's line; `sysmon` was found.
        assert!(
            message.starts_with(&format!(
                "{}:1: target entry `splunk+sysmon+p/mine.yml`: unknown pipeline `p/mine.yml`",
                path.display()
            )),
            "{message}"
        );
        std::fs::create_dir(dir.path().join("p")).expect("mkdir");
        std::fs::write(
            dir.path().join("p/mine.yml"),
            "name: mine\ntransformations:\n  - type: field_name_prefix\n    prefix: x.\n",
        )
        .expect("write");
        let targets = crate::site::targets::resolve(Some(&requests), &[]).expect("resolves");
        assert_eq!(targets[0].pipelines, ["sysmon", "p/mine.yml"]);
        assert_eq!(targets[0].title, "Splunk SPL (sysmon + p/mine.yml)");
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
