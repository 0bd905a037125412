//! The source maps a command reads positions through: `--no-source-maps`, `--path-map`, and
//! the `scripts.json` a capture left beside its snapshots.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Result};
use heaphound_model::source::ScriptsDoc;
use heaphound_sources::{parse_path_map, Options, PathMap, SourceMaps};

/// What the user said about source maps, for every command.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub off: bool,
    /// `FROM=TO` as given.
    pub path_maps: Vec<String>,
}

impl Flags {
    /// Checks `--path-map` values before any work starts.
    pub fn check(&self) -> Result<()> {
        for p in &self.path_maps {
            if let Err(e) = parse_path_map(p) {
                bail!("--path-map {p}: {e}");
            }
        }
        Ok(())
    }

    /// The maps for inputs that live in `dir` (a run folder's `scripts.json` is read from it).
    pub fn maps_in(&self, dir: Option<&Path>) -> Arc<SourceMaps> {
        if self.off {
            return Arc::new(SourceMaps::new(Options::disabled()));
        }
        let path_maps: Vec<PathMap> = self
            .path_maps
            .iter()
            .filter_map(|p| parse_path_map(p).ok())
            .collect();
        let scripts = dir.map(read_scripts).unwrap_or_default();
        Arc::new(SourceMaps::new(Options {
            enabled: true,
            path_maps,
            scripts,
            cwd: std::env::current_dir().unwrap_or_default(),
        }))
    }

    /// The maps for snapshot files (their folder's `scripts.json`, when there is one).
    pub fn maps_for(&self, files: &[impl AsRef<str>]) -> Arc<SourceMaps> {
        let dir = files
            .first()
            .map(|f| f.as_ref())
            .filter(|f| *f != "-")
            .and_then(|f| Path::new(f).parent())
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            });
        self.maps_in(dir)
    }
}

/// `scripts.json` in `dir`; one that cannot be read is skipped with a note, as the
/// snapshots can still be read without it.
fn read_scripts(dir: &Path) -> Vec<heaphound_model::source::ScriptSeen> {
    let path = dir.join("scripts.json");
    let Ok(bytes) = std::fs::read(&path) else {
        return Vec::new();
    };
    match serde_json::from_slice::<ScriptsDoc>(&bytes) {
        Ok(doc) => doc.scripts,
        Err(e) => {
            crate::commands::note(&format!(
                "{}: not a scripts.json heaphound wrote ({e}); its source maps are not used",
                path.display()
            ));
            Vec::new()
        }
    }
}

/// One line on stderr per source map that could not be used.
pub fn print_notes(maps: &SourceMaps, quiet: bool) {
    if quiet {
        return;
    }
    for n in maps.notes() {
        crate::commands::note(&format!("source map of {}: {}", n.script, n.problem));
    }
}
