//! Loading a rule set: walk the inputs, parse every file in parallel, resolve references; for
//! a large rule set, keep only what references and filters need of most files
//! ([`load_compact`]), to be read again when a page needs the rest.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::sigma::{
    Detection, Diagnostic, Metadata, ParseOptions, RuleFile, RuleSet, SigmaKind, parse_file,
};
use crate::walk::{InputFile, WalkError, par_map_files};

/// A loaded rule set and the paths the walk skipped.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The parsed files.
    pub rules: RuleSet,
    /// Diagnostics about skipped paths.
    pub skipped: Vec<Diagnostic>,
    /// YAML files found in a folder that are not Sigma documents (workflows, configurations,
    /// regression `info.yml`), left out without a diagnostic; listed with `-v`.
    pub not_rules: Vec<PathBuf>,
}

/// Parses one walked file; a file found in a folder that turns out not to be a Sigma document
/// comes back as its path, to be left out.
pub fn parse_input(input: &InputFile, options: &ParseOptions) -> Result<RuleFile, PathBuf> {
    let file = parse_file(&input.path, &input.relative, options);
    if !input.explicit && file.is_skippable() {
        return Err(file.path);
    }
    Ok(file)
}

/// Walks `inputs` and parses every rule file found, in parallel with the walk.
pub fn load(inputs: &[PathBuf], options: &ParseOptions) -> Result<Loaded, WalkError> {
    let (parsed, skipped) = par_map_files(inputs, |input| parse_input(&input, options))?;
    let mut files = Vec::with_capacity(parsed.len());
    let mut not_rules = Vec::new();
    for result in parsed {
        match result {
            Ok(file) => files.push(file),
            Err(path) => not_rules.push(path),
        }
    }
    Ok(Loaded {
        rules: RuleSet::new(files),
        skipped,
        not_rules,
    })
}

/// A rule set loaded compactly (see [`load_compact`]), with what the caller made of each file.
#[derive(Debug)]
pub struct Compact<T> {
    /// The rule set; the documents of the files marked in `stubbed` are stubs (see [`stub`]).
    pub loaded: Loaded,
    /// Per file of `loaded.rules`, in its order: what `extract` made of the whole file.
    pub extracted: Vec<T>,
    /// Per file: whether it is held as a stub, to be read again (see [`reload`]) when its
    /// detection or text is needed.
    pub stubbed: Vec<bool>,
}

/// Walks `inputs` and parses every rule file like [`load`]; a rule set larger than `above`
/// files is then held compactly: `extract` is given every whole file once, on the worker that
/// parsed it, and the documents of plain detection rules are kept as stubs (id, name, title,
/// relations, log source and custom keys, for references to be resolved and filters matched)
/// instead of their parsed detections and text. Correlations and filters, and the rules they
/// refer to, are kept whole. `None` when the rule set has no more than `above` files: then
/// nothing is stubbed and the result is [`load`]'s.
pub fn load_compact<T, F>(
    inputs: &[PathBuf],
    options: &ParseOptions,
    above: usize,
    extract: F,
) -> Result<Result<Compact<T>, Loaded>, WalkError>
where
    T: Send,
    F: Fn(&RuleFile) -> T + Sync,
{
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Files are kept whole until `above` of them have been parsed: a small rule set never pays
    // for stubs, and a large one holds no more than `above` whole files at a time while loading.
    let parsed_so_far = AtomicUsize::new(0);
    let (parsed, skipped) = par_map_files(inputs, |input| {
        let file = parse_input(&input, options)?;
        if parsed_so_far.fetch_add(1, Ordering::Relaxed) < above {
            return Ok((file, None));
        }
        let extracted = extract(&file);
        Ok((stub(file), Some(extracted)))
    })?;
    let mut files = Vec::with_capacity(parsed.len());
    let mut not_rules = Vec::new();
    for result in parsed {
        match result {
            Ok(file) => files.push(file),
            Err(path) => not_rules.push(path),
        }
    }
    if files.len() <= above {
        let files = files.into_iter().map(|(file, _)| file).collect();
        return Ok(Err(Loaded {
            rules: RuleSet::new(files),
            skipped,
            not_rules,
        }));
    }
    let mut files: Vec<(RuleFile, T, bool)> = files
        .into_par_iter()
        .map(|(file, extracted)| match extracted {
            Some(extracted) => {
                let stubbed = is_stub(&file);
                (file, extracted, stubbed)
            }
            None => {
                let extracted = extract(&file);
                let file = stub(file);
                let stubbed = is_stub(&file);
                (file, extracted, stubbed)
            }
        })
        .collect();
    // The order of the rule set (it sorts by path), so that `extracted` lines up with it.
    files.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    restore_duplicated_sources(&mut files);
    let mut extracted = Vec::with_capacity(files.len());
    let mut stubbed = Vec::with_capacity(files.len());
    let files: Vec<RuleFile> = files
        .into_iter()
        .map(|(file, e, s)| {
            extracted.push(e);
            stubbed.push(s);
            file
        })
        .collect();
    let mut rules = RuleSet::new(files);
    restore_referenced(&mut rules, &mut stubbed, options);
    Ok(Ok(Compact {
        loaded: Loaded {
            rules,
            skipped,
            not_rules,
        },
        extracted,
        stubbed,
    }))
}

/// Whether `file` has a document that refers to other rules (a correlation or a filter).
fn refers_to_rules(file: &RuleFile) -> bool {
    file.documents
        .iter()
        .any(|d| !matches!(d.kind, SigmaKind::Rule(_)))
}

/// Whether [`stub`] made `file` a stub (it keeps the files that refer to other rules whole).
fn is_stub(file: &RuleFile) -> bool {
    !file.documents.is_empty() && !refers_to_rules(file)
}

/// `file` with what the rule set needs of a detection rule and nothing more: the text and the
/// detections go, and of the metadata only the title, id, name, relations and custom keys
/// stay (the rule set resolves references by id and name and matches filters by log
/// source). A file with a correlation or a filter, or without documents, is kept as it is.
pub fn stub(mut file: RuleFile) -> RuleFile {
    if !is_stub(&file) {
        return file;
    }
    file.source = Arc::from("");
    // A vector grown by pushes keeps room for more: a stub is held for the whole build, and
    // that room was most of its size.
    file.documents.shrink_to_fit();
    file.diagnostics.shrink_to_fit();
    for document in &mut file.documents {
        if let SigmaKind::Rule(rule) = &mut document.kind {
            let meta = std::mem::take(&mut rule.meta);
            rule.meta = Metadata {
                title: meta.title,
                id: meta.id,
                name: meta.name,
                related: meta.related,
                custom: meta.custom,
                ..Metadata::default()
            };
            rule.detection = Detection {
                identifiers: Vec::new(),
                conditions: Vec::new(),
                timeframe: None,
            };
        }
    }
    file
}

/// Reads `stub` (see [`stub`]) again, whole: the diagnostics stay the stub's, which hold
/// what the rule set found across files (duplicate ids, unresolved references) besides the
/// file's own. Reading gives the same file as long as it did not change during the build.
pub fn reload(stub: &RuleFile, options: &ParseOptions) -> RuleFile {
    let mut file = parse_file(&stub.path, &stub.relative, options);
    file.diagnostics.clone_from(&stub.diagnostics);
    file
}

/// Puts the text back into the stubs whose id or name another document uses too: the rule
/// set reports the duplicate at its line in the text.
fn restore_duplicated_sources<T>(files: &mut [(RuleFile, T, bool)]) {
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for (file, _, _) in files.iter() {
        for document in &file.documents {
            let meta = document.kind.meta();
            for key in [&meta.id, &meta.name].into_iter().flatten() {
                *uses.entry(key.as_str()).or_default() += 1;
            }
        }
    }
    let duplicated: Vec<bool> = files
        .iter()
        .map(|(file, _, stubbed)| {
            *stubbed
                && file.documents.iter().any(|d| {
                    let meta = d.kind.meta();
                    [&meta.id, &meta.name]
                        .into_iter()
                        .flatten()
                        .any(|key| uses.get(key.as_str()).is_some_and(|&n| n > 1))
                })
        })
        .collect();
    for ((file, _, _), duplicated) in files.iter_mut().zip(duplicated) {
        if duplicated {
            if let Ok(text) = std::fs::read_to_string(&file.path) {
                // As `parse_source` keeps it: without a byte order mark.
                let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                file.source = Arc::from(text);
            }
        }
    }
}

/// Reads whole again the stubs that correlations and filters refer to or tune: their pages
/// convert them.
fn restore_referenced(rules: &mut RuleSet, stubbed: &mut [bool], options: &ParseOptions) {
    use rayon::prelude::*;
    let mut wanted: HashSet<usize> = HashSet::new();
    for (at, _, document) in rules.documents() {
        let refs = match &document.kind {
            SigmaKind::Correlation(c) => &c.correlation.rules,
            SigmaKind::Filter(f) => &f.filter.rules,
            SigmaKind::Rule(_) => continue,
        };
        for r in refs {
            if let Some(target) = rules.lookup(&r.reference) {
                wanted.insert(target.file);
            }
        }
        wanted.extend(rules.tuned_by(at).iter().map(|t| t.file));
    }
    wanted.retain(|&i| stubbed.get(i).copied().unwrap_or(false));
    let mut wanted: Vec<usize> = wanted.into_iter().collect();
    wanted.sort_unstable();
    let whole: Vec<RuleFile> = wanted
        .par_iter()
        .map(|&i| reload(&rules.files[i], options))
        .collect();
    for (i, file) in wanted.into_iter().zip(whole) {
        rules.files[i] = file;
        stubbed[i] = false;
    }
}
