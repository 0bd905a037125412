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
    SourceMaps::new(Options::enabled_in(std::env::current_dir().unwrap()))
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
    // The first class of the bundle is cache.ts's first, CustomerRecord.
    assert_eq!(
        m.original_name(&script, line, col + 1, &minified)
            .as_deref(),
        Some("CustomerRecord"),
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

/// tsc writes one map per file: its module variables and scopes can be named by the source
/// file; a bundle's cannot without a position.
#[test]
fn a_tsc_map_has_one_source_and_a_bundle_several() {
    let tmp = TempDir::new("tsc-map");
    let example = repo_root(env!("CARGO_MANIFEST_DIR")).join("examples/ts-service");
    let dist = tmp.path().join("dist");
    let st = Command::new("node")
        .arg(example.join("node_modules/typescript/bin/tsc"))
        .args([
            "--sourceMap",
            "--module",
            "commonjs",
            "--target",
            "es2022",
            "--outDir",
        ])
        .arg(&dist)
        .arg(example.join("src/cache.ts"))
        .output()
        .expect("tsc runs");
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let m = maps();
    let only = m.only_source(&dist.join("cache.js").display().to_string());
    assert!(
        only.as_deref().is_some_and(|f| f.ends_with("src/cache.ts")),
        "{only:?}"
    );
    let js = bundle(&tmp);
    assert_eq!(m.only_source(&js.display().to_string()), None);
    assert_eq!(m.only_source("/no/such/script.js"), None);
}

/// A real map damaged in many ways (bytes flipped, cut short, spans doubled): lookups never
/// panic, and a map that fails leaves exactly one note, naming its script.
#[test]
fn damaged_real_maps_never_panic() {
    let tmp = TempDir::new("mangled-map");
    let js = bundle(&tmp);
    let script = js.display().to_string();
    let map_path = tmp.path().join("server.js.map");
    let real = std::fs::read(&map_path).unwrap();
    let (line, col) = find(&js, "remember(");
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let mut bytes = real.clone();
        let at = (next() as usize) % bytes.len();
        match round % 3 {
            0 => {
                for _ in 0..1 + next() % 8 {
                    let i = (next() as usize) % bytes.len();
                    bytes[i] = b"\"{}[],:;0A+/=\\\x00\xff"[(next() % 16) as usize];
                }
            }
            1 => bytes.truncate(at),
            _ => {
                let len = ((next() as usize) % 200).min(bytes.len() - at);
                let span = bytes[at..at + len].to_vec();
                bytes.splice(at..at, span);
            }
        }
        std::fs::write(&map_path, &bytes).unwrap();
        let m = maps();
        for c in [0, col, col + 8, u32::MAX] {
            let _ = m.original(&script, line, c);
            let _ = m.original_name(&script, line, c, "remember");
        }
        let _ = m.original(&script, u32::MAX, 0);
        let _ = m.only_source(&script);
        let notes = m.notes();
        assert!(notes.len() <= 1, "round {round}: {notes:?}");
        assert!(notes.iter().all(|n| n.script == script), "{notes:?}");
    }
}
