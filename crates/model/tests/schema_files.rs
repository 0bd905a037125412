//! docs/schema/ holds the JSON Schema of every document, generated from the types. This test
//! fails when a type changed and its schema file did not; `HEAPHOUND_RECORD=1 cargo test -p
//! heaphound-model` writes them anew.

use std::path::Path;

#[test]
fn schema_files_are_generated_from_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/schema");
    let record = std::env::var_os("HEAPHOUND_RECORD").is_some();
    let mut stale = Vec::new();
    let mut names = Vec::new();
    for s in heaphound_model::schemas() {
        assert!(!names.contains(&s.name), "two documents named {}", s.name);
        names.push(s.name);
        let path = dir.join(format!("{}.schema.json", s.name));
        let text = serde_json::to_string_pretty(&s.schema).expect("a schema serializes") + "\n";
        if record {
            std::fs::create_dir_all(&dir).expect("create docs/schema");
            std::fs::write(&path, &text)
                .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    // A schema file whose document is gone is stale too.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".schema.json") {
                if !names.contains(&stem) {
                    if record {
                        let _ = std::fs::remove_file(e.path());
                    } else {
                        stale.push(format!("{} (no such document)", e.path().display()));
                    }
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "schema files out of date (HEAPHOUND_RECORD=1 cargo test -p heaphound-model): {}",
        stale.join(", ")
    );
}
