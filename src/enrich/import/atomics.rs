//! Building the embedded Atomic Red Team index (technique ID → number of tests) from an
//! atomic-red-team checkout (`atomics/<TID>/<TID>.yaml`) or, without the YAML files, from its
//! test index (`Indexes-CSV/index.csv`, one row per tactic × test).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{ImportError, read_text};
use crate::enrich::triggers::{
    AtomicIndex, AtomicsError, atomics_folder, is_technique_id, read_atomics_dir,
};

/// The attribution stored with the index (the MIT licence of Atomic Red Team asks for it).
pub const ATOMIC_SOURCE: &str = "Atomic Red Team, https://github.com/redcanaryco/atomic-red-team, MIT licence, Copyright (c) 2018 Red Canary, Inc.";

/// Builds the index from `dir`: an atomic-red-team checkout, its `atomics` folder, a folder
/// holding `Indexes-CSV/index.csv`, or the `index.csv` file itself.
pub fn import_atomics(dir: &Path) -> Result<AtomicIndex, ImportError> {
    if dir.is_dir() && atomics_folder(dir).is_some() {
        let tests = read_atomics_dir(dir).map_err(|e| match e {
            AtomicsError::Io { path, source } => ImportError::Io { path, source },
            AtomicsError::NoAtomics { path } => ImportError::Missing {
                path,
                message: "no atomics/Txxxx/Txxxx.yaml files".to_string(),
            },
            AtomicsError::Invalid {
                path,
                line,
                message,
                ..
            } => ImportError::Invalid {
                path,
                line,
                message,
            },
        })?;
        return Ok(AtomicIndex {
            source: ATOMIC_SOURCE.to_string(),
            techniques: tests.into_iter().map(|(k, v)| (k, v.len())).collect(),
        });
    }
    let csv = index_csv(dir).ok_or_else(|| ImportError::Missing {
        path: dir.to_path_buf(),
        message: "neither atomics/Txxxx/Txxxx.yaml nor Indexes-CSV/index.csv found".to_string(),
    })?;
    let text = read_text(&csv)?;
    Ok(AtomicIndex {
        source: ATOMIC_SOURCE.to_string(),
        techniques: count_csv_tests(&text).map_err(|(line, message)| ImportError::Invalid {
            path: csv.clone(),
            line,
            message,
        })?,
    })
}

fn index_csv(dir: &Path) -> Option<PathBuf> {
    if dir.is_file() {
        return Some(dir.to_path_buf());
    }
    [
        "Indexes-CSV/index.csv",
        "atomics/Indexes/Indexes-CSV/index.csv",
        "Indexes/Indexes-CSV/index.csv",
        "index.csv",
    ]
    .iter()
    .map(|p| dir.join(p))
    .find(|p| p.is_file())
}

/// Distinct tests per technique of an index CSV (`Technique #` and `Test GUID` columns; a row
/// without a GUID counts by its `Test #`).
fn count_csv_tests(text: &str) -> Result<BTreeMap<String, usize>, (usize, String)> {
    let rows = parse_csv(text)?;
    let mut rows = rows.into_iter();
    let Some((_, header)) = rows.next() else {
        return Err((1, "empty CSV".to_string()));
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| (1, format!("no `{name}` column")))
    };
    let technique_col = column("Technique #")?;
    let guid_col = column("Test GUID")?;
    let number_col = column("Test #")?;
    let mut tests: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (line, row) in rows {
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let technique = row.get(technique_col).map(|s| s.trim()).unwrap_or("");
        if !is_technique_id(technique) {
            return Err((line, format!("`{technique}` is not a technique ID")));
        }
        let guid = row.get(guid_col).map(|s| s.trim()).unwrap_or("");
        let key = if guid.is_empty() {
            format!("#{}", row.get(number_col).map(|s| s.trim()).unwrap_or(""))
        } else {
            guid.to_ascii_lowercase()
        };
        tests.entry(technique.to_string()).or_default().insert(key);
    }
    Ok(tests.into_iter().map(|(k, v)| (k, v.len())).collect())
}

/// A CSV record with the 1-based line it starts on.
type Record = (usize, Vec<String>);

/// RFC 4180 CSV: records with their 1-based starting line.
fn parse_csv(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            }
            ('"', false) if field.is_empty() => in_quotes = true,
            (',', false) => record.push(std::mem::take(&mut field)),
            ('\r', false) => {}
            ('\n', false) => {
                record.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut record)));
                line += 1;
                record_line = line;
            }
            ('\n', true) => {
                field.push(c);
                line += 1;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err((record_line, "unterminated quoted field".to_string()));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((record_line, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_counts() {
        let text = "Tactic,Technique #,Technique Name,Test #,Test Name,Test GUID,Executor Name\r\n\
                    stealth,T1218.011,\"Proxy, Rundll32\",1,\"Say \"\"hi\"\"\",AAA,cmd\r\n\
                    execution,T1218.011,\"Proxy, Rundll32\",1,\"Say \"\"hi\"\"\",aaa,cmd\r\n\
                    stealth,T1218.011,x,2,\"two\nlines\",bbb,cmd\r\n\
                    stealth,T1003,x,1,y,,cmd\r\n";
        let counts = count_csv_tests(text).unwrap();
        assert_eq!(counts.get("T1218.011"), Some(&2));
        assert_eq!(counts.get("T1003"), Some(&1));
        let rows = parse_csv(text).unwrap();
        assert_eq!(rows[1].1[4], "Say \"hi\"");
        assert_eq!(rows[4].0, 6);
        assert!(count_csv_tests("Tactic,Technique #,Test #,Test GUID\nx,T12,1,g\n").is_err());
        assert!(parse_csv("a,\"b\n").is_err());
    }
}
