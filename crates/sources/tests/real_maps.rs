//! Maps esbuild really writes, for the example TypeScript service: positions, restored
//! names, and the same map wrapped as an index map (`sections`).

use std::path::{Path, PathBuf};
use std::process::Command;

use heaphound_sources::{Options, SourceMaps};
use heaphound_test_support::{repo_root, TempDir};

fn bundle(tmp: &TempDir) -> PathBuf {
    let example = repo_root(env!("CARGO_MANIFEST_DIR")).join("examples/ts-service");
    let esbuild = example.join("node_modules/.bin/esbuild");
    assert!(
        esbuild.exists(),
        "run scripts/test first (npm ci --prefix examples/ts-service)"
    );
    let out = tmp.path().join("server.js");
    let st = Command::new(&esbuild)
        .arg(example.join("src/server.ts"))
        .args(["--bundle", "--minify", "--platform=node", "--sourcemap"])
        .arg(format!("--outfile={}", out.display()))
        .output()
        .expect("esbuild runs");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    out
}

fn maps() -> SourceMaps {
    SourceMaps::new(Options {
        enabled: true,
        path_maps: Vec::new(),
        scripts: Vec::new(),
        cwd: std::env::current_dir().unwrap(),
    })
}

/// 0-based (line, column) of the first `text` in `file`.
fn find(file: &Path, text: &str) -> (u32, u32) {
    let src = std::fs::read_to_string(file).unwrap();
    for (i, l) in src.lines().enumerate() {
        if let Some(c) = l.find(text) {
            return (i as u32, c as u32);
        }
    }
    panic!("{text} not in {}", file.display());
}

fn check(js: &Path) {
    let example = repo_root(env!("CARGO_MANIFEST_DIR")).join("examples/ts-service/src");
    let m = maps();
    let script = js.display().to_string();
    // V8 puts a method at its `(`: `remember(r,t){`.
    let (line, col) = find(js, "remember(");
    let o = m
        .original(&script, line, col + "remember".len() as u32)
        .expect("resolves");
    assert!(o.file.ends_with("src/cache.ts"), "{o:?}");
    assert_eq!(
        o.line,
        find(&example.join("cache.ts"), "remember(path").0 + 1,
        "{o:?}"
    );
    // The class at its `class` keyword, named by the variable esbuild gave it.
    let (line, col) = find(js, "=class{");
    let text = std::fs::read_to_string(js).unwrap();
    let minified = text.lines().nth(line as usize).unwrap()[..col as usize]
        .rsplit(|c: char| !c.is_alphanumeric() && c != '_' && c != '$')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        m.original_name(&script, line, col + 1, &minified)
            .as_deref(),
        Some("RecordCache"),
        "class {minified}"
    );
    assert_eq!(
        m.original_name(&script, line, col + 1, "zz"),
        None,
        "a wrong name"
    );
    assert!(m.notes().is_empty(), "{:?}", m.notes());
}

#[test]
fn an_esbuild_minified_bundle_resolves_positions_and_names() {
    let tmp = TempDir::new("real-map");
    check(&bundle(&tmp));
}

#[test]
fn the_same_map_as_an_index_map_with_sections() {
    let tmp = TempDir::new("index-map");
    let js = bundle(&tmp);
    let map_path = tmp.path().join("server.js.map");
    let real = std::fs::read_to_string(&map_path).unwrap();
    let index = format!(
        r#"{{"version":3,"sections":[{{"offset":{{"line":0,"column":0}},"map":{real}}}]}}"#
    );
    std::fs::write(&map_path, index).unwrap();
    check(&js);
}
