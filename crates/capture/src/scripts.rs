//! `scripts.json`: the scripts a live process reported through its inspector
//! (`Debugger.scriptParsed`) that name a source map, so that a later `suspects` or `report`
//! on the run folder finds the same maps even when the files have changed or are gone
//! (code compiled in memory, a rebuilt `dist/`).

use std::path::Path;
use std::sync::{Arc, Mutex};

use heaphound_inspector::{Event, EventHandler, InspectorError, Session};
use heaphound_model::source::{ScriptSeen, ScriptsDoc};
use serde::Deserialize;
use serde_json::json;

use crate::error::CaptureError;
use crate::run_dir::write_json;

/// The part of a `Debugger.scriptParsed` event that is kept.
#[derive(Deserialize)]
struct ScriptParsed {
    #[serde(default)]
    url: String,
    #[serde(rename = "sourceMapURL", default)]
    source_map_url: String,
}

/// Collects what the session's events say; cloned into the session's handler.
#[derive(Clone, Default)]
pub struct Recorder {
    seen: Arc<Mutex<Vec<ScriptSeen>>>,
}

impl Recorder {
    /// An event handler that keeps `Debugger.scriptParsed` events naming a source map and
    /// drops every other event.
    pub fn handler(&self) -> EventHandler {
        let seen = Arc::clone(&self.seen);
        Box::new(move |ev: &Event| {
            if ev.method != "Debugger.scriptParsed" {
                return;
            }
            let Ok(p) = ScriptParsed::deserialize(&ev.params) else {
                return;
            };
            if p.url.is_empty() || p.source_map_url.is_empty() {
                return;
            }
            if let Ok(mut s) = seen.lock() {
                // A script loaded twice (a worker, a re-required module) is kept once.
                if !s
                    .iter()
                    .any(|x| x.url == p.url && x.source_map_url == p.source_map_url)
                {
                    s.push(ScriptSeen {
                        url: p.url,
                        source_map_url: p.source_map_url,
                    });
                }
            }
        })
    }

    /// Asks for every script parsed so far: enabling the debugger reports them all, and it is
    /// disabled at once, because an enabled debugger changes what the target keeps (async
    /// functions' generators were seen retained). Call it after the last snapshot, with
    /// [`Recorder::handler`] installed on `session`.
    pub fn ask(session: &mut Session) -> Result<(), InspectorError> {
        session.call("Debugger.enable", json!({}))?;
        session.call("Debugger.disable", json!({})).map(|_| ())
    }

    /// Writes `scripts.json` into the run folder when any script named a map.
    pub fn write(&self, run_dir: &Path, pid: u32) -> Result<(), CaptureError> {
        let scripts = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        if scripts.is_empty() {
            return Ok(());
        }
        let doc = ScriptsDoc {
            schema_version: heaphound_model::SCHEMA_VERSION,
            pid: Some(pid),
            scripts,
        };
        write_json(&run_dir.join("scripts.json"), &doc)
    }
}
