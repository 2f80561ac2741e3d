//! Converting a whole folder of rules with little memory: what `sigwiki convert` runs.
//!
//! Only correlation rules need other files (the rules they count or order), so most files are
//! parsed, converted and dropped on the worker thread that read them; just the files the
//! rule set has to see together stay in memory: correlations and filters, rules with a
//! `name` (a duplicate name is an error only the whole set can find) and, read a second time,
//! the rules a correlation refers to. Peak memory stays near that of one file per thread
//! instead of the whole parsed corpus, and on this kind of machine first-touching fresh memory
//! was a third of a conversion's time.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::mapping::FieldMapping;
use super::{Backend, ConvertError, Preprocess, convert_file_output};
use crate::load::parse_input;
use crate::pipeline::Chain;
use crate::sigma::{Diagnostic, ParseOptions, RuleFile, RuleSet, SigmaKind, parse_file};
use crate::walk::{WalkError, par_map_files};

/// One rule file's conversion.
#[derive(Debug)]
pub struct Converted {
    /// The file's path as found or given.
    pub path: PathBuf,
    /// The path relative to the folder it was found under.
    pub relative: PathBuf,
    /// The file's queries, joined as the backend prints a file, or why there are none.
    pub result: Result<String, ConvertError>,
}

/// Every file's conversion, in path order, and the paths the walk skipped.
#[derive(Debug)]
pub struct Batch {
    /// The conversions, sorted by path.
    pub converted: Vec<Converted>,
    /// Diagnostics about skipped paths.
    pub skipped: Vec<Diagnostic>,
    /// YAML files found in folders that are not Sigma documents, left out.
    pub not_rules: Vec<PathBuf>,
}

/// A file after the first pass: converted on its own, or kept for the rule set.
enum FirstPass {
    Done {
        converted: Converted,
        /// The `id`s of its documents, in case a correlation refers to one.
        ids: Vec<String>,
    },
    Kept(RuleFile),
    /// Read before the pipelines were loaded: converted once they are.
    Waiting(RuleFile),
    /// Not a Sigma document: left out.
    NotARule(PathBuf),
}

/// Walks `inputs` and converts every rule file with `backend` (after `mapping`, if any).
pub fn convert_inputs(
    inputs: &[PathBuf],
    options: &ParseOptions,
    backend: &dyn Backend,
    mapping: Option<&FieldMapping>,
) -> Result<Batch, WalkError> {
    let preprocess = mapping.map_or(Preprocess::None, Preprocess::Mapping);
    convert_inputs_with(inputs, options, backend, preprocess)
}

/// What is applied to every document of a batch: known now, or pipelines still being loaded
/// on another thread.
///
/// A large pipeline file takes tens of milliseconds to load (Azure Monitor's lists the columns of
/// hundreds of tables), as long as reading a few hundred rules: the rules are read meanwhile,
/// and those read before the pipelines are ready are converted once they are.
#[derive(Debug, Clone, Copy)]
pub enum Prepared<'a> {
    /// Ready.
    Now(Preprocess<'a>),
    /// Being loaded: the loader sets the cell once (to an empty chain should loading fail, so
    /// that the batch ends and its caller can report the failure).
    Loading(&'a OnceLock<Chain>),
}

impl<'a> Prepared<'a> {
    fn ready(self) -> Option<Preprocess<'a>> {
        match self {
            Prepared::Now(preprocess) => Some(preprocess),
            Prepared::Loading(cell) => cell.get().map(Preprocess::Pipelines),
        }
    }

    fn wait(self) -> Preprocess<'a> {
        match self {
            Prepared::Now(preprocess) => preprocess,
            Prepared::Loading(cell) => Preprocess::Pipelines(cell.wait()),
        }
    }
}

/// [`convert_inputs`] with `preprocess` (a mapping or pipelines) applied to every document.
pub fn convert_inputs_with(
    inputs: &[PathBuf],
    options: &ParseOptions,
    backend: &dyn Backend,
    preprocess: Preprocess<'_>,
) -> Result<Batch, WalkError> {
    convert_inputs_prepared(inputs, options, backend, Prepared::Now(preprocess))
}

/// [`convert_inputs_with`] with preprocessing that may still be in the making.
pub fn convert_inputs_prepared(
    inputs: &[PathBuf],
    options: &ParseOptions,
    backend: &dyn Backend,
    prepared: Prepared<'_>,
) -> Result<Batch, WalkError> {
    let alone = RuleSet::default();
    let (first, skipped) = par_map_files(inputs, |input| {
        let file = match parse_input(&input, options) {
            Ok(file) => file,
            Err(path) => return FirstPass::NotARule(path),
        };
        if needs_the_rule_set(&file) {
            return FirstPass::Kept(file);
        }
        match prepared.ready() {
            Some(preprocess) => {
                let (converted, ids) = convert_alone(backend, file, &alone, preprocess);
                FirstPass::Done { converted, ids }
            }
            None => FirstPass::Waiting(file),
        }
    })?;

    let mut kept = Vec::new();
    let mut done = Vec::new();
    let mut waiting = Vec::new();
    let mut not_rules = Vec::new();
    for pass in first {
        match pass {
            FirstPass::Kept(file) => kept.push(file),
            FirstPass::Done { converted, ids } => done.push((converted, ids)),
            FirstPass::Waiting(file) => waiting.push(file),
            FirstPass::NotARule(path) => not_rules.push(path),
        }
    }
    let preprocess = prepared.wait();
    done.par_extend(
        waiting
            .into_par_iter()
            .map(|file| convert_alone(backend, file, &alone, preprocess)),
    );
    // A filter with `rules: any` may tune any rule: every file is read again for it.
    let any_rule_filter = kept
        .iter()
        .flat_map(|file| &file.documents)
        .any(|document| matches!(&document.kind, SigmaKind::Filter(f) if f.filter.all_rules));
    // The rules correlations refer to (by id: a rule with a name was kept) are read again, so
    // the rule set resolves exactly as it would with every file; their queries are done.
    let referenced: HashSet<&str> = kept
        .iter()
        .flat_map(|file| &file.documents)
        .flat_map(|document| match &document.kind {
            SigmaKind::Correlation(c) => c.correlation.rules.as_slice(),
            SigmaKind::Filter(f) => f.filter.rules.as_slice(),
            SigmaKind::Rule(_) => &[],
        })
        .map(|r| r.reference.as_str())
        .collect();
    let again: Vec<RuleFile> = done
        .par_iter()
        .filter(|(_, ids)| any_rule_filter || ids.iter().any(|id| referenced.contains(id.as_str())))
        .map(|(c, _)| parse_file(&c.path, &c.relative, options))
        .collect();
    let mut to_convert: HashSet<PathBuf> = kept.iter().map(|f| f.path.clone()).collect();
    kept.extend(again);
    let rules = RuleSet::new(kept);
    // A rule read again changes when a filter tunes it or a correlation uses its query: its
    // first conversion, made without the rule set, is replaced.
    for file in &rules.files {
        let changed = file.documents.iter().any(|document| {
            !rules.filters_of(file, document).is_empty()
                || rules.is_used_by_correlation(file, document)
        });
        if changed {
            to_convert.insert(file.path.clone());
        }
    }
    let mut converted: Vec<Converted> = rules
        .files
        .par_iter()
        .filter(|file| to_convert.contains(&file.path))
        .map(|file| Converted {
            path: file.path.clone(),
            relative: file.relative.clone(),
            result: convert_file_output(backend, file, &rules, preprocess),
        })
        .collect();
    converted.extend(
        done.into_iter()
            .map(|(c, _)| c)
            .filter(|c| !to_convert.contains(&c.path)),
    );
    converted.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Batch {
        converted,
        skipped,
        not_rules,
    })
}

/// Converts a file that needs no other file, keeping the `id`s of its documents in case a
/// correlation refers to one.
fn convert_alone(
    backend: &dyn Backend,
    file: RuleFile,
    alone: &RuleSet,
    preprocess: Preprocess<'_>,
) -> (Converted, Vec<String>) {
    let ids = file
        .documents
        .iter()
        .filter_map(|d| d.kind.meta().id.clone())
        .collect();
    let result = convert_file_output(backend, &file, alone, preprocess);
    let converted = Converted {
        path: file.path,
        relative: file.relative,
        result,
    };
    (converted, ids)
}

/// Whether converting `file` needs the other files: it holds a correlation or a filter, or
/// names a document (names must be unique across the set).
fn needs_the_rule_set(file: &RuleFile) -> bool {
    file.documents
        .iter()
        .any(|d| !matches!(d.kind, SigmaKind::Rule(_)) || d.kind.meta().name.is_some())
}
