//! Finding rule files: walks the given files and folders for `.yml`/`.yaml` files in sorted
//! path order, following symbolic links only while they stay inside the folder being walked.

use std::path::{Path, PathBuf};

use thiserror::Error;
use walkdir::WalkDir;

use crate::sigma::{Code, Diagnostic};

/// A rule file to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputFile {
    /// The path to open.
    pub path: PathBuf,
    /// The path relative to the folder it was found under; for a file given directly, its
    /// file name.
    pub relative: PathBuf,
}

/// What a walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Rule files, sorted by path.
    pub files: Vec<InputFile>,
    /// Paths skipped, with the reason.
    pub skipped: Vec<Diagnostic>,
}

/// A path argument that cannot be walked at all.
#[derive(Debug, Error)]
pub enum WalkError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {source}")]
    Unreadable {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Whether `path` has a rule file extension.
pub fn is_rule_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    )
}

/// Collects the rule files under `inputs` (files or folders).
pub fn walk(inputs: &[PathBuf]) -> Result<Walk, WalkError> {
    let mut out = Walk::default();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| WalkError::Unreadable {
            path: input.clone(),
            source,
        })?;
        if meta.is_file() {
            out.files.push(InputFile {
                path: input.clone(),
                relative: input
                    .file_name()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| input.clone()),
            });
            continue;
        }
        walk_folder(input, &mut out);
    }
    Ok(out)
}

fn walk_folder(root: &Path, out: &mut Walk) {
    let canonical_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let skip = |out: &mut Walk, path: &Path, message: String| {
        out.skipped
            .push(Diagnostic::for_file(path, Code::SkippedPath, message));
    };
    let mut walker = WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let dangling = std::fs::symlink_metadata(&path)
                    .is_ok_and(|m| m.file_type().is_symlink())
                    && std::fs::metadata(&path).is_err();
                let message = if e.loop_ancestor().is_some() {
                    "symbolic link loop, not followed".to_string()
                } else if dangling {
                    "broken symbolic link: its target does not exist".to_string()
                } else {
                    format!(
                        "cannot read: {}",
                        e.io_error()
                            .map_or_else(|| e.to_string(), |io| io.to_string())
                    )
                };
                skip(out, &path, message);
                continue;
            }
        };
        let path = entry.path();
        if entry.path_is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(&canonical_root) => {}
                Ok(target) => {
                    skip(
                        out,
                        path,
                        format!(
                            "symbolic link to {} leaves the input folder, not followed",
                            target.display()
                        ),
                    );
                    if entry.file_type().is_dir() {
                        walker.skip_current_dir();
                    }
                    continue;
                }
                Err(e) => {
                    skip(out, path, format!("broken symbolic link: {e}"));
                    continue;
                }
            }
        }
        if !is_rule_file(path) || entry.file_type().is_dir() {
            continue;
        }
        if !entry.file_type().is_file() {
            // A FIFO, socket or device named like a rule: reading it could block forever or
            // never end, so it is reported and left alone.
            skip(out, path, "not a regular file, not read".to_string());
            continue;
        }
        if path.to_str().is_none() {
            skip(
                out,
                path,
                "file name is not valid UTF-8; rename it to include it".to_string(),
            );
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(path).to_path_buf();
        out.files.push(InputFile {
            path: path.to_path_buf(),
            relative,
        });
    }
}
