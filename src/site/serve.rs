//! `sigwiki serve`: builds the site into memory, serves it on 127.0.0.1, watches the rules and
//! templates, rebuilds on change (re-parsing only the rule files that changed), and lets the
//! pages reload themselves: in serve mode the page script polls `/__sigwiki/status` and
//! reloads when the build version changes, or shows the build error over the page.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use notify::{RecursiveMode, Watcher};
use rayon::prelude::*;
use serde::Serialize;
use tiny_http::{Header, Response, Server};

use crate::sigma::{RuleFile, RuleSet};

use super::build::{BuildOptions, build_from};
use super::enrichment::Enricher;
use super::output::Output;
use super::templates::Templates;

/// The path of the status endpoint the live-reload script polls.
pub const STATUS_PATH: &str = "/__sigwiki/status";

/// The state of the served site.
#[derive(Debug, Default)]
pub struct Served {
    /// The files of the last good build.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Incremented on every build, good or not.
    pub version: u64,
    /// The last build's error (a template or output problem), if it failed.
    pub error: Option<String>,
    /// Rule files with errors in the last build.
    pub failed: usize,
}

#[derive(Serialize)]
struct Status<'a> {
    version: u64,
    error: Option<&'a str>,
    failed: usize,
}

/// Parsed rule files kept between builds, keyed by path, with the modification time and size
/// they were parsed at.
#[derive(Default)]
pub struct ParseCache {
    files: HashMap<PathBuf, (Option<SystemTime>, u64, RuleFile)>,
}

impl ParseCache {
    /// Walks the inputs and parses the files that are new or changed since the last call.
    pub fn load(
        &mut self,
        options: &BuildOptions,
    ) -> Result<(RuleSet, Vec<crate::sigma::Diagnostic>), super::SiteError> {
        let walked = crate::walk::walk(&options.inputs)?;
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| (m.modified().ok(), m.len()))
                .unwrap_or((None, 0))
        };
        let parsed: Vec<(PathBuf, Option<SystemTime>, u64, RuleFile)> = walked
            .files
            .par_iter()
            .filter_map(|input| {
                let (time, len) = stamp(&input.path);
                let file = match self.files.get(&input.path) {
                    Some((t, l, file))
                        if *t == time
                            && *l == len
                            && time.is_some()
                            && file.relative == input.relative =>
                    {
                        strip_set_diagnostics(file)
                    }
                    // Not a Sigma document: left out, as a build leaves it out.
                    _ => crate::load::parse_input(input, &options.parse).ok()?,
                };
                Some((input.path.clone(), time, len, file))
            })
            .collect();
        self.files.clear();
        let mut files = Vec::with_capacity(parsed.len());
        for (path, time, len, file) in parsed {
            files.push(file.clone());
            self.files.insert(path, (time, len, file));
        }
        Ok((RuleSet::new(files), walked.skipped))
    }
}

/// Removes the diagnostics a previous `RuleSet::new` added (references, duplicates), which the
/// next one recomputes. Those codes are only produced by the set-level resolution.
fn strip_set_diagnostics(file: &RuleFile) -> RuleFile {
    use crate::sigma::Code;
    let mut file = file.clone();
    file.diagnostics.retain(|d| {
        !matches!(
            d.code,
            Code::DuplicateId | Code::DuplicateName | Code::UnresolvedReference
        )
    });
    file
}

/// Builds the site into memory.
fn rebuild(
    cache: &mut ParseCache,
    options: &BuildOptions,
    templates_dir: Option<&Path>,
    enricher: &dyn Enricher,
    state: &RwLock<Served>,
) {
    let result = Templates::load(templates_dir).and_then(|templates| {
        let (rules, skipped) = cache.load(options)?;
        build_from(
            &rules,
            skipped,
            options,
            &templates,
            enricher,
            Output::memory(),
        )
    });
    let mut served = state.write().unwrap_or_else(|p| p.into_inner());
    served.version += 1;
    match result {
        Ok(report) => {
            served.files = report.files;
            served.error = None;
            served.failed = report.failed;
            eprintln!(
                "sigwiki: rebuilt: {} rule pages, {} rules with errors",
                report.rule_pages, report.failed
            );
        }
        Err(e) => {
            eprintln!("sigwiki: build failed: {e}");
            served.error = Some(e.to_string());
        }
    }
}

/// A running server.
pub struct Serving {
    server: Arc<Server>,
    /// The address it listens on.
    pub address: SocketAddr,
    /// The served state.
    pub state: Arc<RwLock<Served>>,
}

impl Serving {
    /// Binds `127.0.0.1:port` (0 for any free port).
    pub fn bind(port: u16) -> Result<Serving, super::SiteError> {
        let server = Server::http(("127.0.0.1", port)).map_err(|e| super::SiteError::Output {
            path: PathBuf::from(format!("127.0.0.1:{port}")),
            source: std::io::Error::other(e.to_string()),
        })?;
        let address = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], port)));
        Ok(Serving {
            server: Arc::new(server),
            address,
            state: Arc::new(RwLock::new(Served::default())),
        })
    }

    /// Answers requests until the server is unblocked.
    pub fn answer_requests(&self) {
        for request in self.server.incoming_requests() {
            let url = request.url().to_string();
            let response = respond(&url, &self.state);
            let _ = request.respond(response);
        }
    }

    /// Stops `answer_requests`.
    pub fn stop(&self) {
        self.server.unblock();
    }

    /// Builds once, then watches the inputs and templates and rebuilds on change, until the
    /// `stop` receiver gets a message or is closed.
    pub fn watch(
        &self,
        options: &BuildOptions,
        templates_dir: Option<&Path>,
        enricher: &dyn Enricher,
        stop: &Receiver<()>,
    ) -> Result<(), super::SiteError> {
        let mut cache = ParseCache::default();
        let (events, changes) = channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    if !matches!(event.kind, notify::EventKind::Access(_)) {
                        let _ = events.send(());
                    }
                }
            })
            .map_err(watch_error)?;
        for input in &options.inputs {
            watcher
                .watch(input, RecursiveMode::Recursive)
                .map_err(watch_error)?;
        }
        if let Some(dir) = templates_dir {
            watcher
                .watch(dir, RecursiveMode::Recursive)
                .map_err(watch_error)?;
        }
        // Watching starts before the first build, so no change made during it is missed.
        rebuild(&mut cache, options, templates_dir, enricher, &self.state);
        loop {
            match stop.try_recv() {
                Ok(()) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
            match changes.recv_timeout(Duration::from_millis(200)) {
                Ok(()) => {
                    // Let a burst of events (an editor's save) settle, then build once.
                    while changes.recv_timeout(Duration::from_millis(80)).is_ok() {}
                    rebuild(&mut cache, options, templates_dir, enricher, &self.state);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }
}

fn watch_error(e: notify::Error) -> super::SiteError {
    super::SiteError::Output {
        path: e.paths.first().cloned().unwrap_or_default(),
        source: std::io::Error::other(format!("cannot watch for changes: {e}")),
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap_or_else(|()| {
        Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("static header")
    })
}

fn respond(url: &str, state: &RwLock<Served>) -> Response<Cursor<Vec<u8>>> {
    let served = state.read().unwrap_or_else(|p| p.into_inner());
    let path = url.split(['?', '#']).next().unwrap_or("/");
    if path == STATUS_PATH {
        let body = serde_json::to_string(&Status {
            version: served.version,
            error: served.error.as_deref(),
            failed: served.failed,
        })
        .unwrap_or_default();
        return Response::from_string(body)
            .with_header(header("Content-Type", "application/json"))
            .with_header(header("Cache-Control", "no-store"));
    }
    let decoded = percent_decode(path.trim_start_matches('/'));
    let mut candidates = Vec::new();
    if decoded.is_empty() || decoded.ends_with('/') {
        candidates.push(format!("{decoded}index.html"));
    } else {
        candidates.push(decoded.clone());
        candidates.push(format!("{decoded}/index.html"));
        candidates.push(format!("{decoded}.html"));
    }
    for candidate in &candidates {
        if let Some(bytes) = served.files.get(candidate) {
            return Response::from_data(bytes.clone())
                .with_header(header("Content-Type", content_type(candidate)))
                .with_header(header("Cache-Control", "no-store"));
        }
    }
    let body = served
        .files
        .get("404.html")
        .cloned()
        .unwrap_or_else(|| b"not found".to_vec());
    Response::from_data(body)
        .with_status_code(404)
        .with_header(header("Content-Type", "text/html; charset=utf-8"))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(hex) = text.get(i + 1..i + 3) {
                if let Ok(b) = u8::from_str_radix(hex, 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `Content-Type` of a site file.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("xml") => "application/xml",
        _ => "application/octet-stream",
    }
}

/// Serves the site until the process is interrupted.
pub fn serve(
    options: &BuildOptions,
    templates_dir: Option<&Path>,
    enricher: &dyn Enricher,
    port: u16,
) -> Result<(), super::SiteError> {
    let serving = Serving::bind(port)?;
    eprintln!(
        "sigwiki: serving on http://{}/ (Ctrl-C to stop)",
        serving.address
    );
    let (_stop_sender, stop) = channel();
    std::thread::scope(|scope| {
        scope.spawn(|| serving.answer_requests());
        let result = serving.watch(options, templates_dir, enricher, &stop);
        serving.stop();
        result
    })
}
