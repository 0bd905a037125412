//! Source maps end to end: the TypeScript service of examples/ts-service built for real
//! (tsc CommonJS, tsc ES modules, an esbuild minified bundle with a map file or an inline
//! map), hunted under load, and the leak named by its TypeScript file, line and class;
//! then `suspects` on the snapshots afterwards, a map found only through scripts.json,
//! `--path-map`, a broken map and `--no-source-maps`.

mod common;

use std::process::Command;

use serde_json::Value;

use common::live::*;
use common::ts::*;
use common::*;

/// The first suspect's allocation site.
fn allocation(doc: &Value) -> &Value {
    doc["suspects"][0]["locations"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["kind"] == "allocation"))
        .unwrap_or_else(|| panic!("no allocation site: {doc:#}"))
}

/// The leak is named by the TypeScript class and line that wrote it.
fn check_original(doc: &Value, what: &str) {
    let s = &doc["suspects"][0];
    assert_eq!(s["shape"], "unbounded-collection", "{what}: {s:#}");
    let loc = s["locations"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["kind"] == "allocation"))
        .unwrap_or_else(|| panic!("{what}: no allocation site: {s:#}"));
    let o = &loc["original"];
    assert!(
        o["file"].as_str().unwrap_or("").ends_with("src/cache.ts"),
        "{what}: {loc:#}"
    );
    assert_eq!(
        o["line"],
        ts_line("cache.ts", "remember(path"),
        "{what}: {loc:#}"
    );
    // The generated position is kept beside it.
    assert!(
        loc["file"].as_str().unwrap_or("").ends_with(".js"),
        "{what}: {loc:#}"
    );
    assert_eq!(
        s["holder"]["place"]["owner"]["class"], "RecordCache",
        "{what}: the holder is named by its class as written: {:#}",
        s["holder"]
    );
}

#[test]
fn an_esbuild_minified_bundle_names_the_typescript_line_and_class() {
    let tmp = TempDir::new("sm-bundle");
    let app = built(
        &tmp,
        &[
            ESBUILD,
            "src/server.ts",
            "--bundle",
            "--minify",
            "--platform=node",
            "--sourcemap",
            "--outfile=bundle/server.js",
        ],
    );
    let dir = tmp.path().join("run");
    let (doc, err) = hunt(&app, "bundle/server.js", &dir, &[]);
    check_original(&doc, "hunt");

    // Afterwards, on the snapshots: the same answer, and the text leads with the original.
    let snaps = snapshots_in(&dir);
    check_original(&json_of(&["suspects"], &snaps), "suspects");
    let out = output({
        let mut c = Command::new(heaphound());
        c.arg("suspects").args(&snaps);
        c
    });
    let text = String::from_utf8_lossy(&out.stdout);
    let line = ts_line("cache.ts", "remember(path");
    assert!(
        text.contains(&format!("src/cache.ts:{line}:")) && text.contains("(bundle/server.js:1:"),
        "{text}"
    );
    assert!(text.contains("held by RecordCache"), "{text}");
    assert!(err.is_empty() || !err.contains("source map"), "{err}");

    // --no-source-maps: positions and names as the code runs.
    let plain = json_of(&["--no-source-maps", "suspects"], &snaps);
    let s = &plain["suspects"][0];
    assert!(s["locations"][0].get("original").is_none(), "{s:#}");
    assert_ne!(
        s["holder"]["place"]["owner"]["class"], "RecordCache",
        "{s:#}"
    );

    // A broken map: the generated position, and one note naming the map.
    std::fs::write(app.join("bundle/server.js.map"), "{ not json").unwrap();
    let out = output({
        let mut c = Command::new(heaphound());
        c.arg("suspects").arg("--json").args(&snaps);
        c
    });
    let broken = parse_json(&out, "suspects with a broken map");
    assert!(broken["suspects"][0]["locations"][0]
        .get("original")
        .is_none());
    let notes = broken["source_map_notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert!(
        notes[0]["problem"]
            .as_str()
            .unwrap_or("")
            .contains("is not JSON"),
        "{notes:#?}"
    );
    assert!(stderr(&out).contains("is not JSON"), "{}", stderr(&out));
}

#[test]
fn tsc_commonjs_allocation_sites_name_the_typescript_line() {
    let tmp = TempDir::new("sm-tsc");
    let app = built(&tmp, &["node", TSC, "-p", "tsconfig.json"]);
    // tsc leaves `sourcesContent` out: the sources are read from where the map names them.
    let map = std::fs::read_to_string(app.join("dist/cache.js.map")).unwrap();
    assert!(!map.contains("sourcesContent"), "{map}");
    let dir = tmp.path().join("run");
    let (doc, _) = hunt(&app, "dist/server.js", &dir, &[]);
    check_original(&doc, "tsc");
    let s = &doc["suspects"][0];
    let loc = &s["locations"][0];
    assert_eq!(loc["kind"], "allocation", "{loc:#}");
    // The compiled line is not the TypeScript one: the map was used.
    assert_ne!(loc["line"], loc["original"]["line"], "{loc:#}");
    let frames = s["allocation_frames"].as_array().expect("frames");
    let caller = frames
        .iter()
        .find(|f| f["function"] == "handleRequest")
        .expect("handleRequest in the stack");
    assert_eq!(
        caller["original"]["line"],
        ts_line("server.ts", "function handleRequest"),
        "{caller:#}"
    );
}

#[test]
fn tsc_es_modules_and_a_map_known_only_from_scripts_json() {
    let tmp = TempDir::new("sm-esm");
    let app = built(&tmp, &["npm", "run", "-s", "build:esm"]);
    let dir = tmp.path().join("run");
    let (doc, _) = hunt(&app, "esm/server.js", &dir, &[]);
    check_original(&doc, "esm");
    let scripts: Value =
        serde_json::from_slice(&std::fs::read(dir.join("scripts.json")).expect("scripts.json"))
            .unwrap();
    assert!(
        scripts["scripts"].as_array().is_some_and(|s| s
            .iter()
            .any(|x| x["url"].as_str().unwrap_or("").ends_with("esm/cache.js"))),
        "{scripts:#}"
    );
    // The comment gone from the file and no map beside it: only scripts.json names it.
    let cache = app.join("esm/cache.js");
    let text = std::fs::read_to_string(&cache).unwrap();
    std::fs::write(
        &cache,
        text.replace("//# sourceMappingURL=cache.js.map", ""),
    )
    .unwrap();
    let elsewhere = app.join("esm/cache.js.map");
    // At the same depth, so that its `../src/cache.ts` still names the source.
    let moved = app.join("maps/cache.js.map");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&elsewhere, &moved).unwrap();
    let snaps = snapshots_in(&dir);
    let d = json_of(&["suspects"], &snaps);
    assert!(allocation(&d).get("original").is_none(), "the map is gone");
    // Point scripts.json at where the map is now, as the inspector would have said it.
    let mut s = scripts.clone();
    for x in s["scripts"].as_array_mut().unwrap() {
        if x["url"].as_str().unwrap_or("").ends_with("esm/cache.js") {
            x["source_map_url"] = Value::String(format!("file://{}", moved.display()));
        }
    }
    std::fs::write(dir.join("scripts.json"), serde_json::to_vec(&s).unwrap()).unwrap();
    let d = json_of(&["suspects"], &snaps);
    let o = &allocation(&d)["original"];
    assert_eq!(o["line"], ts_line("cache.ts", "remember(path"), "{o:#}");
}

#[test]
fn an_inline_map_and_a_build_moved_elsewhere_through_path_map() {
    let tmp = TempDir::new("sm-inline");
    let app = built(
        &tmp,
        &[
            ESBUILD,
            "src/server.ts",
            "--bundle",
            "--platform=node",
            "--sourcemap=inline",
            "--outfile=bundle/server.js",
        ],
    );
    let dir = tmp.path().join("run");
    let (doc, _) = hunt(&app, "bundle/server.js", &dir, &[]);
    check_original(&doc, "inline");
    // The build moves (another machine, another folder); the snapshots still name the old one.
    let snaps: Vec<String> = (1..=3)
        .map(|i| {
            let to = tmp.path().join(format!("{i}.heapsnapshot"));
            std::fs::rename(dir.join(format!("{i}.heapsnapshot")), &to).unwrap();
            to.display().to_string()
        })
        .collect();
    let moved = tmp.path().join("elsewhere");
    std::fs::rename(&app, &moved).unwrap();
    let suspects = |extra: &[String]| {
        let mut c = Command::new(heaphound());
        c.args(extra).arg("suspects").arg("--json").args(&snaps);
        parse_json(&output(c), "suspects")
    };
    let d = suspects(&[]);
    assert!(d["suspects"][0]["locations"][0].get("original").is_none());
    let d = suspects(&[
        "--path-map".into(),
        format!("{}={}", app.display(), moved.display()),
    ]);
    check_original(&d, "--path-map");
}
