//! The HTML report of a real hunt: rendered by headless Chromium without script errors,
//! with the verdict, every suspect and the memory chart; and `--redact` leaving none of
//! the program's user data (strings that are really in the snapshots) in the file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use common::*;

/// Runs `hunt` on `script` with short load phases; the run folder is `dir/run`.
fn hunt(script: &Path, dir: &Path, extra: &[&str]) -> (PathBuf, Output) {
    let run_dir = dir.join("run");
    let mut cmd = Command::new(heaphound());
    cmd.args(["hunt", "--quiet", "--load", "/items?user=7", "-n", "400"])
        .arg("-o")
        .arg(&run_dir)
        .args(extra)
        .arg("--")
        .arg("node")
        .arg(script)
        .arg("0");
    let out = cmd.output().expect("run heaphound hunt");
    assert!(
        out.status.code() == Some(1),
        "hunt should find the leak (exit 1), got {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (run_dir, out)
}

fn chromium() -> String {
    let bin = std::env::var("HEAPHOUND_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&bin).arg("--version").output();
    assert!(
        found.as_ref().is_ok_and(|o| o.status.success()),
        "`{bin}` cannot be run ({}): this test needs headless Chromium. Install the Debian \
         package (`apt-get install -y chromium`; .ci/run does it) or point HEAPHOUND_CHROMIUM \
         at a Chromium binary",
        match &found {
            Ok(o) => format!("{}", o.status),
            Err(e) => e.to_string(),
        }
    );
    bin
}

/// Headless Chromium with nothing of its own going on: no network, sync or updates.
fn chromium_cmd(bin: &str, profile: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

#[test]
fn chromium_renders_the_report_of_a_real_hunt() {
    let dir = TempDir::new("html");
    let script = repo_root().join("examples/cache-leak/server.js");
    let html = dir.path().join("report.html");
    let (run_dir, _) = hunt(
        &script,
        dir.path(),
        &["--allocation-sites", "--html", &html.to_string_lossy()],
    );
    let page = std::fs::read_to_string(&html).expect("hunt --html wrote the page");
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(run_dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");

    // Self-contained: nothing is fetched from anywhere.
    for banned in ["http://", "https://", "src=\"", "<link"] {
        let outside: Vec<&str> = page
            .match_indices(banned)
            .map(|(i, _)| &page[i.saturating_sub(40)..(i + 60).min(page.len())])
            .filter(|ctx| !ctx.contains("127.0.0.1") && !ctx.contains("www.w3.org/2000/svg"))
            .collect();
        assert!(outside.is_empty(), "the page refers outside: {outside:?}");
    }

    let bin = chromium();
    let mut dump = chromium_cmd(&bin, &dir.path().join("profile-dom"));
    dump.arg("--virtual-time-budget=3000")
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()));
    let out = dump.output().expect("run chromium --dump-dom");
    assert!(
        out.status.success(),
        "chromium --dump-dom failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "script errors: {console_errors:?}"
    );
    assert!(
        dom.contains("id=\"hh-errors\" data-count=\"0\" hidden"),
        "the page's error trap caught something"
    );
    assert!(
        dom.contains("data-script=\"ok\""),
        "the page's script did not run to its end"
    );
    assert!(
        dom.contains("data-verdict=\"leak\""),
        "no leak verdict on the page"
    );
    assert!(dom.contains(">LEAK<"));
    let suspects = array_field(&doc, "suspects", "report.json");
    assert!(!suspects.is_empty());
    for s in suspects {
        let rank = u64_field(s, "rank", "suspect");
        assert!(
            dom.contains(&format!("id=\"suspect-{rank}\"")),
            "suspect #{rank} is missing"
        );
        let title = s["title"].as_str().unwrap_or_default();
        let title = title.replace('&', "&amp;").replace('<', "&lt;");
        assert!(dom.contains(&title), "suspect #{rank}'s title is missing");
    }
    assert!(dom.contains("<svg class=\"chart\""), "no memory chart");
    assert!(dom.contains("class=\"line rss\"") && dom.contains("class=\"trend\""));
    assert_eq!(
        dom.matches("<g class=\"snap\">").count(),
        6,
        "3 snapshots × 2 panels"
    );
    assert!(dom.contains("id=\"classes-table\""), "no class comparison");
    assert!(dom.contains("class=\"domtree\""), "no dominator tree");
    assert!(dom.contains("Session"), "the leaking class is not named");
    assert!(
        dom.contains("<svg class=\"flame\""),
        "no allocation flame graph although allocation stacks were recorded"
    );
    assert!(
        dom.contains("cache-leak/server.js:8:14"),
        "no source link to the Session class"
    );

    assert!(
        dom.contains("<button id=\"theme\" type=\"button\">"),
        "the theme toggle was not shown by the script"
    );

    // Scripts off: the page's own CSP, tightened to `script-src 'none'`, has the browser
    // refuse every script; the essentials are drawn server-side and must still be there.
    let noscript = dir.path().join("noscript.html");
    let strict = page.replace("script-src 'unsafe-inline'", "script-src 'none'");
    assert_ne!(strict, page, "the page has no script-src to tighten");
    std::fs::write(&noscript, &strict).expect("write the scripts-off copy");
    let mut off = chromium_cmd(&bin, &dir.path().join("profile-off"));
    off.arg("--dump-dom")
        .arg(format!("file://{}", noscript.display()));
    let out = off.output().expect("run chromium, scripts off");
    let dom_off = String::from_utf8_lossy(&out.stdout);
    assert!(
        !dom_off.contains("data-script=\"ok\"")
            && dom_off.contains("id=\"theme\" type=\"button\" hidden"),
        "scripts ran although the CSP forbids them"
    );
    assert!(dom_off.contains("data-verdict=\"leak\"") && dom_off.contains("id=\"suspect-1\""));
    assert!(dom_off.contains("<svg class=\"chart\"") && dom_off.contains("<details"));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let png = shots.join("report.png");
    let _ = std::fs::remove_file(&png);
    let mut shot = chromium_cmd(&bin, &dir.path().join("profile-png"));
    shot.arg("--window-size=1280,2600")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()));
    let out = shot.output().expect("run chromium --screenshot");
    assert!(out.status.success(), "chromium --screenshot failed");
    let bytes = std::fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000);
    eprintln!("screenshot: {}", png.display());

    // And how it looks with scripts off, for people to check.
    let png = shots.join("report-noscript.png");
    let _ = std::fs::remove_file(&png);
    let mut shot = chromium_cmd(&bin, &dir.path().join("profile-off-png"));
    shot.arg("--window-size=1280,1400")
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", noscript.display()));
    let out = shot
        .output()
        .expect("run chromium --screenshot, scripts off");
    assert!(
        out.status.success() && png.is_file(),
        "no scripts-off screenshot"
    );

    drive_page(&bin, dir.path(), &html);
}

/// Opens the page in Chromium under the DevTools protocol (the same CDP client heaphound
/// drives node with) and uses it: sorts the class table, filters it, switches the theme.
fn drive_page(bin: &str, dir: &Path, html: &Path) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    use heaphound_inspector::{discover, ConnectOptions, Session};

    let mut cmd = chromium_cmd(bin, &dir.join("profile-cdp"));
    cmd.arg("--remote-debugging-port=0")
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium with a debugging port");
    let stderr = child.stderr.take().expect("chromium's stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split("DevTools listening on ").nth(1) {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    let browser_ws = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("chromium announced no DevTools endpoint within 20 s");
    let port: u16 = browser_ws
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .expect("a port in the DevTools URL");

    let result = (|| -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let page_ws = loop {
            let targets = discover("127.0.0.1", port).map_err(|e| e.to_string())?;
            if let Some(ws) = targets
                .into_iter()
                .find(|t| t.url.starts_with("file://"))
                .and_then(|t| t.web_socket_debugger_url)
            {
                break ws;
            }
            if Instant::now() > deadline {
                return Err("no page target".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut page =
            Session::connect(&page_ws, &ConnectOptions::default()).map_err(|e| e.to_string())?;
        loop {
            let ready = page
                .evaluate("document.body && document.body.getAttribute('data-script')")
                .map_err(|e| e.to_string())?;
            if ready == "ok" {
                break;
            }
            if Instant::now() > deadline {
                return Err("the page's script never finished".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let v = page
            .evaluate(
                "(function(){
                  var t=document.getElementById('classes-table'),h=t.tHead.rows[0].cells;
                  var col=function(i){return Array.prototype.map.call(t.tBodies[0].rows,function(r){return Number(r.cells[i].getAttribute('data-v'));});};
                  h[3].click(); var desc=col(3);
                  h[3].click(); var asc=col(3);
                  var f=document.getElementById('class-filter'); f.value='session'; f.dispatchEvent(new Event('input'));
                  var shown=Array.prototype.filter.call(t.tBodies[0].rows,function(r){return !r.hidden;}).map(function(r){return r.cells[0].getAttribute('data-v');});
                  var before=getComputedStyle(document.body).backgroundColor;
                  document.getElementById('theme').click();
                  var after=getComputedStyle(document.body).backgroundColor;
                  return JSON.stringify({desc:desc,asc:asc,shown:shown,theme:document.documentElement.getAttribute('data-theme'),before:before,after:after,errors:window.__hhErrors});
                })()",
            )
            .map_err(|e| e.to_string())?;
        page.close();
        serde_json::from_str(v.as_str().unwrap_or("null")).map_err(|e| e.to_string())
    })();
    // Close the browser we started; kill it only if it does not go.
    if let Ok(mut b) = Session::connect(&browser_ws, &ConnectOptions::default()) {
        let _ = b.call("Browser.close", serde_json::json!({}));
    }
    let end = Instant::now() + Duration::from_secs(5);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();

    let v = result.unwrap_or_else(|e| panic!("driving the page failed: {e}"));
    let nums = |k: &str| -> Vec<f64> {
        v[k].as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (desc, asc) = (nums("desc"), nums("asc"));
    assert!(desc.len() > 5, "{v}");
    assert!(
        desc.windows(2).all(|w| w[0] >= w[1]),
        "not sorted descending: {desc:?}"
    );
    assert!(
        asc.windows(2).all(|w| w[0] <= w[1]),
        "not sorted ascending: {asc:?}"
    );
    let shown = v["shown"].as_array().cloned().unwrap_or_default();
    assert!(
        !shown.is_empty()
            && shown
                .iter()
                .all(|n| n.as_str().is_some_and(|n| n.contains("session"))),
        "the filter kept other classes: {shown:?}"
    );
    assert!(v["theme"] == "dark" || v["theme"] == "light", "{v}");
    assert_ne!(v["before"], v["after"], "the theme button changed nothing");
    assert_eq!(v["errors"], serde_json::json!([]), "script errors: {v}");
}

/// A server that keeps what its users send: notes with a token in them, and an object used
/// as a map keyed by the token.
const TOKEN_APP: &str = "'use strict';
const http = require('http');
const crypto = require('crypto');
const vault = {};
const notes = [];
let n = 0;
http.createServer((req, res) => {
  n++;
  const token = 'TKN' + crypto.randomBytes(12).toString('hex');
  vault[token + '-key'] = { owner: 'owner-' + token };
  notes.push('private note ' + token + ' #' + n);
  res.end('ok');
}).listen(Number(process.argv[2] || 0), '127.0.0.1');
";

/// The tokens the app stored, as they are in a snapshot file's strings.
fn tokens_in(snapshot: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(snapshot).expect("read snapshot");
    let re = regex::Regex::new(r"TKN[0-9a-f]{24}").expect("regex");
    let mut v: Vec<String> = re
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn redact_leaves_no_user_data_in_the_page() {
    let dir = TempDir::new("html-redact");
    let script = dir.path().join("tokens.js");
    std::fs::write(&script, TOKEN_APP).expect("write the app");
    let redacted = dir.path().join("redacted.html");
    let (run_dir, _) = hunt(
        &script,
        dir.path(),
        &["--html", &redacted.to_string_lossy(), "--redact"],
    );
    let tokens = tokens_in(&run_dir.join("3.heapsnapshot"));
    assert!(
        tokens.len() > 100,
        "the app's tokens are not in the snapshot"
    );

    // Without --redact the same run shows user data: the test can see a leak.
    let plain = dir.path().join("plain.html");
    let mut cmd = Command::new(heaphound());
    cmd.arg("report").arg(&run_dir).arg("-o").arg(&plain);
    run(cmd);
    let plain = std::fs::read_to_string(&plain).expect("plain page");
    assert!(
        tokens.iter().any(|t| plain.contains(t.as_str())),
        "the unredacted page shows no token: this test would prove nothing"
    );

    let page = std::fs::read_to_string(&redacted).expect("hunt --html --redact wrote the page");
    let shown: Vec<&String> = tokens
        .iter()
        .filter(|t| page.contains(t.as_str()))
        .collect();
    assert!(shown.is_empty(), "redacted page shows tokens: {shown:?}");
    for leak in ["TKN", "private note", "owner-"] {
        assert!(!page.contains(leak), "redacted page contains {leak:?}");
    }
    assert!(
        page.contains("‹len "),
        "no redaction placeholder on the page"
    );
    assert!(
        page.contains("class=\"redacted\""),
        "the page does not say it is redacted"
    );
    // Code stays: the variable and the class names.
    assert!(
        page.contains("notes") || page.contains("vault"),
        "the holder is not named"
    );

    // `report --redact` on the run folder hides the same.
    let again = dir.path().join("again.html");
    let mut cmd = Command::new(heaphound());
    cmd.arg("report")
        .arg(run_dir.join("report.json"))
        .arg("--redact")
        .arg("-o")
        .arg(&again);
    run(cmd);
    let again = std::fs::read_to_string(&again).expect("report --redact page");
    assert!(!again.contains("TKN") && !again.contains("private note"));
}

#[test]
fn report_on_bad_input_names_the_file() {
    let dir = TempDir::new("html-bad");
    let not_json = dir.path().join("report.json");
    std::fs::write(&not_json, "{\"verdict\": ").expect("write");
    let other = dir.path().join("other.json");
    std::fs::write(&other, "{\"nodes\": []}").expect("write");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    for (input, says) in [
        (not_json.clone(), "not valid JSON"),
        (other.clone(), "not a heaphound report"),
        (empty.clone(), "no report.json in this folder"),
        (dir.path().join("missing.json"), "cannot read"),
    ] {
        let out = Command::new(heaphound())
            .arg("report")
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join("x.html"))
            .output()
            .expect("run heaphound report");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", input.display());
        assert!(
            err.contains(&*input.to_string_lossy()) && err.contains(says),
            "{}: {err}",
            input.display()
        );
    }
}
