//! Loading a rule set: walk the inputs, parse every file in parallel, resolve references.

use std::path::PathBuf;

use crate::sigma::{Diagnostic, ParseOptions, RuleSet, parse_file};
use crate::walk::{WalkError, par_map_files};

/// A loaded rule set and the paths the walk skipped.
#[derive(Debug)]
pub struct Loaded {
    /// The parsed files.
    pub rules: RuleSet,
    /// Diagnostics about skipped paths.
    pub skipped: Vec<Diagnostic>,
}

/// Walks `inputs` and parses every rule file found, in parallel with the walk.
pub fn load(inputs: &[PathBuf], options: &ParseOptions) -> Result<Loaded, WalkError> {
    let (files, skipped) = par_map_files(inputs, |input| {
        parse_file(&input.path, &input.relative, options)
    })?;
    Ok(Loaded {
        rules: RuleSet::new(files),
        skipped,
    })
}
