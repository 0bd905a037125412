//! Original source positions found through source maps, the notes about maps that could not
//! be used, and `scripts.json`: the scripts a live process reported through its inspector,
//! kept in the run folder so that a later analysis finds the same maps.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::NamedSchema;

pub(crate) fn schemas(out: &mut Vec<NamedSchema>) {
    crate::add::<ScriptsDoc>(out, "scripts");
}

/// Where a generated position came from, by the script's source map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Original {
    /// The original file: a path when the map's source resolves to one (relative to the
    /// map, after `--path-map`), else the map's `sources` entry as written.
    pub file: String,
    /// 1-based.
    pub line: u32,
    /// 1-based.
    pub column: u32,
    /// The name as written in the original source, when the mapping names one.
    pub name: Option<String>,
}

impl Original {
    /// `src/server.ts:17:3 (dist/server.js:1:598)`: the original position first, then the
    /// generated one as the caller shows it; short paths, as tables show files.
    pub fn then_generated(&self, generated: &str) -> String {
        format!(
            "{}:{}:{} ({generated})",
            crate::units::short_path(&self.file),
            self.line,
            self.column
        )
    }
}

/// `generated`, or with `original` in front of it.
pub fn shown_at(generated: String, original: Option<&Original>) -> String {
    match original {
        Some(o) => o.then_generated(&generated),
        None => generated,
    }
}

/// A script whose source map was named but could not be used: its positions are shown as
/// generated. One per map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceMapNote {
    /// The script as the snapshot or profile names it.
    pub script: String,
    /// The map: a path, a URL, or `inline` for a `data:` URL; `null` when none was found.
    pub map: Option<String>,
    /// What was wrong, as a sentence.
    pub problem: String,
}

/// `scripts.json` in a run folder: each script the process reported (`Debugger.scriptParsed`)
/// that names a source map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScriptsDoc {
    pub schema_version: u32,
    pub pid: Option<u32>,
    pub scripts: Vec<ScriptSeen>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ScriptSeen {
    /// The script's URL as the inspector reports it (a path or a `file://` URL).
    pub url: String,
    /// Its `sourceMappingURL` as the inspector reports it: relative to `url`, absolute, or
    /// a `data:` URL holding the map itself.
    pub source_map_url: String,
}

/// One frame of an allocation stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StackFrame {
    /// Empty for an anonymous function.
    pub function: String,
    /// The script; empty for a builtin without one.
    pub file: String,
    /// 1-based; `null` when V8 gives no position.
    pub line: Option<u32>,
    /// 1-based.
    pub column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<Original>,
}

impl StackFrame {
    /// `name file:line:column`, the original position first where a map resolves it:
    /// `remember src/cache.ts:15:3 (dist/server.js:1:687)`.
    pub fn text(&self) -> String {
        let Some(line) = self.line.filter(|&l| l > 0) else {
            return self.function.clone();
        };
        let generated = format!("{}:{line}:{}", self.file, self.column.unwrap_or(0));
        match &self.original {
            Some(o) => format!(
                "{} {}:{}:{} ({generated})",
                self.function, o.file, o.line, o.column
            ),
            None => format!("{} {generated}", self.function),
        }
    }
}
