//! Placeholder until the resolver lands: resolves nothing.
use heaphound_model::source::{Original, ScriptSeen, SourceMapNote};

pub struct PathMap {
    pub from: String,
    pub to: String,
}

pub fn parse_path_map(s: &str) -> Result<PathMap, String> {
    let (from, to) = s.split_once('=').ok_or("expected FROM=TO")?;
    Ok(PathMap {
        from: from.into(),
        to: to.into(),
    })
}

pub struct Options {
    pub enabled: bool,
    pub path_maps: Vec<PathMap>,
    pub scripts: Vec<ScriptSeen>,
    pub cwd: std::path::PathBuf,
}

impl Options {
    pub fn disabled() -> Options {
        Options {
            enabled: false,
            path_maps: Vec::new(),
            scripts: Vec::new(),
            cwd: std::path::PathBuf::new(),
        }
    }
}

pub struct SourceMaps {
    opts: Options,
}

impl SourceMaps {
    pub fn new(opts: Options) -> SourceMaps {
        SourceMaps { opts }
    }
    pub fn enabled(&self) -> bool {
        self.opts.enabled
    }
    pub fn original(&self, _script: &str, _line0: u32, _col0: u32) -> Option<Original> {
        None
    }
    pub fn original_name(&self, _s: &str, _l: u32, _c: u32, _g: &str) -> Option<String> {
        None
    }
    pub fn notes(&self) -> Vec<SourceMapNote> {
        Vec::new()
    }
}
