//! Event readers: EVTX files natively, and JSON in the forms tools write it: `evtx_dump`'s
//! concatenated objects, JSON Lines, a JSON array of events, Winlogbeat/ECS documents.
//!
//! Events are streamed to a callback one at a time, so memory stays flat in the number of
//! events. A damaged record or object is reported with the file and its position (record
//! number, or line and column) and reading goes on with the next one; a file that cannot be
//! read at all is reported once. Nothing here panics on bad input: the EVTX parser is guarded
//! as well, since a corrupt file must not end the run.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::event::Event;

/// A problem reading an events file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadProblem {
    /// The file.
    pub file: PathBuf,
    /// Where in the file (`line 12, column 3`, `record 7`), empty for the whole file.
    pub position: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.position.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.position,
                self.message
            )
        }
    }
}

/// What reading one file gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// Events delivered.
    pub count: usize,
    /// Problems, in file order.
    pub problems: Vec<ReadProblem>,
}

/// The largest JSON event read: beyond it a file is taken to be damaged (an unclosed brace
/// would otherwise buffer the rest of the file).
const MAX_EVENT_BYTES: usize = 64 << 20;

/// The size of an EVTX file's header, before its first chunk.
const EVTX_HEADER_BYTES: u64 = 4096;

/// The size of an EVTX chunk.
const EVTX_CHUNK_BYTES: u64 = 65_536;

/// Whether `path` is an events file the readers take (`.evtx`, `.json`, `.jsonl`, `.ndjson`).
pub fn is_events_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "evtx" | "json" | "jsonl" | "ndjson"
        )
    })
}

/// Reads the events of `path`, EVTX or JSON by its first bytes, giving each to `on_event`.
pub fn read_events(path: &Path, on_event: &mut dyn FnMut(Event)) -> ReadSummary {
    let mut summary = ReadSummary::default();
    let whole = |message: String| ReadProblem {
        file: path.to_path_buf(),
        position: String::new(),
        message,
    };
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            summary.problems.push(whole(format!("cannot read: {e}")));
            return summary;
        }
    };
    let mut magic = [0u8; 8];
    let read = read_prefix(&mut file, &mut magic);
    let is_evtx = read == 8 && &magic == b"ElfFile\0";
    if is_evtx {
        drop(file);
        read_evtx(path, on_event, &mut summary);
    } else {
        let head = std::io::Cursor::new(magic[..read].to_vec());
        read_json(
            path,
            BufReader::with_capacity(1 << 16, head.chain(file)),
            on_event,
            &mut summary,
        );
    }
    summary
}

fn read_prefix(file: &mut std::fs::File, buffer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
}

fn read_evtx(path: &Path, on_event: &mut dyn FnMut(Event), summary: &mut ReadSummary) {
    let file = path.to_path_buf();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut parser = match evtx::EvtxParser::from_path(path) {
            Ok(p) => p,
            Err(e) => {
                let length = std::fs::metadata(path).map_or(0, |m| m.len());
                let message = if length < EVTX_HEADER_BYTES {
                    format!(
                        "truncated: {length} bytes, shorter than the {EVTX_HEADER_BYTES}-byte EVTX file header"
                    )
                } else {
                    format!("not a readable EVTX file: {e}")
                };
                summary.problems.push(ReadProblem {
                    file: file.clone(),
                    position: String::new(),
                    message,
                });
                return;
            }
        };
        for (number, record) in parser.records_json_value().enumerate() {
            match record {
                Ok(record) => {
                    summary.count += 1;
                    on_event(Event::from_json(&record.data));
                }
                Err(e) => summary.problems.push(ReadProblem {
                    file: file.clone(),
                    position: format!("record {}", number + 1),
                    message: format!("damaged record skipped: {e}"),
                }),
            }
        }
    }));
    if outcome.is_err() {
        summary.problems.push(ReadProblem {
            file: file.clone(),
            position: format!("after record {}", summary.count),
            message: "the EVTX parser gave up on damaged data; the rest of the file is skipped"
                .to_string(),
        });
    }
    // The parser passes over a chunk cut short without a word: say so.
    let length = std::fs::metadata(path).map_or(0, |m| m.len());
    let tail = length.saturating_sub(EVTX_HEADER_BYTES) % EVTX_CHUNK_BYTES;
    if length > EVTX_HEADER_BYTES && tail != 0 {
        let chunk = (length - EVTX_HEADER_BYTES) / EVTX_CHUNK_BYTES + 1;
        summary.problems.push(ReadProblem {
            file,
            position: format!("chunk {chunk}"),
            message: format!(
                "truncated: the file ends {tail} bytes into chunk {chunk} (of {EVTX_CHUNK_BYTES} bytes); its records are not read"
            ),
        });
    }
}

/// Splits a byte stream into top-level JSON objects (tracking strings and escapes), parsing each
/// on its own so one damaged object costs only itself. Commas and brackets between objects are
/// skipped, so a JSON array of events reads like concatenated objects.
fn read_json(
    path: &Path,
    mut input: impl BufRead,
    on_event: &mut dyn FnMut(Event),
    summary: &mut ReadSummary,
) {
    let problem = |line: usize, column: usize, message: String| ReadProblem {
        file: path.to_path_buf(),
        position: format!("line {line}, column {column}"),
        message,
    };
    let mut object: Vec<u8> = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut column) = (1usize, 0usize);
    let (mut start_line, mut start_column) = (1usize, 1usize);
    let mut skip_line = false;
    loop {
        let buffer = match input.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                summary
                    .problems
                    .push(problem(line, column, format!("cannot read further: {e}")));
                return;
            }
        };
        let length = buffer.len();
        let mut run_start = 0;
        for (i, &byte) in buffer.iter().enumerate() {
            if byte == b'\n' {
                line += 1;
                column = 0;
                skip_line = false;
            } else {
                column += 1;
            }
            if depth == 0 {
                run_start = i;
                if skip_line || matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']') {
                    continue;
                }
                if byte == b'{' {
                    depth = 1;
                    start_line = line;
                    start_column = column;
                    continue;
                }
                if i == 0 && line == 1 && column == 1 && byte == 0xEF {
                    continue; // a UTF-8 byte-order mark
                }
                summary.problems.push(problem(
                    line,
                    column,
                    format!(
                        "unexpected `{}` between events; skipped to the next line",
                        char::from(byte).escape_default()
                    ),
                ));
                skip_line = true;
                continue;
            }
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        object.extend_from_slice(&buffer[run_start..=i]);
                        deliver(&object, start_line, start_column, path, on_event, summary);
                        object.clear();
                    }
                }
                _ => {}
            }
        }
        if depth > 0 {
            object.extend_from_slice(&buffer[run_start..]);
            if object.len() > MAX_EVENT_BYTES {
                summary.problems.push(problem(
                    start_line,
                    start_column,
                    format!("the object starting here is larger than {} MiB; the rest of the file is skipped", MAX_EVENT_BYTES >> 20),
                ));
                return;
            }
        }
        input.consume(length);
    }
    if depth > 0 {
        summary.problems.push(problem(
            start_line,
            start_column,
            "truncated: the object starting here is not closed at the end of the file".to_string(),
        ));
    }
}

fn deliver(
    bytes: &[u8],
    start_line: usize,
    start_column: usize,
    path: &Path,
    on_event: &mut dyn FnMut(Event),
    summary: &mut ReadSummary,
) {
    match Event::from_json_slice(bytes) {
        Ok(event) => {
            summary.count += 1;
            on_event(event);
        }
        Err(e) => {
            let line = start_line + e.line().saturating_sub(1);
            let column = if e.line() <= 1 {
                start_column + e.column().saturating_sub(1)
            } else {
                e.column()
            };
            summary.problems.push(ReadProblem {
                file: path.to_path_buf(),
                position: format!("line {line}, column {column}"),
                message: format!("damaged event skipped: {e}"),
            });
        }
    }
}

/// Every events file under `paths` (files as given, folders walked), sorted.
pub fn events_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path)
                .sort_by_file_name()
                .into_iter()
                .flatten()
            {
                if entry.file_type().is_file() && is_events_file(entry.path()) {
                    out.push(entry.into_path());
                }
            }
        } else {
            out.push(path.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> (Vec<Event>, ReadSummary) {
        let mut events = Vec::new();
        let mut summary = ReadSummary::default();
        read_json(
            Path::new("x.json"),
            text.as_bytes(),
            &mut |e| events.push(e),
            &mut summary,
        );
        (events, summary)
    }

    #[test]
    fn concatenated_lines_and_arrays() {
        let (events, summary) = read("{\"a\": \"}{\"}\n{\n \"b\": [1, {\"c\": 2}]\n}");
        assert_eq!(events.len(), 2);
        assert!(summary.problems.is_empty());
        let (events, _) = read("[{\"a\":1},\n{\"a\":2}]");
        assert_eq!(events.len(), 2);
    }

    #[test]
    fn damage_is_reported_by_line_and_the_rest_read() {
        let (events, summary) = read("{\"a\":1}\n{\"a\": tru}\nxyz\n{\"a\":3}\n{\"a\":");
        assert_eq!(events.len(), 2);
        let positions: Vec<&str> = summary
            .problems
            .iter()
            .map(|p| p.position.as_str())
            .collect();
        assert_eq!(
            positions,
            vec!["line 2, column 10", "line 3, column 1", "line 5, column 1"]
        );
        assert!(summary.problems[2].message.contains("truncated"));
    }
}
