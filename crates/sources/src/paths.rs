//! Paths: `file://` URLs, `--path-map`, and lexical normalisation (the files a snapshot
//! names may not exist on this machine, so nothing is canonicalised).

use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMap {
    pub from: String,
    pub to: String,
}

/// `FROM=TO`.
pub fn parse_path_map(s: &str) -> Result<PathMap, String> {
    let (from, to) = s
        .split_once('=')
        .ok_or_else(|| "expected FROM=TO (no `=` in it)".to_string())?;
    if from.is_empty() || to.is_empty() {
        return Err("expected FROM=TO (one side is empty)".into());
    }
    Ok(PathMap {
        from: from.trim_end_matches('/').to_string(),
        to: to.to_string(),
    })
}

/// A script or source as a local path: a `file://` URL decoded, an absolute path as it is;
/// `None` for anything else (`node:…`, `http…`, `evalmachine.<anonymous>`).
pub fn local_path(s: &str) -> Option<PathBuf> {
    if let Some(rest) = s.strip_prefix("file://") {
        return Some(PathBuf::from(percent_decode(rest)));
    }
    s.starts_with('/').then(|| PathBuf::from(s))
}

/// The first path map whose `from` is a whole-component prefix of `p`.
pub fn mapped(p: &Path, maps: &[PathMap], cwd: &Path) -> PathBuf {
    for m in maps {
        if let Ok(rest) = p.strip_prefix(&m.from) {
            let to = Path::new(&m.to);
            let to = if to.is_absolute() {
                to.to_path_buf()
            } else {
                cwd.join(to)
            };
            return normalise(&to.join(rest));
        }
    }
    normalise(p)
}

/// `a/./b/../c` → `a/c`, without touching the disk.
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `%20` → ` `; anything that is not a valid escape stays as it is.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_maps_parse_and_apply_by_whole_components() {
        assert!(parse_path_map("nothing").is_err());
        assert!(parse_path_map("=x").is_err());
        let m = parse_path_map("/app/dist=/srv/build").unwrap();
        let cwd = Path::new("/home/u");
        assert_eq!(
            mapped(Path::new("/app/dist/a.js"), std::slice::from_ref(&m), cwd),
            PathBuf::from("/srv/build/a.js")
        );
        assert_eq!(
            mapped(Path::new("/app/distx/a.js"), &[m], cwd),
            PathBuf::from("/app/distx/a.js")
        );
        let rel = parse_path_map("/app=./out").unwrap();
        assert_eq!(
            mapped(Path::new("/app/a.js"), &[rel], cwd),
            PathBuf::from("/home/u/out/a.js")
        );
    }

    #[test]
    fn urls_and_normalisation() {
        assert_eq!(
            local_path("file:///a%20b/c.js"),
            Some(PathBuf::from("/a b/c.js"))
        );
        assert_eq!(local_path("node:events"), None);
        assert_eq!(normalise(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
