//! Source maps: the original file, line and name of a position in generated JavaScript
//! (tsc output, an esbuild or webpack bundle). Each script's map is found and decoded once,
//! on first use; a map that cannot be used leaves that script's positions as generated and
//! leaves one note saying why, never an error.

mod find;
mod paths;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use heaphound_model::source::{Original, ScriptSeen, SourceMapNote};
use sourcemap::SourceMap;

pub use paths::{parse_path_map, PathMap};

pub struct Options {
    /// false: every lookup returns `None` and no file is read (`--no-source-maps`).
    pub enabled: bool,
    /// Applied, first match wins, to script paths and to absolute paths in a map.
    pub path_maps: Vec<PathMap>,
    /// What a live process's inspector reported (a run folder's scripts.json).
    pub scripts: Vec<ScriptSeen>,
    pub cwd: PathBuf,
}

impl Options {
    /// Maps on, no path maps, no scripts.json: scripts' paths resolve against `cwd`.
    pub fn enabled_in(cwd: PathBuf) -> Options {
        Options {
            enabled: true,
            cwd,
            ..Options::disabled()
        }
    }

    pub fn disabled() -> Options {
        Options {
            enabled: false,
            path_maps: Vec::new(),
            scripts: Vec::new(),
            cwd: PathBuf::new(),
        }
    }
}

/// One script's decoded map, with what lookups need beside it.
struct Loaded {
    map: SourceMap,
    /// The index of the first token on each generated line, and one past the last line.
    line_first: Vec<u32>,
    /// The original file of each map source; `None` for one that does not exist.
    sources: Vec<Option<String>>,
    /// The generated script's lines, to check names against; empty when it was not read.
    text: Vec<String>,
}

/// Loads each script's map once. Shared by the threads that read snapshots.
pub struct SourceMaps {
    opts: Options,
    loaded: Mutex<HashMap<String, Option<std::sync::Arc<Loaded>>>>,
    notes: Mutex<HashMap<String, SourceMapNote>>,
}

impl SourceMaps {
    pub fn new(opts: Options) -> SourceMaps {
        SourceMaps {
            opts,
            loaded: Mutex::new(HashMap::new()),
            notes: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.opts.enabled
    }

    fn get(&self, script: &str) -> Option<std::sync::Arc<Loaded>> {
        if !self.opts.enabled {
            return None;
        }
        if let Some(l) = self.loaded.lock().ok()?.get(script) {
            return l.clone();
        }
        let (loaded, note) = match find::load(script, &self.opts) {
            Ok(Some((l, note))) => (Some(std::sync::Arc::new(l)), note),
            Ok(None) => (None, None),
            Err(note) => (None, Some(note)),
        };
        if let (Some(note), Ok(mut n)) = (note, self.notes.lock()) {
            n.insert(script.to_string(), note);
        }
        if let Ok(mut m) = self.loaded.lock() {
            m.insert(script.to_string(), loaded.clone());
        }
        loaded
    }

    /// The original of a 0-based generated position: the mapping at or before it on that
    /// line (a mapping from an earlier line says nothing about this one).
    pub fn original(&self, script: &str, line0: u32, col0: u32) -> Option<Original> {
        let l = self.get(script)?;
        let (from, to) = l.line_range(line0)?;
        let mut best = None;
        for i in from..to {
            let t = l.map.get_token(i as usize)?;
            if t.get_dst_col() > col0 {
                break;
            }
            best = Some(t);
        }
        let t = best?;
        if !t.has_source() {
            return None;
        }
        let file = l.sources.get(t.get_src_id() as usize)?.clone()?;
        Some(Original {
            file,
            line: t.get_src_line() + 1,
            column: t.get_src_col() + 1,
            name: t.get_name().map(str::to_string),
        })
    }

    /// The original name of the identifier `generated` that V8 names at this position (a
    /// function's `(`, a class's `class` keyword): a mapping near it on the same line whose
    /// generated text really is `generated` and whose name differs. Never a guess.
    pub fn original_name(
        &self,
        script: &str,
        line0: u32,
        col0: u32,
        generated: &str,
    ) -> Option<String> {
        if generated.is_empty() || !generated.chars().all(is_ident) {
            return None;
        }
        let l = self.get(script)?;
        let text = l.text.get(line0 as usize)?;
        let (from, to) = l.line_range(line0)?;
        let mut candidates: Vec<(u32, usize)> = Vec::new();
        for i in from..to {
            let t = l.map.get_token(i as usize)?;
            let c = t.get_dst_col();
            if c + 64 >= col0 && c <= col0 + 16 && t.has_name() {
                candidates.push((c.abs_diff(col0), i as usize));
            }
        }
        candidates.sort();
        candidates.into_iter().find_map(|(_, i)| {
            let t = l.map.get_token(i)?;
            let name = t.get_name()?;
            (name != generated && identifier_at(text, t.get_dst_col() as usize, generated))
                .then(|| name.to_string())
        })
    }

    /// Whether `script` has a usable map (reading it on first use).
    pub fn has_map(&self, script: &str) -> bool {
        self.get(script).is_some()
    }

    /// The one original file a script's map comes from (tsc writes a map per source);
    /// `None` for a bundle of several sources, where a position is needed to tell which.
    pub fn only_source(&self, script: &str) -> Option<String> {
        let l = self.get(script)?;
        let mut files = l.sources.iter().flatten();
        let first = files.next()?;
        files.all(|f| f == first).then(|| first.clone())
    }

    /// One note per script whose map could not be used, by script.
    pub fn notes(&self) -> Vec<SourceMapNote> {
        let mut v: Vec<SourceMapNote> = self
            .notes
            .lock()
            .map(|n| n.values().cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| a.script.cmp(&b.script));
        v
    }
}

impl Loaded {
    fn line_range(&self, line0: u32) -> Option<(u32, u32)> {
        let from = *self.line_first.get(line0 as usize)?;
        let to = *self.line_first.get(line0 as usize + 1)?;
        Some((from, to))
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Whether `text` has exactly the identifier `name` starting at byte `col` (columns are
/// UTF-16 units; on a line that is not ASCII the check fails, which only costs a rename).
fn identifier_at(text: &str, col: usize, name: &str) -> bool {
    let Some(rest) = text.get(col..) else {
        return false;
    };
    if !rest.starts_with(name) {
        return false;
    }
    let before = text[..col].chars().next_back();
    let after = rest[name.len()..].chars().next();
    !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
}

#[cfg(test)]
mod tests {
    use super::identifier_at;

    #[test]
    fn identifiers_are_whole() {
        assert!(identifier_at("var c=class{", 4, "c"));
        assert!(!identifier_at("var cc=class{", 4, "c"));
        assert!(!identifier_at("var ac=class{", 5, "c"));
        assert!(!identifier_at("ab", 5, "c"));
    }
}
