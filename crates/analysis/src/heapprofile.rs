//! Sampling heap profiles (`.heapprofile`, from `node --heap-prof` or
//! `HeapProfiler.stopSampling`): the call tree of sampled allocations still alive, and the
//! allocation sites it adds up to.

use std::collections::HashMap;

use heaphound_model::profile::{AllocationSite, ProfileDoc};
use heaphound_model::SCHEMA_VERSION;
use serde::Deserialize;
use thiserror::Error;

mod format;

/// Deeper nesting than any real stack (V8 records at most a few hundred frames); the bound
/// keeps a hostile file from exhausting the parser's stack.
const MAX_NESTING: usize = 1200;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not a sampling heap profile: {0}")]
    NotAProfile(String),
    #[error("nested deeper than {MAX_NESTING} levels at byte {0}")]
    TooDeep(usize),
    #[error("node {path}: {what}")]
    BadNode { path: String, what: String },
}

/// Where a frame's code is. Line and column are 1-based here (the file stores 0-based, -1
/// for unknown).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallFrame {
    pub function_name: String,
    pub url: String,
    pub script_id: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl CallFrame {
    /// `name` as people read it: `(anonymous)` for an unnamed function.
    pub fn display_name(&self) -> &str {
        if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        }
    }

    /// `file:line:column`, `file:line`, `file`, or `(native)` for builtins without a script.
    pub fn location(&self) -> String {
        match (self.url.is_empty(), self.line, self.column) {
            (true, _, _) => "(native)".to_string(),
            (false, Some(l), Some(c)) => format!("{}:{l}:{c}", self.url),
            (false, Some(l), None) => format!("{}:{l}", self.url),
            (false, None, _) => self.url.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProfileNode {
    pub frame: CallFrame,
    pub id: u64,
    /// Bytes sampled in exactly this frame.
    pub self_size: u64,
    /// `self_size` of this node and everything below it.
    pub total_size: u64,
    pub parent: Option<u32>,
    pub children: Vec<u32>,
    /// Samples whose `nodeId` is this node.
    pub samples: u64,
}

/// The call tree, in pre-order: node 0 is the root.
#[derive(Debug, Clone)]
pub struct Profile {
    pub nodes: Vec<ProfileNode>,
    /// Σ `samples[].size`: it differs from the root's total (V8 rounds them apart).
    pub samples_size: u64,
    pub sample_count: u64,
}

/// One allocation site: every node of the tree with the same call frame.
#[derive(Debug, Clone)]
pub struct Site {
    pub frame: CallFrame,
    pub self_size: u64,
    /// Bytes allocated in this frame or below it; a recursive frame counts once.
    pub total_size: u64,
    pub samples: u64,
}

fn max_nesting(bytes: &[u8]) -> Result<(), ProfileError> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(ProfileError::TooDeep(i));
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn num(v: &format::Scalar, key: &str, path: &str) -> Result<i64, ProfileError> {
    v.as_i64().ok_or_else(|| ProfileError::BadNode {
        path: path.to_string(),
        what: format!("`{key}` is missing or not an integer"),
    })
}

/// No allocation is larger than the largest ArrayBuffer V8 allows (2^53 − 1 bytes).
const MAX_SIZE: u64 = (1 << 53) - 1;

fn one_based(n: i64) -> Option<u32> {
    u32::try_from(n).ok().map(|n| n.saturating_add(1))
}

/// Parses a profile (the `.heapprofile` file, or the `profile` of `stopSampling`).
pub fn parse(bytes: &[u8]) -> Result<Profile, ProfileError> {
    max_nesting(bytes)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let doc = format::Doc::deserialize(&mut de).map_err(|e| ProfileError::Json(e.to_string()))?;
    de.end().map_err(|e| ProfileError::Json(e.to_string()))?;
    // A CDP reply wraps the profile: `{"profile": {...}}`.
    let doc = match doc {
        format::Doc {
            head: None,
            profile: Some(p),
            ..
        } => *p,
        d => d,
    };
    let head = doc
        .head
        .filter(|h| h.is_object)
        .ok_or_else(|| ProfileError::NotAProfile("no `head` object".into()))?;

    let mut nodes: Vec<ProfileNode> = Vec::new();
    // Iterative pre-order walk: (node, parent, path for messages).
    let mut stack: Vec<(format::Node, Option<u32>, String)> = vec![(head, None, "head".into())];
    while let Some((v, parent, path)) = stack.pop() {
        let cf = v.call_frame.as_ref().ok_or_else(|| ProfileError::BadNode {
            path: path.clone(),
            what: "no `callFrame`".into(),
        })?;
        let self_size = num(&v.self_size, "selfSize", &path)?;
        let self_size = u64::try_from(self_size).map_err(|_| ProfileError::BadNode {
            path: path.clone(),
            what: format!("negative `selfSize` {self_size}"),
        })?;
        if self_size > MAX_SIZE {
            return Err(ProfileError::BadNode {
                path,
                what: format!(
                    "`selfSize` {self_size} is more than any allocation can be ({MAX_SIZE} bytes)"
                ),
            });
        }
        let frame = CallFrame {
            function_name: cf.function_name.text(),
            url: cf.url.text(),
            script_id: cf.script_id.text(),
            line: cf.line_number.as_i64().and_then(one_based),
            column: cf.column_number.as_i64().and_then(one_based),
        };
        let me = nodes.len() as u32;
        nodes.push(ProfileNode {
            frame,
            id: num(&v.id, "id", &path)?.max(0) as u64,
            self_size,
            total_size: 0,
            parent,
            children: Vec::new(),
            samples: 0,
        });
        if let Some(p) = parent {
            nodes[p as usize].children.push(me);
        }
        match v.children {
            format::Children::None => {}
            format::Children::List(kids) => {
                for (i, k) in kids.into_iter().enumerate().rev() {
                    stack.push((k, Some(me), format!("{path}.children[{i}]")));
                }
            }
            format::Children::NotAnArray => {
                return Err(ProfileError::BadNode {
                    path,
                    what: "`children` is not an array".into(),
                })
            }
        }
    }
    // Children come after their parent in pre-order: one backward pass sums the subtrees.
    // Each size is bounded, their sum is not: thousands of huge ones still saturate.
    for i in (0..nodes.len()).rev() {
        let t = nodes[i].total_size.saturating_add(nodes[i].self_size);
        nodes[i].total_size = t;
        if let Some(p) = nodes[i].parent {
            let parent = &mut nodes[p as usize].total_size;
            *parent = parent.saturating_add(t);
        }
    }
    let by_id: HashMap<u64, u32> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id, i as u32))
        .collect();
    let (mut samples_size, mut sample_count) = (0u64, 0u64);
    for s in &doc.samples.0 {
        sample_count += 1;
        samples_size = samples_size.saturating_add(s.size.as_u64().unwrap_or(0));
        if let Some(&n) = s.node_id.as_u64().and_then(|id| by_id.get(&id)) {
            nodes[n as usize].samples += 1;
        }
    }
    Ok(Profile {
        nodes,
        samples_size,
        sample_count,
    })
}

impl Profile {
    /// Bytes in the whole tree (Σ selfSize).
    pub fn total_size(&self) -> u64 {
        self.nodes.first().map_or(0, |n| n.total_size)
    }

    /// Allocation sites, in no particular order. The root `(root)` is not a site.
    pub fn sites(&self) -> Vec<Site> {
        let mut index: HashMap<&CallFrame, usize> = HashMap::new();
        let mut sites: Vec<Site> = Vec::new();
        let mut site_of = vec![usize::MAX; self.nodes.len()];
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            let k = *index.entry(&n.frame).or_insert_with(|| {
                sites.push(Site {
                    frame: n.frame.clone(),
                    self_size: 0,
                    total_size: 0,
                    samples: 0,
                });
                sites.len() - 1
            });
            site_of[i] = k;
            sites[k].self_size = sites[k].self_size.saturating_add(n.self_size);
            sites[k].samples += n.samples;
        }
        // Totals: a node counts toward its site unless that site is already on the path
        // above it (recursion would count the same bytes twice).
        let mut on_path = vec![0u32; sites.len()];
        let mut stack: Vec<(u32, bool)> = vec![(0, false)];
        while let Some((n, leaving)) = stack.pop() {
            let s = site_of[n as usize];
            if leaving {
                if s != usize::MAX {
                    on_path[s] -= 1;
                }
                continue;
            }
            if s != usize::MAX {
                if on_path[s] == 0 {
                    let t = &mut sites[s].total_size;
                    *t = t.saturating_add(self.nodes[n as usize].total_size);
                }
                on_path[s] += 1;
            }
            stack.push((n, true));
            for &c in self.nodes[n as usize].children.iter().rev() {
                stack.push((c, false));
            }
        }
        sites
    }

    /// The `top` sites by self size, then by total size (largest first; ties by name).
    pub fn top_sites(&self, top: usize) -> (Vec<Site>, Vec<Site>) {
        let sites = self.sites();
        let order = |key: fn(&Site) -> u64| {
            let mut v: Vec<Site> = sites.iter().filter(|s| key(s) > 0).cloned().collect();
            v.sort_by(|a, b| {
                key(b)
                    .cmp(&key(a))
                    .then_with(|| a.frame.location().cmp(&b.frame.location()))
                    .then_with(|| a.frame.function_name.cmp(&b.frame.function_name))
            });
            v.truncate(top);
            v
        };
        (order(|s| s.self_size), order(|s| s.total_size))
    }
}

impl Site {
    fn doc(&self) -> AllocationSite {
        AllocationSite {
            function: self.frame.function_name.clone(),
            url: self.frame.url.clone(),
            line: self.frame.line,
            column: self.frame.column,
            location: self.frame.location(),
            original: None,
            self_size: self.self_size,
            total_size: self.total_size,
            samples: self.samples,
        }
    }
}

/// The `profile --json` document: the `top` sites by self and by total size; `file` is the
/// profile as the user named it.
pub fn document(file: &str, p: &Profile, top: usize) -> ProfileDoc {
    let (by_self, by_total) = p.top_sites(top);
    ProfileDoc {
        schema_version: SCHEMA_VERSION,
        file: file.to_string(),
        total_size: p.total_size(),
        sample_count: p.sample_count,
        samples_size: p.samples_size,
        by_self: by_self.iter().map(Site::doc).collect(),
        by_total: by_total.iter().map(Site::doc).collect(),
        source_map_notes: Vec::new(),
        frames: p.nodes.len().saturating_sub(1) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"{"head":{"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"selfSize":0,"id":1,"children":[
        {"callFrame":{"functionName":"a","scriptId":"5","url":"file:///x.js","lineNumber":0,"columnNumber":9},"selfSize":10,"id":2,"children":[
            {"callFrame":{"functionName":"a","scriptId":"5","url":"file:///x.js","lineNumber":0,"columnNumber":9},"selfSize":5,"id":3,"children":[]},
            {"callFrame":{"functionName":"","scriptId":"5","url":"file:///x.js","lineNumber":4,"columnNumber":2},"selfSize":30,"id":4,"children":[]}]}]},
        "samples":[{"size":30,"nodeId":4,"ordinal":1},{"size":10,"nodeId":2,"ordinal":2}]}"#;

    #[test]
    fn sites_add_up_and_lines_are_one_based() {
        let p = parse(SMALL.as_bytes()).expect("parses");
        assert_eq!(p.total_size(), 45);
        assert_eq!(p.sample_count, 2);
        assert_eq!(p.samples_size, 40);
        let (by_self, by_total) = p.top_sites(10);
        assert_eq!(by_self[0].frame.location(), "file:///x.js:5:3");
        assert_eq!(by_self[0].self_size, 30);
        let a = by_total
            .iter()
            .find(|s| s.frame.function_name == "a")
            .unwrap();
        // The recursive call is inside the outer one: 45, not 50.
        assert_eq!(a.total_size, 45);
        assert_eq!(a.self_size, 15);
        assert_eq!(a.frame.location(), "file:///x.js:1:10");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(
            parse(b"{\"nodes\":[]}"),
            Err(ProfileError::NotAProfile(_))
        ));
        assert!(matches!(parse(b"{\"head\":"), Err(ProfileError::Json(_))));
        let deep = "[".repeat(MAX_NESTING + 1);
        assert!(matches!(
            parse(deep.as_bytes()),
            Err(ProfileError::TooDeep(_))
        ));
        let bad_node = |text: &str| match parse(text.as_bytes()) {
            Err(ProfileError::BadNode { path, what }) => format!("{path}: {what}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            bad_node(r#"{"head":{"callFrame":null,"selfSize":0,"id":1,"children":[7]}}"#),
            "head.children[0]: no `callFrame`"
        );
        assert_eq!(
            bad_node(r#"{"head":{"callFrame":{},"selfSize":"1","id":1}}"#),
            "head: `selfSize` is missing or not an integer"
        );
        assert_eq!(
            bad_node(r#"{"head":{"callFrame":{},"selfSize":1,"id":1.5}}"#),
            "head: `id` is missing or not an integer"
        );
        assert_eq!(
            bad_node(r#"{"head":{"callFrame":{},"selfSize":1,"id":1,"children":{}}}"#),
            "head: `children` is not an array"
        );
        for not_a_profile in [r#"{"head":[]}"#, "[1]", r#"{"profile":{"head":null}}"#] {
            assert!(
                matches!(
                    parse(not_a_profile.as_bytes()),
                    Err(ProfileError::NotAProfile(_))
                ),
                "{not_a_profile}"
            );
        }
        let neg = r#"{"head":{"callFrame":{},"selfSize":-1,"id":1}}"#;
        assert!(matches!(
            parse(neg.as_bytes()),
            Err(ProfileError::BadNode { .. })
        ));
    }

    /// Found by tests/fuzz.rs: a sample `size` of u64::MAX overflowed the samples' sum.
    #[test]
    fn huge_sizes_are_refused_or_saturate_never_overflow() {
        let p = parse(
            SMALL
                .replace(r#""size":30"#, &format!(r#""size":{}"#, u64::MAX))
                .as_bytes(),
        )
        .expect("a huge sample size reads");
        assert_eq!(p.samples_size, u64::MAX);

        let huge = SMALL.replace(r#""selfSize":30"#, r#""selfSize":4611686018427387904"#);
        match parse(huge.as_bytes()) {
            Err(ProfileError::BadNode { path, what }) => {
                assert_eq!(path, "head.children[0].children[1]");
                assert!(what.contains("4611686018427387904"), "{what}");
            }
            other => panic!("{other:?}"),
        }

        // Sizes each possible, thousands of them: the sums saturate.
        let leaf = format!(
            r#"{{"callFrame":{{"functionName":"f","url":"u"}},"selfSize":{MAX_SIZE},"id":2}}"#
        );
        let many = format!(
            r#"{{"head":{{"callFrame":{{}},"selfSize":0,"id":1,"children":[{}]}}}}"#,
            vec![leaf; 3000].join(",")
        );
        let p = parse(many.as_bytes()).expect("reads");
        assert_eq!(p.total_size(), u64::MAX);
        let (by_self, by_total) = p.top_sites(1);
        assert_eq!(
            (by_self[0].self_size, by_total[0].total_size),
            (u64::MAX, u64::MAX)
        );
    }

    #[test]
    fn deep_stacks_and_loose_fields_read() {
        // As deep as the nesting bound lets a real profile be: one node per two levels.
        let depth = MAX_NESTING / 2 - 2;
        let node = r#"{"callFrame":{"functionName":"f","scriptId":7,"url":"file:///x.js","lineNumber":2,"columnNumber":-1,"extra":[{}]},"selfSize":1,"id":"#;
        let mut text = String::from(r#"{"profile":{"head":"#);
        for i in 0..depth {
            text.push_str(&format!(r#"{node}{},"children":["#, i + 1));
        }
        text.push_str(&"]}".repeat(depth));
        text.push_str(r#","samples":[{"size":3,"nodeId":2},{"size":-1,"nodeId":99},7]}}"#);
        // The reader descends the nesting: give it the main thread's stack, not a test's.
        let p = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn(move || parse(text.as_bytes()))
            .expect("spawns")
            .join()
            .expect("no overflow")
            .expect("parses");
        assert_eq!(p.nodes.len(), depth);
        assert_eq!(p.total_size(), depth as u64);
        assert_eq!((p.sample_count, p.samples_size), (3, 3));
        assert_eq!(p.nodes[1].samples, 1);
        let f = &p.nodes[depth - 1].frame;
        assert_eq!(f.script_id, "7");
        assert_eq!(f.location(), "file:///x.js:3");
    }
}
