//! Support of the browser test: a static HTTP server that publishes a built site under a base
//! path (as GitHub Pages does, with `404.html` for unknown paths), a headless Chromium started
//! for the test and killed with its whole process group on drop, and a small synchronous Chrome
//! DevTools Protocol client over a WebSocket that drives one tab and records every console
//! error, uncaught exception, failed load and HTTP error of the pages it shows.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Errors of the browser session, as text for the test's failure message.
pub type Result<T> = std::result::Result<T, String>;

/// The longest a single browser operation (a load, a wait for a condition) may take; the
/// session's overall deadline bounds it further.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// Static server

/// A static file server on 127.0.0.1 that serves `root` under the path `base` (`/sigwiki/`).
pub struct StaticServer {
    /// The address it listens on.
    pub address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StaticServer {
    /// Starts serving on a free port.
    pub fn start(root: PathBuf, base: &str) -> StaticServer {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind the static server");
        let address = server
            .server_addr()
            .to_ip()
            .expect("the static server listens on an IP address");
        let stop = Arc::new(AtomicBool::new(false));
        let base = base.to_string();
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match server.recv_timeout(Duration::from_millis(100)) {
                        Ok(Some(request)) => {
                            let response = static_response(request.url(), &root, &base);
                            let _ = request.respond(response);
                        }
                        Ok(None) => {}
                        Err(_) => break,
                    }
                }
            })
        };
        StaticServer {
            address,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn static_response(
    url: &str,
    root: &Path,
    base: &str,
) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    let header = |name: &str, value: &str| {
        tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("valid header")
    };
    let path = url.split(['?', '#']).next().unwrap_or_default();
    if path == base.trim_end_matches('/') {
        return tiny_http::Response::from_data(Vec::new())
            .with_status_code(301)
            .with_header(header("Location", base));
    }
    let Some(relative) = path.strip_prefix(base) else {
        return tiny_http::Response::from_data(b"outside the site".to_vec())
            .with_status_code(404)
            .with_header(header("Content-Type", "text/plain"));
    };
    let mut relative = percent_decode(relative);
    if relative.is_empty() || relative.ends_with('/') {
        relative.push_str("index.html");
    }
    let file = root.join(&relative);
    let inside = Path::new(&relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    match std::fs::read(&file) {
        Ok(bytes) if inside => tiny_http::Response::from_data(bytes).with_header(header(
            "Content-Type",
            sigwiki::site::serve::content_type(&relative),
        )),
        _ => {
            let page = std::fs::read(root.join("404.html")).unwrap_or_default();
            tiny_http::Response::from_data(page)
                .with_status_code(404)
                .with_header(header("Content-Type", "text/html; charset=utf-8"))
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

// ---------------------------------------------------------------------------------------------
// Chromium

/// Finds Chromium: `$SIGWIKI_CHROMIUM` when set (and `None` when that file does not exist),
/// else `chromium` (Debian's package) or `chromium-browser` on `PATH` or in `/usr/bin`.
pub fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SIGWIKI_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            eprintln!("SIGWIKI_CHROMIUM={} does not exist", path.display());
        }
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.push(PathBuf::from("/usr/bin"));
    ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// A headless Chromium with its own profile in a temporary folder. Dropping it kills the whole
/// process group (browser, zygote, renderers), also when the test panics.
pub struct Browser {
    child: Child,
    dir: tempfile::TempDir,
    /// The DevTools WebSocket URL of the browser.
    pub websocket_url: String,
}

impl Browser {
    /// Starts Chromium and waits for its DevTools endpoint.
    pub fn launch(binary: &Path, deadline: Instant) -> Result<Browser> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
        let profile = dir.path().join("profile");
        let log = File::create(dir.path().join("chromium.log"))
            .map_err(|e| format!("chromium log file: {e}"))?;
        let child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-domain-reliability",
                "--disable-client-side-phishing-detection",
                "--disable-breakpad",
                "--no-pings",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1280,900",
                // Nothing leaves the machine: every address but loopback goes to a closed port.
                "--proxy-server=127.0.0.1:9",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut browser = Browser {
            child,
            dir,
            websocket_url: String::new(),
        };
        let port_file = profile.join("DevToolsActivePort");
        loop {
            // Chromium writes the port on the first line and the browser target's path on the
            // second; wait until both are there.
            let text = std::fs::read_to_string(&port_file).unwrap_or_default();
            let mut lines = text.lines();
            if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                if port.parse::<u16>().is_ok() && path.starts_with('/') {
                    browser.websocket_url = format!("ws://127.0.0.1:{port}{path}");
                    return Ok(browser);
                }
            }
            if let Ok(Some(status)) = browser.child.try_wait() {
                return Err(format!(
                    "chromium exited with {status} before opening DevTools\n{}",
                    browser.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "chromium did not open DevTools in time\n{}",
                    browser.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines Chromium wrote to stderr.
    pub fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("chromium.log")).unwrap_or_default();
        // Chromium complains about the missing D-Bus on every start: not news.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| !l.contains(":ERROR:dbus/"))
            .collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser leads its own process group: end the group, then the leader for sure.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// DevTools protocol

/// An event received from the browser.
#[derive(Debug)]
struct Event {
    method: String,
    params: Value,
    session: Option<String>,
}

/// One tab driven over the DevTools protocol (flattened session on the browser connection).
pub struct Tab {
    socket: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    events: VecDeque<Event>,
    deadline: Instant,
    /// Request id → URL, to name failed loads.
    requests: HashMap<String, String>,
    problems: Vec<String>,
    notes: Vec<String>,
    /// A URL whose HTTP error status is expected (the 404 page's own document).
    expected_error_url: Option<String>,
}

impl Tab {
    /// Connects to the browser, opens a new tab of `width`×`height` pixels, and enables the
    /// domains whose events are checked. Every operation fails past `deadline`.
    pub fn open(websocket_url: &str, width: u32, height: u32, deadline: Instant) -> Result<Tab> {
        let address = websocket_url
            .strip_prefix("ws://")
            .and_then(|rest| rest.split('/').next())
            .ok_or_else(|| format!("not a ws:// URL: {websocket_url}"))?;
        let stream = TcpStream::connect(address).map_err(|e| format!("connect {address}: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .and_then(|()| stream.set_write_timeout(Some(Duration::from_secs(10))))
            .map_err(|e| format!("socket timeouts: {e}"))?;
        let (socket, _) = tungstenite::client(websocket_url, stream)
            .map_err(|e| format!("DevTools WebSocket handshake: {e}"))?;
        // Short reads from now on, so that waits notice the deadline.
        socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(|e| format!("socket timeouts: {e}"))?;
        let mut tab = Tab {
            socket,
            session: String::new(),
            next_id: 0,
            events: VecDeque::new(),
            deadline,
            requests: HashMap::new(),
            problems: Vec::new(),
            notes: Vec::new(),
            expected_error_url: None,
        };
        let target = tab.call_on(None, "Target.createTarget", json!({"url": "about:blank"}))?;
        let target_id = target["targetId"].as_str().unwrap_or_default().to_string();
        let attached = tab.call_on(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        )?;
        tab.session = attached["sessionId"]
            .as_str()
            .ok_or("Target.attachToTarget gave no sessionId")?
            .to_string();
        for domain in ["Page", "Runtime", "Log", "Network"] {
            tab.call(&format!("{domain}.enable"), json!({}))?;
        }
        tab.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )?;
        Ok(tab)
    }

    fn step_deadline(&self) -> Instant {
        self.deadline.min(Instant::now() + STEP_TIMEOUT)
    }

    /// Sends a command to the tab and returns its result.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let session = self.session.clone();
        self.call_on(Some(&session), method, params)
    }

    fn call_on(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .map_err(|e| format!("{method}: send: {e}"))?;
        let deadline = self.step_deadline();
        loop {
            let Some(message) = self.read(deadline).map_err(|e| format!("{method}: {e}"))? else {
                continue;
            };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(message["result"].clone());
            }
        }
    }

    /// Reads the next message: a command response is returned, an event of this tab is recorded
    /// and queued (and `None` returned).
    fn read(&mut self, deadline: Instant) -> Result<Option<Value>> {
        let message = loop {
            if Instant::now() > deadline {
                return Err("timed out waiting for the browser".to_string());
            }
            match self.socket.read() {
                Ok(Message::Text(text)) => break text,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => return Err(format!("DevTools connection: {e}")),
            }
        };
        let value: Value = serde_json::from_str(message.as_str())
            .map_err(|e| format!("DevTools sent bad JSON: {e}"))?;
        if value.get("id").is_some() {
            return Ok(Some(value));
        }
        if let Some(method) = value["method"].as_str() {
            let event = Event {
                method: method.to_string(),
                params: value["params"].clone(),
                session: value["sessionId"].as_str().map(str::to_string),
            };
            if event.session.as_deref() == Some(self.session.as_str()) {
                self.record(&event);
                // Only page lifecycle events are waited for.
                if event.method.starts_with("Page.") {
                    self.events.push_back(event);
                }
            }
        }
        Ok(None)
    }

    /// Notes the console errors, exceptions and failed loads an event reports.
    fn record(&mut self, event: &Event) {
        let p = &event.params;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        match event.method.as_str() {
            "Runtime.consoleAPICalled" => {
                let args: Vec<String> = p["args"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| match &a["value"] {
                        Value::String(s) => s.clone(),
                        Value::Null => text(&a["description"]),
                        other => other.to_string(),
                    })
                    .collect();
                let line = format!("console.{}: {}", text(&p["type"]), args.join(" "));
                match p["type"].as_str() {
                    Some("error" | "assert") => self.problems.push(line),
                    Some("warning") => self.notes.push(line),
                    _ => {}
                }
            }
            "Runtime.exceptionThrown" => {
                let details = &p["exceptionDetails"];
                let description = details["exception"]["description"]
                    .as_str()
                    .unwrap_or_else(|| details["text"].as_str().unwrap_or("exception"));
                self.problems.push(format!(
                    "uncaught exception at {}:{}: {description}",
                    text(&details["url"]),
                    details["lineNumber"]
                ));
            }
            "Log.entryAdded" => {
                let entry = &p["entry"];
                let url = text(&entry["url"]);
                let line = format!(
                    "log {} ({}): {} {url}",
                    text(&entry["level"]),
                    text(&entry["source"]),
                    text(&entry["text"])
                );
                match entry["level"].as_str() {
                    Some("error") if !self.is_expected_error(&url) => self.problems.push(line),
                    Some("error") => {}
                    Some("warning") => self.notes.push(line),
                    _ => {}
                }
            }
            "Network.requestWillBeSent" => {
                self.requests
                    .insert(text(&p["requestId"]), text(&p["request"]["url"]));
            }
            // A load cut short by leaving the page is not a failure of the page.
            "Network.loadingFailed" if p["canceled"].as_bool() != Some(true) => {
                let url = self
                    .requests
                    .get(&text(&p["requestId"]))
                    .cloned()
                    .unwrap_or_default();
                self.problems
                    .push(format!("failed load of {url}: {}", text(&p["errorText"])));
            }
            "Network.responseReceived" => {
                let url = text(&p["response"]["url"]);
                let status = p["response"]["status"].as_u64().unwrap_or(0);
                if status >= 400 && !self.is_expected_error(&url) {
                    self.problems.push(format!("HTTP {status} for {url}"));
                }
            }
            _ => {}
        }
    }

    fn is_expected_error(&self, url: &str) -> bool {
        self.expected_error_url.as_deref() == Some(url)
    }

    /// Accepts an HTTP error status (and the console line about it) for this one URL.
    pub fn expect_error_status_of(&mut self, url: Option<&str>) {
        self.expected_error_url = url.map(str::to_string);
    }

    /// Waits for an event of this tab, dropping the events before it.
    fn wait_event(&mut self, method: &str) -> Result<Value> {
        let deadline = self.step_deadline();
        loop {
            while let Some(event) = self.events.pop_front() {
                if event.method == method {
                    return Ok(event.params);
                }
            }
            self.read(deadline)
                .map_err(|e| format!("waiting for {method}: {e}"))?;
        }
    }

    /// Loads `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) -> Result<()> {
        self.events.clear();
        let result = self.call("Page.navigate", json!({"url": url}))?;
        if let Some(error) = result["errorText"].as_str() {
            return Err(format!("loading {url}: {error}"));
        }
        self.wait_event("Page.loadEventFired").map(|_| ())
    }

    /// Evaluates a JavaScript expression (awaiting a promise) and returns its JSON value.
    pub fn eval(&mut self, expression: &str) -> Result<Value> {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        )?;
        if let Some(details) = result.get("exceptionDetails") {
            let description = details["exception"]["description"]
                .as_str()
                .unwrap_or_else(|| details["text"].as_str().unwrap_or("exception"));
            return Err(format!("evaluating `{expression}`: {description}"));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Evaluates an expression that must give a string.
    pub fn eval_string(&mut self, expression: &str) -> Result<String> {
        match self.eval(expression)? {
            Value::String(s) => Ok(s),
            other => Err(format!("`{expression}` gave {other}, not a string")),
        }
    }

    /// Evaluates an expression that must give a number.
    pub fn eval_number(&mut self, expression: &str) -> Result<f64> {
        self.eval(expression)?
            .as_f64()
            .ok_or_else(|| format!("`{expression}` is not a number"))
    }

    /// Polls `expression` until it is true; `what` names the condition in the error.
    pub fn wait_until(&mut self, expression: &str, what: &str) -> Result<()> {
        let deadline = self.step_deadline();
        loop {
            if self.eval(&format!("!!({expression})"))? == Value::Bool(true) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what} (`{expression}`)"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The current URL of the page.
    pub fn url(&mut self) -> Result<String> {
        self.eval_string("location.href")
    }

    /// Clicks the first element matching `selector` with the mouse, at the middle of its first
    /// box, after scrolling it into view; fails when another element covers that point.
    pub fn click(&mut self, selector: &str) -> Result<()> {
        let script = format!(
            r#"(() => {{
  const el = document.querySelector({selector});
  if (!el) return {{error: "no element"}};
  el.scrollIntoView({{block: "center", inline: "center"}});
  const box = el.getClientRects()[0];
  if (!box || box.width === 0 || box.height === 0) return {{error: "not displayed"}};
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  if (!hit || !(hit === el || el.contains(hit))) return {{error: "covered by " + (hit ? hit.outerHTML.slice(0, 120) : "nothing")}};
  return {{x, y}};
}})()"#,
            selector = json!(selector)
        );
        let point = self.eval(&script)?;
        if let Some(error) = point["error"].as_str() {
            return Err(format!("cannot click {selector}: {error}"));
        }
        let (x, y) = (point["x"].clone(), point["y"].clone());
        self.call(
            "Input.dispatchMouseEvent",
            json!({"type": "mouseMoved", "x": x, "y": y}),
        )?;
        for kind in ["mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )?;
        }
        Ok(())
    }

    /// Clicks an element that leads to another page and waits for that page's load event.
    pub fn click_to_navigate(&mut self, selector: &str) -> Result<()> {
        self.events.clear();
        self.click(selector)?;
        self.wait_event("Page.loadEventFired").map(|_| ())
    }

    /// Clicks into a text field and types `text` key by key.
    pub fn type_into(&mut self, selector: &str, text: &str) -> Result<()> {
        self.click(selector)?;
        let focused = self.eval(&format!(
            "document.activeElement === document.querySelector({})",
            json!(selector)
        ))?;
        if focused != Value::Bool(true) {
            return Err(format!("{selector} did not take the focus"));
        }
        for c in text.chars() {
            let key = c.to_string();
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyDown", "key": key, "text": key, "unmodifiedText": key}),
            )?;
            self.call(
                "Input.dispatchKeyEvent",
                json!({"type": "keyUp", "key": key}),
            )?;
        }
        Ok(())
    }

    /// Presses Enter in the focused element and waits for the page it leads to.
    pub fn press_enter_to_navigate(&mut self) -> Result<()> {
        self.events.clear();
        let enter = json!({"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
            "nativeVirtualKeyCode": 13});
        let mut down = enter.clone();
        down["type"] = json!("keyDown");
        down["text"] = json!("\r");
        self.call("Input.dispatchKeyEvent", down)?;
        let mut up = enter;
        up["type"] = json!("keyUp");
        self.call("Input.dispatchKeyEvent", up)?;
        self.wait_event("Page.loadEventFired").map(|_| ())
    }

    /// Saves a PNG screenshot of the viewport.
    pub fn screenshot(&mut self, path: &Path) -> Result<()> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"}))?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap_or_default())
            .map_err(|e| format!("screenshot data: {e}"))?;
        std::fs::write(path, data).map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// Lets late events arrive, then returns and forgets the problems seen so far, and prints
    /// the warnings.
    pub fn take_problems(&mut self) -> Result<Vec<String>> {
        // Events emitted before this round trip arrive before its response.
        std::thread::sleep(Duration::from_millis(150));
        self.eval("0")?;
        for note in self.notes.drain(..) {
            eprintln!("  note: {note}");
        }
        Ok(std::mem::take(&mut self.problems))
    }
}
