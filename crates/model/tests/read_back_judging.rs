//! The judging documents (suspects, gclog with its trend verdict, profile) read back into
//! their types and print again unchanged, from the recorded outputs of the real commands
//! (tests/recorded/expected/).

use std::path::{Path, PathBuf};

use heaphound_model::gclog::GcLogDoc;
use heaphound_model::profile::ProfileDoc;
use heaphound_model::suspects::SuspectsDoc;
use serde::de::DeserializeOwned;
use serde::Serialize;

fn expected(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/recorded/expected")
        .join(format!("{name}.json"))
}

fn same_text<T: DeserializeOwned + Serialize>(name: &str) {
    let text = std::fs::read_to_string(expected(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let doc: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = serde_json::to_string_pretty(&doc).expect("serializes");
    // serde_json's default float parser is not correctly rounded for extreme exponents
    // (a p-value of 1.33e-24 reads as 1.3299999999999999e-24), so the recording is read
    // the same way before comparing: key order, nulls and every value still count.
    let value: serde_json::Value = serde_json::from_str(&text).expect("recorded JSON");
    let recorded = serde_json::to_string_pretty(&value).expect("serializes");
    assert!(
        again == recorded,
        "{name} does not print back as it was read"
    );
}

#[test]
fn suspects_documents_read_back() {
    for name in ["suspects", "suspects-2", "suspects-verbose"] {
        same_text::<SuspectsDoc>(name);
    }
}

#[test]
fn gclog_documents_read_back() {
    for kind in ["leak", "periodic", "plateau"] {
        for node in ["node18", "node22", "node24"] {
            same_text::<GcLogDoc>(&format!("gclog-{kind}-{node}"));
        }
    }
}

#[test]
fn profile_document_reads_back() {
    same_text::<ProfileDoc>("profile");
}
