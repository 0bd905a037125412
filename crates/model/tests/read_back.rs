//! The documents heaphound printed read back into their types and print again unchanged:
//! scripts and `report RUN_DIR` can rely on the types to read what was written. The
//! inputs are the recorded outputs of the real commands (tests/recorded/expected/).

use std::path::{Path, PathBuf};

use heaphound_model::diff::{ClassComparison, Diff, Diff3};
use heaphound_model::heap::{DominatorSummary, Dominators, Inspect, Objects, Retainers, Summary};
use serde::de::DeserializeOwned;
use serde::Serialize;

fn recorded() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/recorded")
}

fn same_text<T: DeserializeOwned + Serialize>(name: &str) {
    let path = recorded().join("expected").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    let doc: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_string_pretty(&doc).expect("serializes") + "\n";
    assert!(again == text, "{name} does not print back as it was read");
}

#[test]
fn single_snapshot_documents_read_back() {
    for name in ["summary", "summary-filter", "summary-top"] {
        same_text::<Summary>(name);
    }
    same_text::<Objects>("objects");
    same_text::<Dominators>("dominators");
    same_text::<Dominators>("dominators-from");
    same_text::<Retainers>("retainers");
    same_text::<Inspect>("inspect");
    same_text::<Inspect>("inspect-global");
}

#[test]
fn diff_documents_read_back() {
    same_text::<Diff>("diff-2");
    same_text::<Diff>("diff-2-sorted");
    same_text::<Diff3>("diff-3");
}

#[test]
fn report_overview_parts_read_back() {
    let path = recorded().join("run/report.json");
    let text = std::fs::read_to_string(&path).expect("report.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let classes: ClassComparison =
        serde_json::from_value(doc["class_comparison"].clone()).expect("class_comparison");
    // Compared as text: key order is part of the promise.
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).expect("serializes");
    assert_eq!(
        serde_json::to_string_pretty(&classes).expect("serializes"),
        pretty(&doc["class_comparison"])
    );
    let tree: DominatorSummary =
        serde_json::from_value(doc["dominator_tree"].clone()).expect("dominator_tree");
    assert_eq!(
        serde_json::to_string_pretty(&tree).expect("serializes"),
        pretty(&doc["dominator_tree"])
    );
}
