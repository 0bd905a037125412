//! Helpers shared by the integration tests that run real node processes and heaphound.
#![allow(dead_code)]

pub mod leaks;
pub mod live;
pub mod ts;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

// Each test binary uses its own part of these helpers.
#[allow(unused_imports)]
pub use heaphound_test_support::{Kill, TempDir};

pub fn repo_root() -> PathBuf {
    heaphound_test_support::repo_root(env!("CARGO_MANIFEST_DIR"))
}

pub fn heaphound() -> &'static str {
    env!("CARGO_BIN_EXE_heaphound")
}

/// Fails (never skips) when the oracle's npm dependencies are not installed.
pub fn require_oracle(root: &Path) {
    let toolkit = root.join("tests/oracle/node_modules/heap-snapshot-toolkit");
    assert!(
        toolkit.is_dir(),
        "{} is missing: the oracle's npm dependencies are not installed; \
         run `npm ci --prefix tests/oracle` from the repository root",
        toolkit.display()
    );
}

/// The `node` executable for a major version: 20 is the system `node`, the others come
/// from the oracle's npm packages.
pub fn node_binary(root: &Path, major: u32) -> PathBuf {
    if major == 20 {
        return PathBuf::from("node");
    }
    let bin = root.join(format!("tests/oracle/node_modules/node{major}/bin/node"));
    assert!(
        bin.is_file(),
        "{} is missing: run `npm ci --prefix tests/oracle` from the repository root \
         (the Node {major} package is an optional npm dependency, available for linux-x64)",
        bin.display()
    );
    bin
}

pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

pub fn spawn(mut cmd: Command) -> (String, Child) {
    let what = describe(&cmd);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{what}`: {e}"));
    (what, child)
}

pub fn finish((what, child): (String, Child)) -> Output {
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for `{what}`: {e}"));
    assert!(
        out.status.success(),
        "`{what}` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn run(cmd: Command) -> Output {
    finish(spawn(cmd))
}

pub fn parse_json(out: &Output, what: &str) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        let text = String::from_utf8_lossy(&out.stdout);
        panic!(
            "{what}: output is not JSON ({e}): {}\nstderr: {}",
            text.chars().take(500).collect::<String>(),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn u64_field(v: &Value, key: &str, what: &str) -> u64 {
    v.get(key)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{what}: no unsigned integer field `{key}` in {v}"))
}

pub fn array_field<'a>(v: &'a Value, key: &str, what: &str) -> &'a Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{what}: no array field `{key}`"))
}

/// Checks `doc` against docs/schema/SCHEMA.schema.json.
pub fn validate(root: &Path, schema: &str, doc: &Value) -> Result<(), String> {
    let path = root
        .join("docs/schema")
        .join(format!("{schema}.schema.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let schema_doc: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let validator = jsonschema::validator_for(&schema_doc)
        .map_err(|e| format!("{} is not a valid schema: {e}", path.display()))?;
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .take(5)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "does not satisfy {}: {}",
            path.display(),
            errors.join("; ")
        ))
    }
}
