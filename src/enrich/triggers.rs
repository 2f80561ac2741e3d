//! Triggers: the Atomic Red Team tests that exercise a technique, so a detection can be tried.
//!
//! The embedded dataset (`data/atomic-red-team.json`, produced by
//! `sigwiki data import-atomics`) holds only facts: which technique IDs have tests and how many.
//! With a local atomic-red-team checkout (`--atomics DIR`) the tests themselves are read from
//! `atomics/<TID>/<TID>.yaml`: each test's name, GUID and platforms.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

/// The dataset compiled into the binary.
const EMBEDDED_JSON: &str = include_str!("../../data/atomic-red-team.json");

/// Where a technique's Atomic Red Team page is.
pub fn atomic_url(technique_id: &str) -> String {
    format!(
        "https://github.com/redcanaryco/atomic-red-team/blob/master/atomics/{technique_id}/{technique_id}.md"
    )
}

/// One Atomic Red Team test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtomicTest {
    /// The test's name.
    pub name: String,
    /// Its `auto_generated_guid` (empty when the file has none).
    pub guid: String,
    /// `supported_platforms` (`windows`, `linux`, `macos`, `iaas:aws`, …).
    pub platforms: Vec<String>,
    /// The executor (`powershell`, `command_prompt`, `sh`, …), when given.
    pub executor: Option<String>,
}

/// The trigger of a technique: its Atomic Red Team tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// The technique ID (`T1218.011`).
    pub technique_id: String,
    /// How many tests the technique has.
    pub test_count: usize,
    /// The technique's Atomic Red Team page.
    pub url: String,
    /// The tests, when read from a local checkout (empty with the embedded dataset).
    pub tests: Vec<AtomicTest>,
}

/// The serialized form of the embedded dataset: `data/atomic-red-team.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtomicIndex {
    /// Where the facts come from (repository and licence), for attribution.
    pub source: String,
    /// Test count by technique ID.
    pub techniques: BTreeMap<String, usize>,
}

impl AtomicIndex {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<AtomicIndex, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The JSON form: deterministic, one technique per line.
    pub fn to_json(&self) -> String {
        let source = serde_json::to_string(&self.source).unwrap_or_default();
        let mut out = format!("{{\"source\":{source},\"techniques\":{{\n");
        let last = self.techniques.len().saturating_sub(1);
        for (i, (id, count)) in self.techniques.iter().enumerate() {
            let id = serde_json::to_string(id).unwrap_or_default();
            out.push_str(&format!("{id}:{count}"));
            if i < last {
                out.push(',');
            }
            out.push('\n');
        }
        out.push_str("}}\n");
        out
    }
}

/// A problem with an atomic-red-team checkout.
#[derive(Debug, thiserror::Error)]
pub enum AtomicsError {
    /// A file or folder cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The folder holds no `atomics/Txxxx/Txxxx.yaml` files.
    #[error(
        "{}: no Atomic Red Team tests found (expected atomics/Txxxx/Txxxx.yaml)",
        path.display()
    )]
    NoAtomics {
        /// The folder.
        path: PathBuf,
    },
    /// A test file is invalid.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Technique → trigger lookup.
#[derive(Debug, Clone, Default)]
pub struct Triggers {
    counts: BTreeMap<String, usize>,
    tests: BTreeMap<String, Vec<AtomicTest>>,
    source: String,
}

static EMBEDDED: LazyLock<Triggers> = LazyLock::new(|| {
    // The embedded file is part of the build; `tests/enrich_triggers.rs` proves it parses.
    let index = AtomicIndex::from_json(EMBEDDED_JSON).unwrap_or(AtomicIndex {
        source: String::new(),
        techniques: BTreeMap::new(),
    });
    Triggers {
        counts: index.techniques,
        tests: BTreeMap::new(),
        source: index.source,
    }
});

impl Triggers {
    /// The embedded technique index, parsed on first use.
    pub fn embedded() -> &'static Triggers {
        &EMBEDDED
    }

    /// The triggers of a local atomic-red-team checkout: `dir` is the checkout (holding
    /// `atomics/`) or its `atomics` folder. Replaces the embedded index, so pages match the
    /// checkout's version.
    pub fn with_atomics_dir(dir: &Path) -> Result<Triggers, AtomicsError> {
        let tests = read_atomics_dir(dir)?;
        Ok(Triggers {
            counts: tests.iter().map(|(k, v)| (k.clone(), v.len())).collect(),
            tests,
            source: format!("Atomic Red Team checkout at {}", dir.display()),
        })
    }

    /// The trigger of a technique (`T1218.011`; case-insensitive), if it has tests.
    pub fn for_technique(&self, technique_id: &str) -> Option<Trigger> {
        let id = technique_id.trim().to_ascii_uppercase();
        let count = *self.counts.get(&id)?;
        if count == 0 {
            return None;
        }
        Some(Trigger {
            url: atomic_url(&id),
            test_count: count,
            tests: self.tests.get(&id).cloned().unwrap_or_default(),
            technique_id: id,
        })
    }

    /// Every technique ID with tests, sorted.
    pub fn technique_ids(&self) -> impl Iterator<Item = &str> {
        self.counts.keys().map(String::as_str)
    }

    /// Where the index comes from, for attribution.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// One `atomics/<TID>/<TID>.yaml` file, as far as sigwiki reads it.
#[derive(Debug, Deserialize)]
struct AtomicFile {
    #[serde(default)]
    attack_technique: Option<String>,
    #[serde(default)]
    atomic_tests: Vec<AtomicTestSpec>,
}

#[derive(Debug, Deserialize)]
struct AtomicTestSpec {
    name: String,
    #[serde(default)]
    auto_generated_guid: Option<String>,
    #[serde(default)]
    supported_platforms: Vec<String>,
    #[serde(default)]
    executor: Option<ExecutorSpec>,
}

#[derive(Debug, Deserialize)]
struct ExecutorSpec {
    #[serde(default)]
    name: Option<String>,
}

/// Whether a folder name is a technique ID (`T1234` or `T1234.001`).
pub fn is_technique_id(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(main, 4) && sub.is_none_or(|s| digits(s, 3))
}

/// The `atomics` folder of a checkout (`dir/atomics`) or `dir` itself when it is one.
pub fn atomics_folder(dir: &Path) -> Option<PathBuf> {
    let nested = dir.join("atomics");
    if nested.is_dir() {
        return Some(nested);
    }
    let has_techniques = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .any(|e| e.file_name().to_str().is_some_and(is_technique_id) && e.path().is_dir());
    has_techniques.then(|| dir.to_path_buf())
}

/// Reads every `atomics/<TID>/<TID>.yaml` of a checkout: technique ID → tests in file order.
pub fn read_atomics_dir(dir: &Path) -> Result<BTreeMap<String, Vec<AtomicTest>>, AtomicsError> {
    let folder = atomics_folder(dir).ok_or_else(|| AtomicsError::NoAtomics {
        path: dir.to_path_buf(),
    })?;
    let entries = std::fs::read_dir(&folder).map_err(|source| AtomicsError::Io {
        path: folder.clone(),
        source,
    })?;
    let mut techniques: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|name| is_technique_id(name))
        .collect();
    techniques.sort();
    let mut out = BTreeMap::new();
    for technique in techniques {
        let path = folder.join(&technique).join(format!("{technique}.yaml"));
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| AtomicsError::Io {
            path: path.clone(),
            source,
        })?;
        let file: AtomicFile = serde_yaml::from_str(&text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            AtomicsError::Invalid {
                path: path.clone(),
                line,
                column,
                message: strip_location(&e.to_string()),
            }
        })?;
        if let Some(declared) = &file.attack_technique
            && !declared.trim().eq_ignore_ascii_case(&technique)
        {
            return Err(AtomicsError::Invalid {
                path,
                line: 1,
                column: 1,
                message: format!(
                    "attack_technique `{declared}` does not match the folder name `{technique}`"
                ),
            });
        }
        let tests = file
            .atomic_tests
            .into_iter()
            .map(|t| AtomicTest {
                name: t.name,
                guid: t.auto_generated_guid.unwrap_or_default(),
                platforms: t.supported_platforms,
                executor: t.executor.and_then(|e| e.name),
            })
            .collect::<Vec<_>>();
        if !tests.is_empty() {
            out.insert(technique, tests);
        }
    }
    if out.is_empty() {
        return Err(AtomicsError::NoAtomics {
            path: dir.to_path_buf(),
        });
    }
    Ok(out)
}

/// serde_yaml appends " at line L column C" to messages; the error carries them separately.
fn strip_location(message: &str) -> String {
    let end = message.rfind(" at line ").unwrap_or(message.len());
    message.get(..end).unwrap_or(message).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_ids() {
        assert!(is_technique_id("T1218"));
        assert!(is_technique_id("T1218.011"));
        assert!(!is_technique_id("T12180"));
        assert!(!is_technique_id("T1218.11"));
        assert!(!is_technique_id("Indexes"));
    }

    #[test]
    fn index_json_round_trips() {
        let index = AtomicIndex {
            source: "x".into(),
            techniques: [("T1003".to_string(), 2), ("T1218.011".to_string(), 14)]
                .into_iter()
                .collect(),
        };
        let json = index.to_json();
        assert_eq!(
            json,
            "{\"source\":\"x\",\"techniques\":{\n\"T1003\":2,\n\"T1218.011\":14\n}}\n"
        );
        assert_eq!(AtomicIndex::from_json(&json).unwrap(), index);
    }
}
