//! One heap object as every view describes it, the references between objects, and the
//! source positions objects and classes point at. Shared by the graph views (`objects`,
//! `dominators`, `retainers`, `inspect`) and by the leak report.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::ObjectId;

/// Distances at or above this are objects reached only through VM internals; DevTools
/// shows no distance for them.
pub const BASE_SYSTEM_DISTANCE: u32 = 100_000_000;

/// One object of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObjectRef {
    pub id: ObjectId,
    /// V8's node type: `object`, `closure`, `string`, `array`, `native`…
    #[serde(rename = "type")]
    pub node_type: String,
    /// The class DevTools' Summary view files it under.
    pub class: String,
    /// The name DevTools shows (a string's text, `{a, b}` for plain objects…).
    pub name: String,
    /// V8's self size, in bytes.
    pub self_size: u64,
    /// The self size after DevTools' ownership folding (its "Shallow Size"), in bytes.
    pub shallow_size: u64,
    pub retained_size: u64,
    /// References from the root on the shortest path; `null` when no path reaches it.
    pub distance: Option<u32>,
}

/// Longest object name shown in tables; JSON keeps V8's full name.
const NAME_WIDTH: usize = 60;

/// One line of at most `max` characters, cut with `…`.
pub fn clip(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut t: String = one_line.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

impl ObjectRef {
    /// `Class name @id`, the way objects are named in text output (and in the leak
    /// report's `retainer_path`).
    pub fn label(&self) -> String {
        let o = self;
        if o.name.is_empty() || o.name == o.class {
            format!("{} {}", o.class, o.id)
        } else {
            format!(
                "{} {} {}",
                o.class,
                clip(&format!("\"{}\"", o.name), NAME_WIDTH),
                o.id
            )
        }
    }
}

/// An edge's name: a string for named edges, a number for element and hidden edges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EdgeName {
    Index(u32),
    Name(String),
}

impl std::fmt::Display for EdgeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeName::Index(i) => write!(f, "{i}"),
            EdgeName::Name(s) => f.write_str(s),
        }
    }
}

/// One reference between two objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EdgeRef {
    /// V8's edge type: `property`, `element`, `context`, `internal`, `hidden`,
    /// `shortcut`, `weak`.
    #[serde(rename = "type")]
    pub edge_type: String,
    pub name: EdgeName,
}

impl EdgeRef {
    /// The edge as DevTools writes it: `.prop`, `["a b"]`, `[3]`, `->var`, `[[weak]]`,
    /// `{internal}`.
    pub fn label(&self) -> String {
        edge_label(&self.edge_type, &self.name.to_string())
    }
}

/// [`EdgeRef::label`] from an edge type name and the edge's name as text.
pub fn edge_label(edge_type: &str, name: &str) -> String {
    match edge_type {
        "context" => format!("->{name}"),
        "element" => format!("[{name}]"),
        "weak" => format!("[[{name}]]"),
        "property" | "shortcut" => {
            if name.contains(' ') {
                format!("[\"{name}\"]")
            } else {
                format!(".{name}")
            }
        }
        _ => format!("{{{name}}}"),
    }
}

/// Where code was defined. Line and column are 1-based, as editors count them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScriptLocation {
    pub script_id: u32,
    /// The script's name (a path or URL); `null` when the snapshot does not name it.
    pub file: Option<String>,
    pub line: u32,
    pub column: u32,
    /// Where the source map of its script says it was written; absent when none resolves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<crate::source::Original>,
}

/// One entry of a retainer path as it is shown: the object a root holds, each reference
/// taken and the object it reaches, and runs of references that repeat, kept once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PathStep {
    /// An object on the path; `edge` and `edge_type` are `null` for the first one.
    Object {
        /// The reference that reaches `object`, as DevTools writes it (`.items`, `[3]`).
        edge: Option<String>,
        edge_type: Option<String>,
        object: ObjectRef,
    },
    /// The `references` steps above repeat `times` times in all.
    Repeat { repeat: Repeat },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Repeat {
    pub references: usize,
    pub times: usize,
}

/// One line per entry of a folded path: the first names the object a root holds, each
/// next one the edge taken and the object it reaches.
pub fn path_lines(steps: &[PathStep]) -> Vec<String> {
    steps
        .iter()
        .map(|s| match s {
            PathStep::Object {
                edge: None, object, ..
            } => object.label(),
            PathStep::Object {
                edge: Some(e),
                object,
                ..
            } => format!("{e} → {}", object.label()),
            PathStep::Repeat { repeat } => format!(
                "… the {} reference(s) above repeat {} times in all",
                repeat.references, repeat.times
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_names_keep_their_kind() {
        let e: EdgeRef = serde_json::from_str(r#"{"type":"element","name":3}"#).unwrap();
        assert_eq!(e.name, EdgeName::Index(3));
        assert_eq!(e.label(), "[3]");
        let e: EdgeRef = serde_json::from_str(r#"{"type":"property","name":"a b"}"#).unwrap();
        assert_eq!(e.label(), "[\"a b\"]");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"type":"property","name":"a b"}"#
        );
    }

    #[test]
    fn path_steps_read_back() {
        let text = r#"[{"repeat":{"references":2,"times":5}},{"edge":null,"edge_type":null,"object":{"id":1,"type":"object","class":"A","name":"","self_size":1,"shallow_size":1,"retained_size":2,"distance":null}}]"#;
        let steps: Vec<PathStep> = serde_json::from_str(text).unwrap();
        assert!(matches!(steps[0], PathStep::Repeat { .. }));
        assert!(matches!(steps[1], PathStep::Object { .. }));
        assert_eq!(serde_json::to_string(&steps).unwrap(), text);
    }
}
