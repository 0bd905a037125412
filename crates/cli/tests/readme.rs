//! The README's JSON examples are real documents: each parses, and each names (in an HTML
//! comment just above it, `<!-- schema: NAME -->`) the document it shows, whose generated
//! schema it must satisfy. An example marked `excerpt` may leave keys and array elements
//! out, but every key it shows must exist, with a value of the right kind.

mod common;

use serde_json::Value;

/// Each ```json block with the schema named above it: (line, schema, excerpt, text).
fn examples(readme: &str) -> Vec<(usize, Option<String>, bool, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() != "```json" {
            i += 1;
            continue;
        }
        let marker = lines[..i]
            .iter()
            .rev()
            .take(3)
            .find_map(|l| l.trim().strip_prefix("<!-- schema:"))
            .and_then(|r| r.strip_suffix("-->"))
            .map(str::trim);
        let (schema, excerpt) = match marker {
            Some(m) => match m.strip_suffix(" excerpt") {
                Some(name) => (Some(name.trim().to_string()), true),
                None => (Some(m.to_string()), false),
            },
            None => (None, false),
        };
        let start = i + 1;
        let end = (start..lines.len())
            .find(|&k| lines[k].trim() == "```")
            .unwrap_or_else(|| panic!("README.md:{start}: unclosed ```json block"));
        out.push((start, schema, excerpt, lines[start..end].join("\n")));
        i = end + 1;
    }
    out
}

/// An excerpt's schema: nothing required, but no key the type does not have. Schemas
/// combined with others (a flattened enum: `anyOf` of the variants) cannot forbid other
/// keys, since each sees only its part of the object: they are left open.
fn loosen(v: &mut Value, combined: bool) {
    match v {
        Value::Object(o) => {
            o.remove("required");
            o.remove("minItems");
            let combines = ["allOf", "anyOf", "oneOf", "$ref"]
                .iter()
                .any(|k| o.contains_key(*k));
            if !combined && !combines && o.contains_key("properties") {
                o.entry("additionalProperties")
                    .or_insert(Value::Bool(false));
            }
            for (k, x) in o.iter_mut() {
                let inside = matches!(k.as_str(), "allOf" | "anyOf" | "oneOf");
                loosen(x, inside || (combined && k != "properties" && k != "items"));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| loosen(x, combined)),
        _ => {}
    }
}

/// The definitions referred to by a schema that also has properties of its own.
fn tagged_defs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(x) = stack.pop() {
        match x {
            Value::Object(o) => {
                if let (Some(Value::String(r)), true) =
                    (o.get("$ref"), o.contains_key("properties"))
                {
                    if let Some(name) = r.strip_prefix("#/$defs/") {
                        out.push(name.to_string());
                    }
                }
                stack.extend(o.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

#[test]
fn readme_json_examples_are_documents_of_their_schema() {
    let root = common::repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let found = examples(&readme);
    assert!(
        found.len() >= 4,
        "README.md has only {} JSON examples",
        found.len()
    );
    let mut failures = Vec::new();
    for (line, schema, excerpt, text) in found {
        let doc: Value = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("README.md:{line}: not JSON: {e}"));
                continue;
            }
        };
        let Some(schema) = schema else {
            failures.push(format!(
                "README.md:{line}: no `<!-- schema: NAME -->` above the example"
            ));
            continue;
        };
        let path = root
            .join("docs/schema")
            .join(format!("{schema}.schema.json"));
        let mut schema_doc: Value = match std::fs::read_to_string(&path) {
            Ok(t) => serde_json::from_str(&t).expect("a schema file is JSON"),
            Err(e) => {
                failures.push(format!("README.md:{line}: {}: {e}", path.display()));
                continue;
            }
        };
        if excerpt {
            // A definition that a variant adds its tag to (`properties` beside `$ref`) sees
            // only part of the object too.
            let tagged = tagged_defs(&schema_doc);
            loosen(&mut schema_doc, false);
            if let Some(defs) = schema_doc.get_mut("$defs").and_then(Value::as_object_mut) {
                for name in tagged {
                    if let Some(d) = defs.get_mut(&name).and_then(Value::as_object_mut) {
                        d.remove("additionalProperties");
                    }
                }
            }
        }
        let validator = jsonschema::validator_for(&schema_doc).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .take(5)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        if !errors.is_empty() {
            failures.push(format!(
                "README.md:{line} ({schema}): {}",
                errors.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
