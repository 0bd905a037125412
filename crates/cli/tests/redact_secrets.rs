//! `--redact` hides secrets by their value as well as by position: a live API key used as a
//! property name, a JWT used as a map key and a token in the load URL are on the unredacted
//! page and on no redacted one, while the program's own names stay.

mod common;

use std::process::Command;

use common::*;

const KEY: &str = "sk_live_51HxYzAbCdEfGh12345678qRsT";
const JWT: &str =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const TOKEN: &str = "SECRET123abcdefXYZ";

/// A registry keyed by an API key, holding lists keyed by a JWT; one list grows.
fn app() -> String {
    format!(
        "'use strict';
const http = require('http');
const registry = {{}};
registry['{KEY}'] = {{ tokens: {{}} }};
registry['{KEY}'].tokens['{JWT}'] = [];
let n = 0;
http.createServer((req, res) => {{
  n++;
  registry['{KEY}'].tokens['{JWT}'].push({{ n, at: Date.now() }});
  res.end('ok');
}}).listen(Number(process.argv[2] || 0), '127.0.0.1');
"
    )
}

#[test]
fn redact_hides_secrets_by_their_value() {
    let dir = TempDir::new("redact-secrets");
    let script = dir.join("app.js");
    std::fs::write(&script, app()).expect("write the app");
    let run_dir = dir.join("run");
    let redacted = dir.join("redacted.html");
    let out = Command::new(heaphound())
        .args(["hunt", "--quiet", "--load"])
        .arg(format!("/?token={TOKEN}"))
        .args(["-n", "300", "-o"])
        .arg(&run_dir)
        .arg("--html")
        .arg(&redacted)
        .arg("--redact")
        .arg("--")
        .arg("node")
        .arg(&script)
        .arg("0")
        .output()
        .expect("run heaphound hunt");
    assert_eq!(
        out.status.code(),
        Some(1),
        "hunt should find the leak:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same run unredacted shows all three: the test can see them.
    let plain = dir.join("plain.html");
    let mut cmd = Command::new(heaphound());
    cmd.arg("report").arg(&run_dir).arg("-o").arg(&plain);
    run(cmd);
    let plain = std::fs::read_to_string(&plain).expect("plain page");
    for secret in [KEY, &JWT[..30], TOKEN] {
        assert!(
            plain.contains(secret),
            "the unredacted page lacks {secret}: this test would prove nothing"
        );
    }

    let mut cmd = Command::new(heaphound());
    cmd.arg("report")
        .arg(&run_dir)
        .arg("-o")
        .arg(dir.join("report-redacted.html"))
        .arg("--redact");
    run(cmd);
    for page in [redacted, dir.join("report-redacted.html")] {
        let page = std::fs::read_to_string(&page).expect("redacted page");
        for secret in [&KEY[..14], &JWT[..20], TOKEN] {
            assert!(!page.contains(secret), "{secret} is on the redacted page");
        }
        // The program's own names, the shape of the leak and the URL's parameter name stay.
        for name in [
            "registry",
            ".tokens",
            "Array",
            "?token=",
            "unbounded-collection",
            "‹len ",
        ] {
            assert!(
                page.contains(name),
                "{name} is missing from the redacted page"
            );
        }
    }
}
