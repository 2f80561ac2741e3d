//! Helpers shared by integration tests: locating the shared corpus, oracle and data folders, and
//! listing the files of a built site.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared folder (`$SIGWIKI_SHARED`, or `../shared` beside the crate), if present.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("SIGWIKI_SHARED") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"),
    };
    dir.join("corpus/sigmahq").is_dir().then_some(dir)
}

/// The shared folder, or a printed `skipped:` note and `None` when it is absent.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let dir = shared_dir();
    if dir.is_none() {
        eprintln!(
            "skipped: {test} needs the shared corpus (set SIGWIKI_SHARED or put it at ../shared)"
        );
    }
    dir
}

/// Every file under `dir` (folders are descended, not listed), sorted by path.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.expect("readable"))
        .filter(|entry| !entry.file_type().is_dir())
        .map(walkdir::DirEntry::into_path)
        .collect();
    out.sort();
    out
}

pub mod parity;
