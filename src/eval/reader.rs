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

/// Line numbers of a stream, counted only up to where a position is asked for: the bytes are
/// searched for newlines (a vectorised search), not looked at one by one.
#[derive(Debug)]
struct Lines {
    /// The line of the next uncounted byte (1-based).
    line: usize,
    /// The offset in the stream of the last newline counted (-1: none yet).
    last_newline: i64,
    /// The offset in the stream up to which newlines are counted.
    counted: u64,
}

impl Lines {
    fn new() -> Self {
        Lines {
            line: 1,
            last_newline: -1,
            counted: 0,
        }
    }

    /// Counts the newlines before stream offset `upto`; `buffer` holds the stream's bytes from
    /// offset `base` on, and the bytes from `self.counted` on are in it.
    fn advance(&mut self, buffer: &[u8], base: u64, upto: u64) {
        if upto <= self.counted {
            return;
        }
        let from = (self.counted - base) as usize;
        let to = (upto - base) as usize;
        let Some(bytes) = buffer.get(from..to) else {
            return;
        };
        let newlines = memchr::memchr_iter(b'\n', bytes).count();
        if newlines > 0 {
            self.line += newlines;
            if let Some(last) = memchr::memrchr(b'\n', bytes) {
                self.last_newline = (base + (from + last) as u64) as i64;
            }
        }
        self.counted = upto;
    }

    /// The line and column (1-based, in bytes) of the byte at stream offset `at`, once the
    /// newlines before it are counted.
    fn position(&self, at: u64) -> (usize, usize) {
        (self.line, (at as i64 - self.last_newline).max(0) as usize)
    }
}

/// Splits a byte stream into top-level JSON objects (tracking strings and escapes), parsing each
/// on its own so one damaged object costs only itself. Commas and brackets between objects are
/// skipped, so a JSON array of events reads like concatenated objects. An object that lies in
/// one buffer of the reader and reads without an error is read where it is, in one pass; the
/// others are split off first (one spanning buffers is gathered), then read, and only then is
/// an error reported, at its place. The only bytes the splitter looks at one by one are those
/// between strings: a string's end is searched for.
fn read_json(
    path: &Path,
    mut input: impl BufRead,
    on_event: &mut dyn FnMut(Event),
    summary: &mut ReadSummary,
) {
    let problem = |(line, column): (usize, usize), message: String| ReadProblem {
        file: path.to_path_buf(),
        position: format!("line {line}, column {column}"),
        message,
    };
    // The part of an object read from earlier buffers.
    let mut object: Vec<u8> = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut lines = Lines::new();
    // The stream offset of the current buffer's first byte.
    let mut base = 0u64;
    let mut start = (1usize, 1usize);
    let mut skip_line = false;
    loop {
        let buffer = match input.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // Where reading stopped: after the last byte read.
                let column = (base as i64 - 1 - lines.last_newline).max(0) as usize;
                let position = (lines.line, column);
                summary
                    .problems
                    .push(problem(position, format!("cannot read further: {e}")));
                return;
            }
        };
        let length = buffer.len();
        // The buffer as text up to its first byte that is not UTF-8 (or a character cut at its
        // end), checked once: objects in it are read as text, without checking each string.
        let text = match std::str::from_utf8(buffer) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&buffer[..e.valid_up_to()]).unwrap_or_default(),
        };
        // Where the current object starts in this buffer (0 when it began in an earlier one).
        let mut run_start = 0;
        let mut i = 0;
        while i < length {
            if depth == 0 {
                if skip_line {
                    match memchr::memchr(b'\n', &buffer[i..]) {
                        Some(k) => {
                            i += k + 1;
                            skip_line = false;
                        }
                        None => i = length,
                    }
                    continue;
                }
                let byte = buffer[i];
                if matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'[' | b']') {
                    i += 1;
                    continue;
                }
                let at = base + i as u64;
                if byte == b'{' {
                    // Most objects lie whole in the buffer and read without an error: read
                    // where they are. The others are found byte by byte below, then read.
                    // `i` is at a `{`, so at a character boundary of `text` when inside it.
                    let rest = text.get(i..).unwrap_or_default();
                    if let Some((event, object_length)) = Event::from_json_prefix(rest) {
                        summary.count += 1;
                        on_event(event);
                        i += object_length;
                        continue;
                    }
                    lines.advance(buffer, base, at);
                    depth = 1;
                    run_start = i;
                    start = lines.position(at);
                    i += 1;
                    continue;
                }
                lines.advance(buffer, base, at);
                if at == 0 && byte == 0xEF {
                    i += 1;
                    continue; // a UTF-8 byte-order mark
                }
                summary.problems.push(problem(
                    lines.position(at),
                    format!(
                        "unexpected `{}` between events; skipped to the next line",
                        char::from(byte).escape_default()
                    ),
                ));
                skip_line = true;
                i += 1;
                continue;
            }
            if in_string {
                if escaped {
                    escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &buffer[i..]) {
                    Some(k) => {
                        if buffer[i + k] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                        }
                        i += k + 1;
                    }
                    None => i = length,
                }
                continue;
            }
            match buffer[i] {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        if object.is_empty() {
                            deliver(&buffer[run_start..=i], start, path, on_event, summary);
                        } else {
                            object.extend_from_slice(&buffer[run_start..=i]);
                            deliver(&object, start, path, on_event, summary);
                            object.clear();
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        lines.advance(buffer, base, base + length as u64);
        if depth > 0 {
            object.extend_from_slice(&buffer[run_start..]);
            if object.len() > MAX_EVENT_BYTES {
                summary.problems.push(problem(
                    start,
                    format!("the object starting here is larger than {} MiB; the rest of the file is skipped", MAX_EVENT_BYTES >> 20),
                ));
                return;
            }
        }
        input.consume(length);
        base += length as u64;
    }
    if depth > 0 {
        summary.problems.push(problem(
            start,
            "truncated: the object starting here is not closed at the end of the file".to_string(),
        ));
    }
}

fn deliver(
    bytes: &[u8],
    (start_line, start_column): (usize, usize),
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
    fn objects_across_buffer_ends_read_as_in_one_buffer() {
        let text = "{\"a\": \"x\\\"}{\\\\\"}\n[{\"b\": [1, {\"c\": \"]\"}]},\n {\"d\": 2}]\r\nxyz\n{\"e\": tru}\n{\"f\":\n 3}\n{\"g\":";
        let whole = read(text);
        assert_eq!(whole.0.len(), 4);
        assert_eq!(whole.1.problems.len(), 3);
        for capacity in 1..=12 {
            let mut events = Vec::new();
            let mut summary = ReadSummary::default();
            read_json(
                Path::new("x.json"),
                BufReader::with_capacity(capacity, text.as_bytes()),
                &mut |e| events.push(e),
                &mut summary,
            );
            assert_eq!(
                (&events, &summary),
                (&whole.0, &whole.1),
                "buffers of {capacity}"
            );
        }
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
