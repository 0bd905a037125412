//! Finding and decoding a script's map: its `sourceMappingURL` comment (a file or an inline
//! `data:` URL), else `SCRIPT.map` beside it, else what the inspector reported.

use std::path::{Path, PathBuf};

use heaphound_model::source::SourceMapNote;
use sourcemap::{DecodedMap, SourceMap};

use crate::paths::{local_path, mapped, normalise, percent_decode};
use crate::{Loaded, Options};

const MAX_SCRIPT: u64 = 64 << 20;
const MAX_MAP: u64 = 256 << 20;

/// Where the map is and how to read it.
enum MapAt {
    File(PathBuf),
    Inline(String),
}

/// `Ok(None)`: the script names no map (plain JavaScript, or unknown here), which is normal.
/// `Err`: a map was named but cannot be used.
/// A note beside a loaded map: it is used all the same (a source of it is missing).
pub(crate) fn load(
    script: &str,
    opts: &Options,
) -> Result<Option<(Loaded, Option<SourceMapNote>)>, SourceMapNote> {
    let note = |map: Option<String>, problem: String| SourceMapNote {
        script: script.to_string(),
        map,
        problem,
    };
    let path = local_path(script).map(|p| mapped(&p, &opts.path_maps, &opts.cwd));
    let text = match &path {
        Some(p) => read_script(p).map_err(|e| note(None, e))?,
        None => None,
    };
    let dir = path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let at = text
        .as_deref()
        .and_then(last_reference)
        .map(|url| resolve_url(&url, &dir, opts))
        .or_else(|| {
            let p = path.as_ref()?;
            let beside = PathBuf::from(format!("{}.map", p.display()));
            beside.is_file().then_some(MapAt::File(beside))
        })
        .or_else(|| {
            let seen = opts.scripts.iter().find(|s| {
                s.url == script
                    || local_path(&s.url).map(|p| mapped(&p, &opts.path_maps, &opts.cwd)) == path
            })?;
            let seen_dir = local_path(&seen.url)
                .map(|p| mapped(&p, &opts.path_maps, &opts.cwd))
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_else(|| dir.clone());
            Some(resolve_url(&seen.source_map_url, &seen_dir, opts))
        });
    let Some(at) = at else {
        return Ok(None);
    };
    let (label, map_dir, decoded) = match &at {
        MapAt::Inline(url) => {
            let d = sourcemap::decode_data_url(url).map_err(|e| {
                note(
                    Some("inline".into()),
                    format!("the inline map does not decode ({e})"),
                )
            })?;
            ("inline".to_string(), dir.clone(), d)
        }
        MapAt::File(p) => {
            let label = p.display().to_string();
            let bytes = read_map(p).map_err(|e| note(Some(label.clone()), e))?;
            let d = decode(&bytes, &label).map_err(|e| note(Some(label.clone()), e))?;
            (
                label,
                p.parent().map(Path::to_path_buf).unwrap_or_default(),
                d,
            )
        }
    };
    let map = match decoded {
        DecodedMap::Regular(m) => m,
        DecodedMap::Index(i) => i.flatten().map_err(|e| {
            note(
                Some(label.clone()),
                format!("{label}: its sections do not flatten ({e})"),
            )
        })?,
        // Hermes maps are React Native's; they deref to a regular map.
        DecodedMap::Hermes(h) => (*h).clone(),
    };
    let (sources, missing) = sources_of(&map, &map_dir, opts);
    let lines = text.as_deref().map(|t| t.lines().count()).unwrap_or(0);
    let line_first = line_index(&map, lines).map_err(|e| note(Some(label.clone()), e))?;
    // A missing source is noted, but the map still serves its other sources.
    let noted = missing.map(|m| {
        note(
            Some(label.clone()),
            format!("{label}: source {m} does not exist and the map has no sourcesContent for it"),
        )
    });
    Ok(Some((
        Loaded {
            map,
            line_first,
            sources,
            text: text_lines(text),
        },
        noted,
    )))
}

fn text_lines(text: Option<String>) -> Vec<String> {
    text.map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The script's text; `None` when the file is not there (the snapshot may be from another
/// machine). A script too large to be read is a note.
fn read_script(p: &Path) -> Result<Option<String>, String> {
    let Ok(meta) = std::fs::metadata(p) else {
        return Ok(None);
    };
    if meta.len() > MAX_SCRIPT {
        return Err(format!(
            "{} is over 64 MiB; its source map is not read",
            p.display()
        ));
    }
    Ok(std::fs::read(p)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned()))
}

fn read_map(p: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(p).map_err(|_| format!("map {} does not exist", p.display()))?;
    if meta.len() > MAX_MAP {
        return Err(format!("map {} is over 256 MiB", p.display()));
    }
    std::fs::read(p).map_err(|e| format!("map {} cannot be read: {e}", p.display()))
}

fn decode(bytes: &[u8], label: &str) -> Result<DecodedMap, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{label} is not JSON ({e})"))?;
    match v.get("version").and_then(|v| v.as_u64()) {
        Some(3) => {}
        Some(n) => {
            return Err(format!(
                "{label} is version {n}, not a version 3 source map"
            ))
        }
        None => return Err(format!("{label} is not a source map (it has no version)")),
    }
    sourcemap::decode_slice(bytes).map_err(|e| format!("{label}: its mappings do not decode ({e})"))
}

/// The URL of the script's last `sourceMappingURL` comment.
fn last_reference(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| {
        let l = l.trim_end();
        l.strip_prefix("//# sourceMappingURL=")
            .or_else(|| l.strip_prefix("//@ sourceMappingURL="))
            .map(|u| u.trim().to_string())
    })
}

fn resolve_url(url: &str, dir: &Path, opts: &Options) -> MapAt {
    if url.starts_with("data:") {
        return MapAt::Inline(url.to_string());
    }
    if let Some(p) = local_path(url) {
        return MapAt::File(mapped(&p, &opts.path_maps, &opts.cwd));
    }
    MapAt::File(normalise(&dir.join(percent_decode(url))))
}

/// Each source's file, and the first one that neither exists nor has its content in the map.
fn sources_of(
    map: &SourceMap,
    map_dir: &Path,
    opts: &Options,
) -> (Vec<Option<String>>, Option<String>) {
    let mut missing = None;
    let mut out = Vec::new();
    for i in 0..map.get_source_count() {
        let raw = map.get_source(i).unwrap_or("");
        let path = if let Some(p) = local_path(raw) {
            mapped(&p, &opts.path_maps, &opts.cwd)
        } else if let Some((_, rest)) = raw.split_once("://") {
            // `webpack://app/./src/x.ts`: the part after the project name.
            let rest = rest.split_once('/').map_or(rest, |(_, r)| r);
            normalise(&map_dir.join(rest))
        } else {
            normalise(&map_dir.join(raw))
        };
        let has_content = map.get_source_contents(i).is_some();
        if path.exists() || has_content {
            out.push(Some(path.display().to_string()));
        } else {
            if missing.is_none() {
                missing = Some(raw.to_string());
            }
            out.push(None);
        }
    }
    (out, missing)
}

/// The first token of each generated line. Tokens past the script's last line are mappings
/// out of range.
fn line_index(map: &SourceMap, script_lines: usize) -> Result<Vec<u32>, String> {
    let mut first: Vec<u32> = Vec::new();
    let n = map.get_token_count();
    for i in 0..n {
        let t = map.get_token(i as usize).ok_or("a mapping is missing")?;
        let line = t.get_dst_line() as usize;
        while first.len() <= line {
            first.push(i);
        }
    }
    if script_lines > 0 && first.len() > script_lines + 1 {
        return Err(format!(
            "its mappings reach generated line {}, past the script's {script_lines} lines",
            first.len()
        ));
    }
    first.push(n);
    Ok(first)
}
