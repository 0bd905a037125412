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
    /// `src/server.ts:17:3`, the file shown by `shown` (which makes paths relative).
    pub fn position(&self, shown: impl Fn(&str) -> String) -> String {
        format!("{}:{}:{}", shown(&self.file), self.line, self.column)
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
