//! Finding rule files: walks the given files and folders for `.yml`/`.yaml` files in sorted
//! path order, following symbolic links only while they stay inside the folder being walked.
//! Inside a folder, hidden entries (`.github/`, `.git/`) are left out and `.gitignore` files
//! are honoured, so the root of a rule repository walks like its rules; a file named on the
//! command line is always read. [`default_inputs`] picks the folders to walk when none are given.
//!
//! [`walk`] collects what it finds; [`par_map_files`] hands each file to a parallel worker as
//! soon as the walk finds it, so reading the folders overlaps with parsing the files (on a
//! corpus of thousands of rules the walk alone was a tenth of a conversion, spent before any
//! worker started).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

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
    /// Named on the command line rather than found in a folder: such a file is checked
    /// strictly even when it is not a Sigma document at all.
    pub explicit: bool,
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

/// One thing the walk came across, in walk order.
#[derive(Debug)]
pub enum Found {
    /// A rule file to read.
    File(InputFile),
    /// A path left alone, and why.
    Skipped(Diagnostic),
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
    for found in found(inputs)? {
        match found {
            Found::File(file) => out.files.push(file),
            Found::Skipped(diagnostic) => out.skipped.push(diagnostic),
        }
    }
    Ok(out)
}

/// The results of one batch of files handed to a worker (a skipped path as its diagnostic).
type Batch<T> = Vec<Result<T, Diagnostic>>;

/// Walks `inputs` and applies `f` to every rule file on the worker threads while the walk goes
/// on; returns the results and the skipped paths, both in walk order.
pub fn par_map_files<T, F>(inputs: &[PathBuf], f: F) -> Result<(Vec<T>, Vec<Diagnostic>), WalkError>
where
    T: Send,
    F: Fn(InputFile) -> T + Sync + Send,
{
    // The walk runs on one worker and hands out batches of files; the other workers take them
    // as they come. A batch, not a file, is the unit: a task per file cost more in scheduling
    // than the overlap saved.
    const BATCH: usize = 32;
    let walk = found(inputs)?;
    let done: Mutex<Vec<(usize, Batch<T>)>> = Mutex::new(Vec::new());
    rayon::scope(|scope| {
        let (f, done) = (&f, &done);
        let hand_out = |number: usize, batch: Vec<Found>| {
            scope.spawn(move |_| {
                let results = batch
                    .into_iter()
                    .map(|found| match found {
                        Found::File(file) => Ok(f(file)),
                        Found::Skipped(diagnostic) => Err(diagnostic),
                    })
                    .collect();
                done.lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push((number, results));
            });
        };
        let mut batch = Vec::with_capacity(BATCH);
        let mut number = 0;
        for found in walk {
            batch.push(found);
            if batch.len() == BATCH {
                hand_out(
                    number,
                    std::mem::replace(&mut batch, Vec::with_capacity(BATCH)),
                );
                number += 1;
            }
        }
        if !batch.is_empty() {
            hand_out(number, batch);
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    done.sort_unstable_by_key(|(number, _)| *number);
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for result in done.into_iter().flat_map(|(_, batch)| batch) {
        match result {
            Ok(t) => results.push(t),
            Err(diagnostic) => skipped.push(diagnostic),
        }
    }
    Ok((results, skipped))
}

/// The walk of `inputs` as an iterator. Every input must exist: one that does not fails the
/// whole walk before anything is found.
pub fn found(inputs: &[PathBuf]) -> Result<impl Iterator<Item = Found> + Send, WalkError> {
    let mut roots = Vec::with_capacity(inputs.len());
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| WalkError::Unreadable {
            path: input.clone(),
            source,
        })?;
        roots.push((input.clone(), meta.is_file()));
    }
    Ok(roots.into_iter().flat_map(|(input, is_file)| {
        if is_file {
            let relative = input
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| input.clone());
            let file = Found::File(InputFile {
                path: input,
                relative,
                explicit: true,
            });
            Box::new(std::iter::once(file)) as Box<dyn Iterator<Item = Found> + Send>
        } else {
            Box::new(FolderWalk::new(input))
        }
    }))
}

/// The folders to walk when the command line names none: `rules/`, or at the root of a
/// checkout laid out like SigmaHQ's (`rules/` beside `rules-emerging-threats/`,
/// `rules-threat-hunting/`…) every one of its `rules*` folders, in name order.
pub fn default_inputs(root: &Path) -> Vec<PathBuf> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name == "rules" || name.starts_with("rules-"))
        .collect();
    names.sort();
    if !names.iter().any(|name| name == "rules") {
        // Not a rule repository: `rules/` stays the default, so the error names it.
        names = vec!["rules".to_string()];
    }
    names
        .into_iter()
        .map(|name| {
            if root == Path::new(".") {
                PathBuf::from(name)
            } else {
                root.join(name)
            }
        })
        .collect()
}

/// The `.gitignore` files in force at one point of a walk: each with the depth of the folder
/// holding it, innermost last.
#[derive(Default)]
struct IgnoreStack {
    levels: Vec<(usize, ignore::gitignore::Gitignore)>,
    /// The `.gitignore` files of the folders above the walked one, innermost first, matched
    /// against canonical paths: `sigwiki build rules` honours the repository's root file.
    outer: Vec<ignore::gitignore::Gitignore>,
}

impl IgnoreStack {
    /// Forgets the files of folders that are not ancestors of an entry at `depth`.
    fn leave_to(&mut self, depth: usize) {
        while self.levels.last().is_some_and(|(d, _)| *d >= depth) {
            self.levels.pop();
        }
    }

    /// Whether `path` (`canonical` once resolved) is ignored: the innermost `.gitignore` with a
    /// verdict decides, as git does (a `!pattern` there re-includes what an outer file ignored).
    fn ignores(&self, path: &Path, canonical: impl Fn() -> PathBuf, is_dir: bool) -> bool {
        let verdict = |gitignore: &ignore::gitignore::Gitignore, path: &Path| match gitignore
            .matched(path, is_dir)
        {
            ignore::Match::Ignore(_) => Some(true),
            ignore::Match::Whitelist(_) => Some(false),
            ignore::Match::None => None,
        };
        for (_, gitignore) in self.levels.iter().rev() {
            if let Some(ignored) = verdict(gitignore, path) {
                return ignored;
            }
        }
        if self.outer.is_empty() {
            return false;
        }
        let canonical = canonical();
        self.outer
            .iter()
            .find_map(|gitignore| verdict(gitignore, &canonical))
            .unwrap_or(false)
    }

    /// Reads the `.gitignore` files above the walked folder `canonical_root`: up to the
    /// repository root (the nearest folder holding `.git`), or, outside a repository, up to
    /// the current folder when the walk is inside it (a checkout without its `.git`, such as
    /// an unpacked archive, still has its root `.gitignore`).
    fn above(canonical_root: &Path) -> Vec<ignore::gitignore::Gitignore> {
        let ancestors: Vec<&Path> = canonical_root.ancestors().skip(1).collect();
        let limit = match ancestors.iter().position(|dir| dir.join(".git").exists()) {
            Some(repository) => repository + 1,
            None => {
                let current = std::env::current_dir()
                    .and_then(|d| d.canonicalize())
                    .unwrap_or_default();
                ancestors
                    .iter()
                    .position(|dir| *dir == current)
                    .map_or(0, |i| i + 1)
            }
        };
        ancestors[..limit]
            .iter()
            .filter_map(|dir| {
                let file = dir.join(".gitignore");
                if !file.is_file() {
                    return None;
                }
                let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
                let _ = builder.add(&file);
                builder.build().ok().filter(|g| !g.is_empty())
            })
            .collect()
    }

    /// Reads the `.gitignore` of the folder `dir` at `depth`, if it has one. A file that cannot
    /// be read or has a bad line keeps the lines it could use: an ignore file is advice about
    /// what to leave out, not input to reject.
    fn enter(&mut self, dir: &Path, depth: usize) {
        let file = dir.join(".gitignore");
        if !file.is_file() {
            return;
        }
        let mut builder = ignore::gitignore::GitignoreBuilder::new(dir);
        let _ = builder.add(&file);
        if let Ok(gitignore) = builder.build() {
            if !gitignore.is_empty() {
                self.levels.push((depth, gitignore));
            }
        }
    }
}

/// Whether a walked entry is hidden (its name starts with `.`); the folder walked itself
/// never is, so `sigwiki build .` works.
fn is_hidden(entry: &walkdir::DirEntry) -> bool {
    entry.depth() > 0 && entry.file_name().to_string_lossy().starts_with('.')
}

/// The walk of one folder.
struct FolderWalk {
    root: PathBuf,
    canonical_root: PathBuf,
    walker: walkdir::IntoIter,
    ignores: IgnoreStack,
}

impl FolderWalk {
    fn new(root: PathBuf) -> Self {
        let canonical_root = root.canonicalize().unwrap_or_else(|_| root.clone());
        let walker = WalkDir::new(&root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        let outer = IgnoreStack::above(&canonical_root);
        FolderWalk {
            root,
            canonical_root,
            walker,
            ignores: IgnoreStack {
                levels: Vec::new(),
                outer,
            },
        }
    }

    /// What one entry of the walk amounts to, if anything.
    fn visit(&mut self, entry: walkdir::Result<walkdir::DirEntry>) -> Option<Found> {
        let skip = |path: &Path, message: String| {
            Some(Found::Skipped(Diagnostic::for_file(
                path,
                Code::SkippedPath,
                message,
            )))
        };
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(&self.root).to_path_buf();
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
                return skip(&path, message);
            }
        };
        let path = entry.path();
        let is_dir = entry.file_type().is_dir();
        self.ignores.leave_to(entry.depth());
        let canonical = || {
            let relative = path.strip_prefix(&self.root).unwrap_or(path);
            self.canonical_root.join(relative)
        };
        if is_hidden(&entry) || self.ignores.ignores(path, canonical, is_dir) {
            if is_dir {
                self.walker.skip_current_dir();
            }
            return None;
        }
        if is_dir {
            self.ignores.enter(path, entry.depth());
        }
        if entry.path_is_symlink() {
            match path.canonicalize() {
                Ok(target) if target.starts_with(&self.canonical_root) => {}
                Ok(target) => {
                    if entry.file_type().is_dir() {
                        self.walker.skip_current_dir();
                    }
                    return skip(
                        path,
                        format!(
                            "symbolic link to {} leaves the input folder, not followed",
                            target.display()
                        ),
                    );
                }
                Err(e) => return skip(path, format!("broken symbolic link: {e}")),
            }
        }
        if !is_rule_file(path) || entry.file_type().is_dir() {
            return None;
        }
        if !entry.file_type().is_file() {
            // A FIFO, socket or device named like a rule: reading it could block forever or
            // never end, so it is reported and left alone.
            return skip(path, "not a regular file, not read".to_string());
        }
        if path.to_str().is_none() {
            return skip(
                path,
                "file name is not valid UTF-8; rename it to include it".to_string(),
            );
        }
        let relative = path.strip_prefix(&self.root).unwrap_or(path).to_path_buf();
        Some(Found::File(InputFile {
            path: entry.into_path(),
            relative,
            explicit: false,
        }))
    }
}

impl Iterator for FolderWalk {
    type Item = Found;

    fn next(&mut self) -> Option<Found> {
        loop {
            let entry = self.walker.next()?;
            if let Some(found) = self.visit(entry) {
                return Some(found);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree of more files than one batch, with folders, other files and a broken link.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for folder in ["b", "a/z", "a/y", "c"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
            for i in (0..37).rev() {
                let name = format!("r{i}.{}", if i % 5 == 0 { "yaml" } else { "yml" });
                std::fs::write(dir.path().join(folder).join(name), "title: t\n").unwrap();
            }
            std::fs::write(dir.path().join(folder).join("notes.txt"), "").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("b/link.yml")).unwrap();
        dir
    }

    #[test]
    fn the_parallel_walk_keeps_the_walk_order() {
        let dir = tree();
        let inputs = vec![
            dir.path().join("c"),
            dir.path().to_path_buf(),
            dir.path().join("a/y/r3.yml"),
        ];
        let walked = walk(&inputs).unwrap();
        assert_eq!(walked.files.len(), 4 * 37 + 37 + 1);
        let (files, skipped) = par_map_files(&inputs, |file| file).unwrap();
        assert_eq!(files, walked.files);
        assert_eq!(skipped, walked.skipped);
        #[cfg(unix)]
        assert!(skipped[0].file.ends_with("b/link.yml"), "{skipped:?}");
        // Sorted by name within a folder, folders in place: `a/y` before `a/z` before `b`.
        let first: Vec<_> = files[37..40].iter().map(|f| f.relative.clone()).collect();
        assert_eq!(
            first,
            ["a/y/r0.yaml", "a/y/r1.yml", "a/y/r10.yaml"].map(PathBuf::from)
        );
    }

    #[test]
    fn a_missing_input_fails_the_walk_before_anything_is_read() {
        let dir = tree();
        let inputs = vec![dir.path().to_path_buf(), dir.path().join("missing")];
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let result = par_map_files(&inputs, |_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        assert!(
            matches!(result, Err(WalkError::Unreadable { path, .. }) if path.ends_with("missing"))
        );
        assert_eq!(calls.into_inner(), 0);
    }
}
