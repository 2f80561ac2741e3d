//! What the parity tests share (`tests/parity.rs`, `tests/pipeline_parity.rs`,
//! `tests/pipeline_parity_kusto.rs`): the corpus loaded once per test binary, the reference
//! outputs of `../shared/oracle/`, the committed lists (deviations with their reasons,
//! references a real parser rejects) and the tally that compares ours with a reference and
//! fails on anything unlisted, on a listed rule that no longer differs and on low parity.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sigwiki::load::{Loaded, load};
use sigwiki::sigma::{ParseOptions, RuleFile};

/// Required share of byte-identical outputs, over the rules whose reference is valid.
pub const REQUIRED_PARITY: f64 = 0.995;

/// How many unlisted differences a failure shows in full.
const SHOWN: usize = 15;

/// The shared folder and the SigmaHQ corpus loaded from it, once per test binary; `None`
/// (after a `skipped:` note naming `what`) without the shared folder.
pub fn corpus_or_skip(what: &str) -> Option<&'static (PathBuf, Loaded)> {
    static CORPUS: OnceLock<Option<(PathBuf, Loaded)>> = OnceLock::new();
    let corpus = CORPUS
        .get_or_init(|| {
            let shared = super::shared_dir()?;
            let loaded = load(&[shared.join("corpus/sigmahq")], &ParseOptions::default())
                .expect("corpus loads");
            Some((shared, loaded))
        })
        .as_ref();
    if corpus.is_none() {
        eprintln!(
            "skipped: {what} needs the shared corpus and oracle (set SIGWIKI_SHARED or put it at ../shared)"
        );
    }
    corpus
}

/// A file of the repository, by its path from the crate root.
pub fn manifest_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The name a reference gives a corpus rule: its path below the corpus, with `/`.
pub fn rule_name(file: &RuleFile) -> String {
    file.relative.to_string_lossy().replace('\\', "/")
}

/// What a reference converter printed for one rule.
#[derive(Debug)]
pub struct Reference {
    /// `ok`, `err` or `empty` (nothing printed).
    pub status: String,
    /// The query, for `ok`.
    pub output: String,
    /// The converter's message, for `err`.
    pub error: String,
}

/// Rule name → reference, from a gzipped JSON Lines file of the oracle.
pub fn read_references(path: &Path) -> HashMap<String, Reference> {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("reference {} opens: {e}", path.display()));
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut out = HashMap::new();
    for line in reader.lines() {
        let line = line.expect("reference line reads");
        let v: serde_json::Value = serde_json::from_str(&line).expect("reference line is JSON");
        let text = |key: &str| v[key].as_str().unwrap_or_default().to_string();
        out.insert(
            text("rule"),
            Reference {
                status: text("status"),
                output: text("output"),
                error: text("error"),
            },
        );
    }
    out
}

/// The rules listed under `key` of a JSON file of lists (`reference-unparseable.json`): empty
/// when the file or the key is absent, unless `required`, which names how to make the list.
pub fn listed_rules(path: &Path, key: &str, required: Option<&str>) -> BTreeSet<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => match required {
            Some(how) => panic!("{} reads ({e}): {how}", path.display()),
            None => return BTreeSet::new(),
        },
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    match v[key].as_array() {
        Some(list) => list
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        None => match required {
            Some(how) => panic!("{} has no list for {key}: {how}", path.display()),
            None => BTreeSet::new(),
        },
    }
}

/// Rule → reason of the rows of a deviation list (`rule \t label \t why`) for `label`. A row
/// without a reason is not a deviation.
pub fn deviations(path: &Path, label: &str) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let (rule, p, why) = (parts.next()?, parts.next()?, parts.next()?);
            (p == label && !why.trim().is_empty()).then(|| (rule.to_string(), why.to_string()))
        })
        .collect()
}

/// The comparison of one target (or target and pipelines) with its reference over the corpus.
pub struct Tally {
    /// `target` or `target+pipeline…`, as the lists name it.
    pub label: String,
    /// The deviation list, named in failures.
    list_file: PathBuf,
    /// The listed deviations of `label`.
    pub listed: BTreeMap<String, String>,
    /// Rules whose reference a real parser rejects: ours must differ, and they are not counted.
    unparseable: BTreeSet<String>,
    /// Rules compared.
    pub compared: usize,
    /// Rules where ours is byte-identical.
    pub identical: usize,
    unlisted: Vec<String>,
    stale: Vec<String>,
    must_differ_but_same: Vec<String>,
}

impl Tally {
    /// A tally of `label` against the deviations of `list_file` (a path from the crate root).
    pub fn new(label: &str, list_file: &str, unparseable: BTreeSet<String>) -> Tally {
        let list_file = manifest_file(list_file);
        Tally {
            label: label.to_string(),
            listed: deviations(&list_file, label),
            list_file,
            unparseable,
            compared: 0,
            identical: 0,
            unlisted: Vec::new(),
            stale: Vec::new(),
            must_differ_but_same: Vec::new(),
        }
    }

    /// Compares ours with a reference query (both trailing-whitespace trimmed); an error of ours
    /// counts as a difference.
    pub fn compare_query<E: std::fmt::Display>(
        &mut self,
        rule: &str,
        expected: &str,
        ours: &Result<String, E>,
    ) {
        let expected = expected.trim_end();
        let ours = match ours {
            Ok(o) => o.trim_end().to_string(),
            Err(e) => format!("<error: {e}>"),
        };
        if self.unparseable.contains(rule) {
            if ours == expected {
                self.must_differ_but_same.push(rule.to_string());
            }
            return;
        }
        self.compared += 1;
        if ours == expected {
            self.identical += 1;
            self.outcome(rule, None);
        } else {
            self.outcome(
                rule,
                Some(format!("expected: {expected}\n  ours:     {ours}")),
            );
        }
    }

    /// Records the outcome of a rule checked some other way: `None` when ours agrees with the
    /// reference, else what differs. A listed rule must differ; an unlisted one must not.
    pub fn outcome(&mut self, rule: &str, difference: Option<String>) {
        match (difference, self.listed.contains_key(rule)) {
            (None, true) => self.stale.push(rule.to_string()),
            (None, false) | (Some(_), true) => {}
            (Some(why), false) => self.unlisted.push(format!("{rule}\n  {why}")),
        }
    }

    /// The share of byte-identical outputs.
    pub fn parity(&self) -> f64 {
        self.identical as f64 / self.compared.max(1) as f64
    }

    /// Prints the figures (and `more`), then fails on unlisted differences, stale list rows,
    /// repeated unparseable references and parity below [`REQUIRED_PARITY`].
    pub fn finish(self, more: &str) {
        let label = &self.label;
        eprintln!(
            "{label}: {}/{} byte-identical ({:.2}%), {} listed deviations, {} reference outputs left out as unparseable{more}",
            self.identical,
            self.compared,
            self.parity() * 100.0,
            self.listed.len(),
            self.unparseable.len(),
        );
        let shown: Vec<&str> = self
            .unlisted
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect();
        assert!(
            self.unlisted.is_empty(),
            "{label}: {} differences not listed in {}, e.g.:\n{}",
            self.unlisted.len(),
            self.list_file.display(),
            shown.join("\n")
        );
        assert!(
            self.stale.is_empty(),
            "{label}: listed deviations that no longer differ: {:?}",
            self.stale
        );
        assert!(
            self.must_differ_but_same.is_empty(),
            "{label}: ours repeats a reference output that does not parse: {:?}",
            self.must_differ_but_same
        );
        assert!(
            self.parity() >= REQUIRED_PARITY,
            "{label}: parity {:.2}% is below {:.1}%",
            self.parity() * 100.0,
            REQUIRED_PARITY * 100.0
        );
    }
}
