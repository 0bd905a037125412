//! The TypeScript service of examples/ts-service, built for real with its pinned compilers,
//! for the source-map tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::live::*;
use super::*;

/// The service copied into `tmp` and built with `build` (a command run there, with the
/// example's pinned node_modules linked in).
pub fn built(tmp: &TempDir, build: &[&str]) -> PathBuf {
    let example = repo_root().join("examples/ts-service");
    let modules = example.join("node_modules");
    assert!(
        modules.join("typescript").is_dir() && modules.join("esbuild").is_dir(),
        "examples/ts-service/node_modules is missing: run scripts/test (npm ci --prefix examples/ts-service)"
    );
    let app = tmp.path().join("app");
    std::fs::create_dir_all(app.join("src")).unwrap();
    for f in [
        "src/server.ts",
        "src/cache.ts",
        "tsconfig.json",
        "tsconfig.esm.json",
        "package.json",
    ] {
        std::fs::copy(example.join(f), app.join(f)).unwrap();
    }
    std::os::unix::fs::symlink(&modules, app.join("node_modules")).unwrap();
    let out = Command::new(build[0])
        .args(&build[1..])
        .current_dir(&app)
        .output()
        .expect("the build runs");
    assert!(
        out.status.success(),
        "{build:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    app
}

pub const TSC: &str = "node_modules/typescript/bin/tsc";
pub const ESBUILD: &str = "node_modules/.bin/esbuild";

/// The 1-based line of `text` in the example's `src/FILE`.
pub fn ts_line(file: &str, text: &str) -> u64 {
    let src =
        std::fs::read_to_string(repo_root().join("examples/ts-service/src").join(file)).unwrap();
    src.lines()
        .position(|l| l.contains(text))
        .expect("the line is there") as u64
        + 1
}

pub fn hunt(app: &Path, script: &str, dir: &Path, extra: &[&str]) -> (Value, String) {
    // Allocation sites: without them the snapshot knows which closures hold the cache,
    // not the line that fills it.
    let mut args = vec![
        "--json",
        "-q",
        "--allocation-sites",
        "--load",
        "/x",
        "-n",
        "400",
    ];
    args.extend_from_slice(extra);
    let script = app.join(script);
    let out = output(hunt_cmd(
        dir,
        &args,
        &["node", &script.to_string_lossy(), "0"],
    ));
    let doc = parse_json(&out, "hunt");
    (doc, stderr(&out))
}

/// The three snapshots of a hunt's run folder.
pub fn snapshots_in(dir: &Path) -> Vec<String> {
    (1..=3)
        .map(|i| dir.join(format!("{i}.heapsnapshot")).display().to_string())
        .collect()
}

/// `heaphound ARGS… --json FILES…`, parsed.
pub fn json_of(args: &[&str], files: &[String]) -> Value {
    let mut c = Command::new(heaphound());
    c.args(args).arg("--json").args(files);
    parse_json(&output(c), &args.join(" "))
}
