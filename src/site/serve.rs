//! `sigwiki serve`: builds the site into memory, serves it on 127.0.0.1, watches the rules and
//! templates and, on a change, updates the site incrementally ([`super::cache`]): only the
//! changed rule files are parsed again and only the pages that depend on them are rendered
//! again. A template change renders the whole site.
//!
//! In serve mode the page script long-polls `/__sigwiki/status?since=VERSION&page=PATH`: the
//! request is held until that page changed in a newer version (or the build error changed),
//! then the page reloads itself, or shows the build error over the page.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::{Duration, Instant};

use notify::{RecursiveMode, Watcher};
use serde::Serialize;
use tiny_http::{Header, Request, Response, Server};

use super::build::BuildOptions;
use super::cache::{Delta, SiteCache};
use super::enrichment::Enricher;
use super::templates::Templates;

/// The path of the status endpoint the live-reload script polls.
pub const STATUS_PATH: &str = "/__sigwiki/status";

/// How long a status request waits for a change before it is answered anyway.
const LONG_POLL: Duration = Duration::from_secs(25);

/// At most this many status requests wait at once; more are answered at once (the script then
/// polls once a second).
const MAX_WAITING: usize = 64;

/// After a change event, the update starts once no event came for this long: an editor's save
/// is a burst of events (truncate, write, rename), and one update after it is enough.
const SETTLE: Duration = Duration::from_millis(10);

/// Between publishing the rule pages and rendering the index pages, an update waits this long:
/// time for the browser to fetch the page it reloads while the cores are free.
const PAUSE: Duration = Duration::from_millis(40);

/// A burst of events is cut off after this long, so a file written continuously still shows.
const SETTLE_AT_MOST: Duration = Duration::from_millis(250);

/// The state of the served site.
#[derive(Debug, Default)]
pub struct Served {
    /// The files of the last good build.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Incremented on every build step published and on every failed build.
    pub version: u64,
    /// The last build's error (a template or output problem), if it failed.
    pub error: Option<String>,
    /// Rule files with errors in the last build.
    pub failed: usize,
    /// The version in which each file last changed (was added, rewritten or removed).
    pub changed: HashMap<String, u64>,
    /// The version in which `error` last changed.
    pub error_changed: u64,
}

impl Served {
    /// Applies the files of one step of an update, as a new version.
    pub fn publish(&mut self, delta: Delta) {
        self.version += 1;
        let version = self.version;
        if delta.replace {
            let gone: Vec<String> = self
                .files
                .keys()
                .filter(|k| !delta.files.contains_key(*k))
                .cloned()
                .collect();
            for path in gone {
                self.files.remove(&path);
                self.changed.insert(path, version);
            }
        }
        for (path, bytes) in delta.files {
            match bytes {
                Some(bytes) => {
                    if self.files.get(&path) != Some(&bytes) {
                        self.files.insert(path.clone(), bytes);
                        self.changed.insert(path, version);
                    }
                }
                None => {
                    if self.files.remove(&path).is_some() {
                        self.changed.insert(path, version);
                    }
                }
            }
        }
        self.failed = delta.failed;
        self.set_error(None);
    }

    /// Records a failed build, as a new version; the files stay those of the last good one.
    pub fn fail(&mut self, error: String) {
        self.version += 1;
        self.set_error(Some(error));
    }

    fn set_error(&mut self, error: Option<String>) {
        if self.error != error {
            self.error = error;
            self.error_changed = self.version;
        }
    }

    /// The version in which the page at `url_path` (as requested) last changed; 0 if never.
    fn page_changed(&self, url_path: &str) -> u64 {
        candidates(url_path)
            .iter()
            .filter_map(|c| self.changed.get(c))
            .copied()
            .max()
            .unwrap_or(0)
    }
}

#[derive(Serialize)]
struct Status<'a> {
    version: u64,
    error: Option<&'a str>,
    failed: usize,
    /// Whether the page named in the request changed since the version it gave.
    reload: bool,
    /// Whether the request was held until something changed (a long poll).
    long_poll: bool,
}

/// A status request that waits: for a version newer than `since` that changed `page`.
#[derive(Debug, Clone)]
struct Wait {
    since: u64,
    page: Option<String>,
}

impl Wait {
    /// The wait a status URL asks for, if any (`?since=N`, optionally `&page=PATH`).
    fn of(url: &str) -> Option<Wait> {
        let query = url.split_once('?')?.1;
        let mut since = None;
        let mut page = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("since", v)) => since = v.parse().ok(),
                Some(("page", v)) => page = Some(percent_decode(&v.replace('+', " "))),
                _ => {}
            }
        }
        Some(Wait {
            since: since?,
            page,
        })
    }

    /// Whether `served` answers this wait: the page changed after `since` (any file, when no
    /// page is named), or the build error did.
    fn answered_by(&self, served: &Served) -> bool {
        served.error_changed > self.since || self.reload(served)
    }

    fn reload(&self, served: &Served) -> bool {
        match &self.page {
            Some(page) => served.page_changed(page) > self.since,
            None => served.version > self.since,
        }
    }
}

/// Wakes the status requests that wait when a version is published.
#[derive(Debug, Default)]
struct Notifier {
    lock: Mutex<()>,
    changed: Condvar,
    stopping: AtomicBool,
    waiting: AtomicUsize,
}

impl Notifier {
    fn notify(&self) {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.changed.notify_all();
    }
}

/// The templates and the cache of a serve session.
struct Session {
    cache: SiteCache,
    /// `None` until they load (and again after a template folder change fails to load).
    templates: Option<Templates>,
    /// The templates folder, as an absolute path (change events name absolute paths).
    templates_dir: Option<PathBuf>,
}

impl Session {
    /// Updates the site after changes at `paths` (`None` for the first build).
    fn update(
        &mut self,
        paths: Option<&[PathBuf]>,
        options: &BuildOptions,
        enricher: &dyn Enricher,
        state: &RwLock<Served>,
        notifier: &Notifier,
    ) {
        let start = Instant::now();
        let template_change = match (&self.templates_dir, paths) {
            (Some(dir), Some(paths)) => paths.iter().any(|p| absolute(p).starts_with(dir)),
            _ => false,
        };
        if template_change || self.templates.is_none() {
            match Templates::load(self.templates_dir.as_deref()) {
                Ok(templates) => {
                    self.templates = Some(templates);
                    self.cache.invalidate_pages();
                }
                Err(e) => {
                    self.templates = None;
                    report_failure(state, notifier, &e);
                    return;
                }
            }
        }
        // A changed file that is no rule file may be the data of a regression test: those
        // results are computed again. A YAML file may be either, which only the update tells.
        let templates_dir = self.templates_dir.as_deref();
        let unknown: Vec<PathBuf> = paths
            .unwrap_or_default()
            .iter()
            .map(|p| absolute(p))
            .filter(|p| !self.cache.knows(p) && templates_dir.is_none_or(|d| !p.starts_with(d)))
            .collect();
        if unknown.iter().any(|p| is_events_file(p)) {
            self.cache.invalidate_regression();
        }
        if let Some(paths) = paths {
            let paths: Vec<PathBuf> = paths.iter().map(|p| absolute(p)).collect();
            self.cache.changed(&paths);
        }
        let Some(templates) = &self.templates else {
            return;
        };
        let mut publish = |delta: Delta| {
            state
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .publish(delta);
            notifier.notify();
        };
        let mut result = self
            .cache
            .update(options, templates, enricher, &mut publish);
        if result.is_ok()
            && unknown
                .iter()
                .any(|p| crate::walk::is_rule_file(p) && !self.cache.knows(p))
        {
            self.cache.invalidate_regression();
            result = self
                .cache
                .update(options, templates, enricher, &mut publish);
        }
        match result {
            Ok(report) => {
                let steps: Vec<String> = report
                    .timings
                    .iter()
                    .map(|(name, d)| format!("{name} {:.1}", d.as_secs_f64() * 1000.0))
                    .collect();
                eprintln!(
                    "sigwiki: updated in {} ms ({} ms): {} parsed, {} converted, {} rendered{}; {} rule pages, {} rules with errors",
                    start.elapsed().as_millis(),
                    steps.join(", "),
                    report.parsed,
                    report.converted,
                    report.rendered,
                    if report.interrupted {
                        " (index pages left to the next update)"
                    } else {
                        ""
                    },
                    report.rule_pages,
                    report.failed
                );
            }
            Err(e) => report_failure(state, notifier, &e),
        }
    }
}

/// Says on the terminal and in the browser that an update failed.
fn report_failure(state: &RwLock<Served>, notifier: &Notifier, e: &dyn std::fmt::Display) {
    eprintln!("sigwiki: build failed: {e}");
    state
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .fail(e.to_string());
    notifier.notify();
}

/// Whether `path` looks like an events file a regression test reads (EVTX, JSON, JSON Lines).
fn is_events_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("evtx" | "json" | "jsonl" | "ndjson")
    )
}

/// `path` made absolute (against the current folder), as change events name paths.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A listening socket on `127.0.0.1:port` with `TCP_NODELAY`, which the connections it accepts
/// inherit: without it, the second write of a response on a kept-alive connection (tiny_http
/// writes the head, then the body) waits for the client's delayed acknowledgement, some 40 ms
/// a request.
fn listener(port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// A running server.
pub struct Serving {
    server: Arc<Server>,
    /// The address it listens on.
    pub address: SocketAddr,
    /// The served state.
    pub state: Arc<RwLock<Served>>,
    notifier: Arc<Notifier>,
}

impl Serving {
    /// Binds `127.0.0.1:port` (0 for any free port).
    pub fn bind(port: u16) -> Result<Serving, super::SiteError> {
        let error = |e: &dyn std::fmt::Display| super::SiteError::Output {
            path: PathBuf::from(format!("127.0.0.1:{port}")),
            source: std::io::Error::other(e.to_string()),
        };
        let server = Server::from_listener(listener(port).map_err(|e| error(&e))?, None)
            .map_err(|e| error(&e))?;
        let address = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], port)));
        Ok(Serving {
            server: Arc::new(server),
            address,
            state: Arc::new(RwLock::new(Served::default())),
            notifier: Arc::new(Notifier::default()),
        })
    }

    /// Answers requests until the server is unblocked. A status request that waits for a
    /// change is handed to a thread of its own, so it holds up no other request.
    pub fn answer_requests(&self) {
        for request in self.server.incoming_requests() {
            let url = request.url().to_string();
            let path = url.split(['?', '#']).next().unwrap_or("/");
            let wait = (path == STATUS_PATH).then(|| Wait::of(&url)).flatten();
            match wait {
                Some(wait) if !self.notifier.stopping.load(Ordering::SeqCst) => {
                    self.hold(request, wait);
                }
                _ => {
                    let response = respond(&url, &self.state);
                    let _ = request.respond(response);
                }
            }
        }
    }

    /// Answers `request` once `wait` is answered, the long-poll time is up or the server
    /// stops; at once if it is answered already or too many requests wait.
    fn hold(&self, request: Request, wait: Wait) {
        let answered = {
            let served = self.state.read().unwrap_or_else(|p| p.into_inner());
            wait.answered_by(&served)
        };
        if answered || self.notifier.waiting.load(Ordering::SeqCst) >= MAX_WAITING {
            let response = status_response(
                &self.state.read().unwrap_or_else(|p| p.into_inner()),
                Some(&wait),
                answered,
            );
            let _ = request.respond(response);
            return;
        }
        self.notifier.waiting.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(&self.state);
        let notifier = Arc::clone(&self.notifier);
        std::thread::spawn(move || {
            let deadline = Instant::now() + LONG_POLL;
            let mut guard = notifier.lock.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                let done = wait.answered_by(&state.read().unwrap_or_else(|p| p.into_inner()));
                let now = Instant::now();
                if done || now >= deadline || notifier.stopping.load(Ordering::SeqCst) {
                    break;
                }
                guard = notifier
                    .changed
                    .wait_timeout(guard, deadline - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            drop(guard);
            let response = status_response(
                &state.read().unwrap_or_else(|p| p.into_inner()),
                Some(&wait),
                true,
            );
            let _ = request.respond(response);
            notifier.waiting.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Stops `answer_requests` and the waiting status requests.
    pub fn stop(&self) {
        self.notifier.stopping.store(true, Ordering::SeqCst);
        self.notifier.notify();
        self.server.unblock();
    }

    /// Builds once, then watches the inputs and templates and updates the site on change,
    /// until the `stop` receiver gets a message or is closed.
    pub fn watch(
        &self,
        options: &BuildOptions,
        templates_dir: Option<&Path>,
        enricher: &dyn Enricher,
        stop: &Receiver<()>,
    ) -> Result<(), super::SiteError> {
        let (events, changes) = channel::<Vec<PathBuf>>();
        // Set on every change: an update in progress then leaves its second step (index pages,
        // site pages, exports) to the next one, which starts at once.
        let pending = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&pending);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    if !matches!(event.kind, notify::EventKind::Access(_)) {
                        flag.store(true, Ordering::SeqCst);
                        let _ = events.send(event.paths);
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
        let mut session = Session {
            cache: SiteCache::new(),
            templates: None,
            templates_dir: templates_dir.map(absolute),
        };
        session.cache.interrupt_with(Arc::clone(&pending), PAUSE);
        // Watching starts before the first build, so no change made during it is missed.
        session.update(None, options, enricher, &self.state, &self.notifier);
        loop {
            match stop.try_recv() {
                Ok(()) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
            match changes.recv_timeout(Duration::from_millis(200)) {
                Ok(mut paths) => {
                    let first = Instant::now();
                    while first.elapsed() < SETTLE_AT_MOST {
                        match changes.recv_timeout(SETTLE) {
                            Ok(more) => paths.extend(more),
                            Err(_) => break,
                        }
                    }
                    pending.store(false, Ordering::SeqCst);
                    // Events that came after the flag was cleared set it again.
                    while let Ok(more) = changes.try_recv() {
                        paths.extend(more);
                    }
                    paths.sort();
                    paths.dedup();
                    session.update(Some(&paths), options, enricher, &self.state, &self.notifier);
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

/// The site files a URL path may name, in the order they are tried.
fn candidates(path: &str) -> Vec<String> {
    let decoded = percent_decode(path.trim_start_matches('/'));
    if decoded.is_empty() || decoded.ends_with('/') {
        vec![format!("{decoded}index.html")]
    } else {
        vec![
            decoded.clone(),
            format!("{decoded}/index.html"),
            format!("{decoded}.html"),
        ]
    }
}

/// The status JSON, for a request that waited for `wait` (`long_poll`: it was held or
/// answered as a long poll).
fn status_response(
    served: &Served,
    wait: Option<&Wait>,
    long_poll: bool,
) -> Response<Cursor<Vec<u8>>> {
    let body = serde_json::to_string(&Status {
        version: served.version,
        error: served.error.as_deref(),
        failed: served.failed,
        reload: wait.is_some_and(|w| w.reload(served)),
        long_poll,
    })
    .unwrap_or_default();
    Response::from_string(body)
        .with_header(header("Content-Type", "application/json"))
        .with_header(header("Cache-Control", "no-store"))
}

fn respond(url: &str, state: &RwLock<Served>) -> Response<Cursor<Vec<u8>>> {
    let served = state.read().unwrap_or_else(|p| p.into_inner());
    let path = url.split(['?', '#']).next().unwrap_or("/");
    if path == STATUS_PATH {
        return status_response(&served, None, false);
    }
    for candidate in &candidates(path) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(files: &[(&str, Option<&str>)]) -> Delta {
        Delta {
            files: files
                .iter()
                .map(|(p, b)| (p.to_string(), b.map(|b| b.as_bytes().to_vec())))
                .collect(),
            ..Delta::default()
        }
    }

    #[test]
    fn a_long_poll_is_answered_when_its_page_changes() {
        let mut served = Served::default();
        served.publish(Delta {
            replace: true,
            ..delta(&[("index.html", Some("home")), ("rules/a.html", Some("a"))])
        });
        let wait = Wait::of("/__sigwiki/status?since=1&page=%2Frules%2Fa.html").expect("wait");
        assert_eq!(wait.page.as_deref(), Some("/rules/a.html"));
        assert!(!wait.answered_by(&served));
        // Another page changes: this one waits on.
        served.publish(delta(&[("index.html", Some("home 2"))]));
        assert!(!wait.answered_by(&served));
        // The same bytes again are no change.
        served.publish(delta(&[("rules/a.html", Some("a"))]));
        assert!(!wait.answered_by(&served));
        served.publish(delta(&[("rules/a.html", Some("a 2"))]));
        assert!(wait.answered_by(&served) && wait.reload(&served));
        // A build error answers every wait, without a reload.
        let wait = Wait::of("/__sigwiki/status?since=4&page=/").expect("wait");
        served.fail("template rule.md: boom".to_string());
        assert!(wait.answered_by(&served) && !wait.reload(&served));
        // A removed page counts as changed; a status request without `since` does not wait.
        let wait = Wait::of("/__sigwiki/status?since=5&page=/rules/a").expect("wait");
        served.publish(delta(&[("rules/a.html", None)]));
        assert!(wait.reload(&served));
        assert!(Wait::of("/__sigwiki/status").is_none());
    }
}
