//! `sigwiki templates dump DIR`: writes the embedded templates to a folder, to override them.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use sigwiki::site;

/// Runs `sigwiki templates dump`, listing the files written.
pub fn dump(dir: &Path, force: bool) -> Result<ExitCode> {
    let written = site::templates::dump(dir, force)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
