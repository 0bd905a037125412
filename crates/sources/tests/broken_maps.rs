//! Maps that cannot be used (deliberately broken inputs): the position stays generated, and
//! exactly one note per map says what was wrong. Never an error, never a panic.

use heaphound_sources::{Options, SourceMaps};
use heaphound_test_support::TempDir;

/// A script whose comment names `map.js.map`, with `map` written there (or nothing).
fn script_with(tmp: &TempDir, map: Option<&str>) -> String {
    let js = tmp.path().join("app.js");
    std::fs::write(
        &js,
        "function f(a){return a}\n//# sourceMappingURL=app.js.map\n",
    )
    .unwrap();
    if let Some(m) = map {
        std::fs::write(tmp.path().join("app.js.map"), m).unwrap();
    }
    js.display().to_string()
}

fn maps() -> SourceMaps {
    SourceMaps::new(Options::enabled_in(std::env::current_dir().unwrap()))
}

fn one_note(map: Option<&str>, says: &str) {
    let tmp = TempDir::new("broken-map");
    let js = script_with(&tmp, map);
    let m = maps();
    assert_eq!(m.original(&js, 0, 10), None);
    assert_eq!(m.original(&js, 0, 12), None, "asked twice, noted once");
    let notes = m.notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0].script, js);
    assert!(notes[0].problem.contains(says), "{notes:?}");
}

#[test]
fn a_named_map_that_does_not_exist() {
    one_note(None, "does not exist");
}

#[test]
fn a_map_that_is_not_json() {
    one_note(Some("{ this is not json"), "is not JSON");
}

#[test]
fn a_map_of_another_version() {
    one_note(
        Some(r#"{"version":2,"sources":["a.ts"],"names":[],"mappings":"AAAA"}"#),
        "version 2, not a version 3",
    );
}

#[test]
fn a_map_without_a_version() {
    one_note(Some(r#"{"sources":[]}"#), "no version");
}

#[test]
fn mappings_that_do_not_decode() {
    one_note(
        Some(r#"{"version":3,"sources":["a.ts"],"names":[],"mappings":"!!!!"}"#),
        "do not decode",
    );
}

#[test]
fn mappings_past_the_script() {
    // Line 40 of a two-line script.
    let past = format!(
        r#"{{"version":3,"sources":["a.ts"],"sourcesContent":["x"],"names":[],"mappings":"{}AAAA"}}"#,
        ";".repeat(40)
    );
    one_note(Some(&past), "past the script");
}

#[test]
fn a_source_that_does_not_exist() {
    one_note(
        Some(r#"{"version":3,"sources":["gone.ts"],"names":[],"mappings":"AAAA"}"#),
        "source gone.ts does not exist",
    );
}

#[test]
fn plain_javascript_and_unknown_scripts_are_no_news() {
    let tmp = TempDir::new("plain-js");
    let js = tmp.path().join("plain.js");
    std::fs::write(&js, "function f(){}\n").unwrap();
    let m = maps();
    assert_eq!(m.original(&js.display().to_string(), 0, 10), None);
    assert_eq!(m.original("/nowhere/at/all.js", 0, 0), None);
    assert_eq!(m.original("node:events", 3, 4), None);
    assert!(m.notes().is_empty(), "{:?}", m.notes());
}

#[test]
fn turned_off_reads_nothing() {
    let tmp = TempDir::new("maps-off");
    let js = script_with(&tmp, Some("{ broken"));
    let m = SourceMaps::new(Options::disabled());
    assert_eq!(m.original(&js, 0, 1), None);
    assert!(m.notes().is_empty());
}
