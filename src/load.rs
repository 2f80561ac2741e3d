//! Loading a rule set: walk the inputs, parse every file in parallel, resolve references.

use std::path::PathBuf;

use crate::sigma::{Diagnostic, ParseOptions, RuleFile, RuleSet, parse_file};
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
