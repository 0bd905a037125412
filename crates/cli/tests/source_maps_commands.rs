//! Source maps in every command that shows a position, on the example TypeScript service
//! built for real: `summary`, `diff` (two and three snapshots), `inspect`, `retainers`,
//! `report` (HTML links to the original), `gate`, and `profile` with its flame graph.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use common::live::*;
use common::ts::*;
use common::*;

const MINIFIED_BUNDLE: &[&str] = &[
    ESBUILD,
    "src/server.ts",
    "--bundle",
    "--minify",
    "--platform=node",
    "--sourcemap",
    "--outfile=bundle/server.js",
];

fn text_of(args: &[&str]) -> String {
    let mut c = Command::new(heaphound());
    c.args(args);
    String::from_utf8_lossy(&output(c).stdout).into_owned()
}

/// A class position that names `CustomerRecord`'s constructor in `src/cache.ts`.
fn is_customer_record(l: &Value) -> bool {
    let o = &l["original"];
    o["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("src/cache.ts"))
        && o["line"] == ts_line("cache.ts", "constructor(")
}

fn class<'a>(classes: &'a Value, name: &str) -> &'a Value {
    classes
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no class {name}: {classes:#}"))
}

#[test]
fn every_heap_command_names_the_typescript_source_of_a_minified_bundle() {
    let tmp = TempDir::new("sm-commands");
    let app = built(&tmp, MINIFIED_BUNDLE);
    let dir = tmp.path().join("run");
    let (doc, _) = hunt(&app, "bundle/server.js", &dir, &[]);
    let snaps = snapshots_in(&dir);
    let last = snaps[2].as_str();

    // summary: the minified classes go by their names as written, located in the source.
    let summary = json_of(&["summary"], &[last.to_string()]);
    let record = class(&summary["classes"], "CustomerRecord");
    assert!(is_customer_record(&record["location"]), "{record:#}");
    let cache = class(&summary["classes"], "RecordCache");
    assert_eq!(
        cache["location"]["original"]["line"],
        ts_line("cache.ts", "export class RecordCache"),
        "{cache:#}"
    );
    let text = text_of(&["summary", last]);
    let line = ts_line("cache.ts", "constructor(");
    assert!(
        text.contains(&format!("CustomerRecord (src/cache.ts:{line})")),
        "{text}"
    );

    // diff of two and of three snapshots: the growing class, in the source.
    let diff = json_of(&["diff"], &[snaps[0].clone(), snaps[2].clone()]);
    let grown = class(&diff["classes"], "CustomerRecord");
    assert!(grown["count_delta"].as_i64().unwrap_or(0) > 0, "{grown:#}");
    assert!(is_customer_record(&grown["location"]), "{grown:#}");
    let diff3 = json_of(&["diff"], &snaps);
    let growing = class(&diff3["growing"], "CustomerRecord");
    assert!(is_customer_record(&growing["location"]), "{growing:#}");

    // inspect and retainers of the holder's owner: its class as written, its source line.
    let owner = &doc["suspects"][0]["holder"]["place"]["owner"];
    let id = format!("@{}", owner["id"]);
    let inspected = json_of(&["inspect"], &[last.to_string(), id.clone()]);
    assert_eq!(inspected["class"], "RecordCache", "{inspected:#}");
    let at = &inspected["location"];
    assert_eq!(
        at["original"]["line"],
        ts_line("cache.ts", "export class RecordCache"),
        "{at:#}"
    );
    let text = text_of(&["inspect", last, &id]);
    assert!(
        text.contains("src/cache.ts:") && text.contains("(bundle/server.js:1:"),
        "{text}"
    );
    let holder = format!("@{}", doc["suspects"][0]["holder"]["object"]["id"]);
    let text = text_of(&["retainers", last, &holder]);
    assert!(text.contains("RecordCache @"), "{text}");

    // The HTML report links to the TypeScript file and keeps the bundle's position beside it.
    let html = tmp.path().join("report.html");
    let out = output({
        let mut c = Command::new(heaphound());
        c.args(["report", "-q", "-o"]).arg(&html).arg(&dir);
        c
    });
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    let src = app.join("src/cache.ts");
    assert!(
        page.contains(&format!("href=\"file://{}\"", src.display())),
        "no link to {}",
        src.display()
    );
    assert!(
        page.contains("(bundle/server.js:1:"),
        "the generated position"
    );
}

#[test]
fn gate_records_the_scripts_and_names_the_source() {
    let tmp = TempDir::new("sm-gate");
    let app = built(&tmp, MINIFIED_BUNDLE);
    let dir = tmp.path().join("gate");
    let script = app.join("bundle/server.js");
    let out = output({
        let mut c = Command::new(heaphound());
        c.args(["gate", "--json", "-q", "--http", "/x", "-n", "300"])
            .args(["--rounds", "3", "--max-growth", "10kB", "-o"])
            .arg(&dir)
            .arg("--")
            .arg("node")
            .arg(&script)
            .arg("0");
        c
    });
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = parse_json(&out, "gate");
    let s = &doc["suspects"]["suspects"][0];
    assert_eq!(
        s["holder"]["place"]["owner"]["class"], "RecordCache",
        "{s:#}"
    );
    let located = s["locations"].as_array().expect("locations");
    assert!(located.iter().any(is_customer_record), "{located:#?}");
    // What the process reported, for a later `suspects` or `report` on the folder.
    let scripts: Value = serde_json::from_slice(
        &std::fs::read(dir.join("scripts.json")).expect("gate writes scripts.json"),
    )
    .unwrap();
    let bundle = script.display().to_string();
    assert!(
        scripts["scripts"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(bundle.as_str())))),
        "{scripts:#}"
    );
}

/// `node --heap-prof` on the library alone, minified: the sampled functions go by their
/// TypeScript names and lines, in the tables and in the flame graph.
#[test]
fn a_heap_profile_and_its_flame_graph_name_the_typescript_functions() {
    let tmp = TempDir::new("sm-profile");
    let app = built(
        &tmp,
        &[
            ESBUILD,
            "src/cache.ts",
            "--bundle",
            "--minify",
            "--platform=node",
            "--format=cjs",
            "--sourcemap",
            "--outfile=lib/cache.js",
        ],
    );
    let prof = tmp.path().join("prof");
    let st = Command::new("node")
        .arg("--heap-prof")
        .arg(format!("--heap-prof-dir={}", prof.display()))
        .arg("--heap-prof-interval=8192")
        .arg("-e")
        .arg(
            "const {RecordCache}=require('./lib/cache.js');const c=new RecordCache();\
             for(let i=0;i<50000;i++)c.remember('/x',i);globalThis.keep=c",
        )
        .current_dir(&app)
        .status()
        .expect("node runs");
    assert!(st.success());
    let file = one_profile(&prof);
    let doc = json_of(&["profile"], std::slice::from_ref(&file));
    let site = |name: &str| {
        doc["by_self"]
            .as_array()
            .and_then(|s| {
                s.iter()
                    .find(|s| s["original"]["name"] == name || s["function"] == name)
            })
            .unwrap_or_else(|| panic!("no site {name}: {doc:#}"))
            .clone()
    };
    let remember = site("remember");
    assert_eq!(
        remember["original"]["line"],
        ts_line("cache.ts", "remember(path"),
        "{remember:#}"
    );
    // The constructor runs under its minified name; the map gives it back.
    let ctor = site("CustomerRecord");
    assert_ne!(ctor["function"], "CustomerRecord", "minified: {ctor:#}");
    assert!(is_customer_record(&ctor), "{ctor:#}");

    let svg = tmp.path().join("flame.svg");
    let text = text_of(&["profile", "--flamegraph", &svg.display().to_string(), &file]);
    let line = ts_line("cache.ts", "remember(path");
    assert!(
        text.contains("remember") && text.contains(&format!("src/cache.ts:{line}:")),
        "{text}"
    );
    let flame = std::fs::read_to_string(&svg).expect("the flame graph");
    assert!(
        flame.contains(&format!(
            "CustomerRecord src/cache.ts:{}:",
            ts_line("cache.ts", "constructor(")
        )),
        "{flame}"
    );
}

fn one_profile(dir: &Path) -> String {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("node wrote its profile folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "heapprofile"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].display().to_string()
}
