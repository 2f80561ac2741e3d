//! `sigwiki serve`: the site is served from memory, a changed rule is rebuilt and the status
//! endpoint tells the page to reload, and a broken template shows its error while the last
//! good site stays served.

mod site_common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sigwiki::site::BuildOptions;
use sigwiki::site::serve::Serving;
use site_common::{TestCatalog, fixtures};

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn serves_rebuilds_on_change_and_reports_template_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let rule = rules.join("failed_logon.yml");
    std::fs::copy(fixtures().join("rules/windows/failed_logon.yml"), &rule).expect("copy");
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(&templates).expect("mkdir");
    let mut options = BuildOptions::new(vec![rules.clone()]);
    options.live_reload = true;
    let serving = Serving::bind(0).expect("bind");
    let address = serving.address;
    let (stop_sender, stop) = std::sync::mpsc::channel();
    let catalog = TestCatalog::new();
    let (serving, options, templates, catalog) = (&serving, &options, &templates, &catalog);
    std::thread::scope(|scope| {
        // On a failed assertion the scope waits for its threads: stop them first.
        struct StopOnDrop<'a>(&'a Serving, std::sync::mpsc::Sender<()>);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                let _ = self.1.send(());
                self.0.stop();
            }
        }
        let _guard = StopOnDrop(serving, stop_sender.clone());
        scope.spawn(|| serving.answer_requests());
        let watcher = scope.spawn(move || serving.watch(options, Some(templates), catalog, &stop));
        let version = || -> u64 {
            let (_, body) = get(address, "/__sigwiki/status");
            serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["version"].as_u64())
                .unwrap_or(0)
        };
        wait_for("the first build", || version() >= 1);
        let (status, home) = get(address, "/");
        assert_eq!(status, 200);
        assert!(
            home.contains("data-live-reload=\"/__sigwiki/status\""),
            "{home}"
        );
        let (status, page) = get(address, "/rules/failed_logon.html");
        assert_eq!(status, 200);
        assert!(page.contains("<h1 id=\"rule-title\">Failed Logon</h1>"));
        let (status, _) = get(address, "/no/such/page.html");
        assert_eq!(status, 404);

        // A changed rule is rebuilt.
        let before = version();
        let text = std::fs::read_to_string(&rule)
            .expect("read")
            .replace("title: Failed Logon", "title: Failed Logon Renamed");
        std::fs::write(&rule, text).expect("write");
        wait_for("the rebuild", || version() > before);
        wait_for("the new title", || {
            get(address, "/rules/failed_logon.html")
                .1
                .contains("Failed Logon Renamed")
        });

        // A broken template is reported; the last good site stays.
        let before = version();
        std::fs::write(templates.join("rule.md"), "{% if %}\n").expect("write");
        wait_for("the failed rebuild", || version() > before);
        wait_for("the error", || {
            let (_, body) = get(address, "/__sigwiki/status");
            body.contains("rule.md")
        });
        assert!(
            get(address, "/rules/failed_logon.html")
                .1
                .contains("Failed Logon Renamed")
        );

        stop_sender.send(()).expect("stop");
        watcher.join().expect("join").expect("watch");
        serving.stop();
    });
}
