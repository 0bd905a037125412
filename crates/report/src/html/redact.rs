//! `--redact`: a report that can leave the company. What the program's users put in the
//! heap is hidden; what the program's authors wrote stays.
//!
//! Hidden (replaced by `‹len 36, #a1b2c3›`): the contents of strings and numbers (string,
//! concatenated/sliced string, heap number, bigint objects), and property names that are
//! not JavaScript identifiers (`.88b4f70c-…`, `["a b"]`, `{88b4f70c-…, …}` class names):
//! those are keys of objects used as maps, i.e. data. Kept: class and constructor names,
//! identifier property names, variable names, function names, file:line. Any hidden value
//! that also appears in free text (titles, the load URL) is replaced there too.
//!
//! Hidden wherever they appear, by their value ([`super::secrets`]): API keys with a known
//! prefix (`sk_live_…`, `ghp_…`, `AKIA…`), JWTs, credentials in URLs, the values of
//! `token=`, `password=` and such parameters, bearer tokens, and long random-looking
//! strings: a secret used as a property name or map key is shaped like an identifier, and
//! the load URL and the program's command are free text, so position alone misses them.
//!
//! The hash is salted per report: equal values share a hash inside one report, but a
//! short value (a user id) cannot be found again by hashing guesses.

use std::collections::HashMap;

use super::model::{ChainItem, DomNode, Object, Report};
use super::secrets;

pub struct Redactor {
    salt: u64,
    /// Each hidden value and its placeholder.
    seen: HashMap<String, String>,
    /// The values hidden because they look like secrets: hidden in every text, names
    /// included (unlike a string's contents, which may be an ordinary word).
    secrets: Vec<String>,
}

/// Node types whose name is a value, not a name.
fn is_value_kind(kind: &str) -> bool {
    matches!(
        kind,
        "string" | "concatenated string" | "sliced string" | "number" | "bigint"
    )
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn fnv(salt: u64, s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325 ^ salt, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

impl Redactor {
    /// A redactor with a fresh salt.
    pub fn new() -> Redactor {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Redactor::with_salt(t ^ (u64::from(std::process::id()) << 32))
    }

    pub fn with_salt(salt: u64) -> Redactor {
        Redactor {
            salt,
            seen: HashMap::new(),
            secrets: Vec::new(),
        }
    }

    /// The placeholder for a value, remembered for the free-text pass.
    pub fn value(&mut self, v: &str) -> String {
        if let Some(p) = self.seen.get(v) {
            return p.clone();
        }
        let p = format!(
            "‹len {}, #{:06x}›",
            v.chars().count(),
            fnv(self.salt, v) & 0xff_ffff
        );
        self.seen.insert(v.to_string(), p.clone());
        p
    }

    /// A class name: `{a, b, c}` shapes list property names, which may be data.
    pub fn class(&mut self, c: &str) -> String {
        let Some(inner) = c.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
            return c.to_string();
        };
        let parts: Vec<String> = inner
            .split(", ")
            .map(|p| {
                // `get size` and `set size` are accessors the program defined, not data.
                let accessor = p
                    .strip_prefix("get ")
                    .or_else(|| p.strip_prefix("set "))
                    .is_some_and(is_identifier);
                if p.is_empty() || is_identifier(p) || accessor || p == "…" || p == "..." {
                    p.to_string()
                } else {
                    self.value(p)
                }
            })
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    /// An edge label as `edge_label` writes it (`.name`, `["a b"]`, `[3]`, `->v`, `{x}`).
    pub fn edge(&mut self, e: &str) -> String {
        if let Some(inner) = e.strip_prefix("[\"").and_then(|r| r.strip_suffix("\"]")) {
            return format!("[\"{}\"]", self.value(inner));
        }
        if let Some(name) = e.strip_prefix('.') {
            if !is_identifier(name) && !name.chars().all(|c| c.is_ascii_digit()) {
                return format!(".{}", self.value(name));
            }
        }
        e.to_string()
    }

    pub fn object(&mut self, o: &mut Object) {
        if is_value_kind(&o.kind) {
            if !o.name.is_empty() {
                o.name = self.value(&o.name);
            }
        } else {
            o.name = self.class(&o.name);
        }
        o.class = self.class(&o.class);
    }

    /// Remembers the secret-looking values in `text`, to be hidden wherever they appear.
    pub fn find_secrets(&mut self, text: &str) {
        for s in secrets::find(text) {
            if !self.secrets.iter().any(|k| k == s) {
                self.value(s);
                self.secrets.push(s.to_string());
            }
        }
        // Longest first, so a secret inside a longer one does not split it.
        self.secrets
            .sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Replaces every secret-looking value found so far that occurs in `text`.
    pub fn hide_secrets(&self, text: &str) -> String {
        let mut out = text.to_string();
        for k in &self.secrets {
            if out.contains(k.as_str()) {
                out = out.replace(k.as_str(), &self.seen[k]);
            }
        }
        out
    }

    /// Replaces every hidden value that occurs in `text`, longest first.
    pub fn scrub(&self, text: &str) -> String {
        let mut keys: Vec<(&String, &String)> = self
            .seen
            .iter()
            .filter(|(k, _)| k.chars().count() >= 3)
            .collect();
        keys.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(b.0)));
        let mut out = text.to_string();
        for (k, p) in keys {
            if out.contains(k.as_str()) {
                out = out.replace(k.as_str(), p);
            }
        }
        out
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

/// Every text of the report the page shows.
fn each_text(report: &mut Report, f: &mut dyn FnMut(&mut String)) {
    fn object(o: &mut Object, f: &mut dyn FnMut(&mut String)) {
        f(&mut o.class);
        f(&mut o.name);
    }
    f(&mut report.title);
    for (_, v) in &mut report.facts {
        f(v);
    }
    if let Some(v) = &mut report.verdict {
        f(&mut v.reason);
    }
    for s in &mut report.snapshots {
        f(&mut s.file);
    }
    if let Some(c) = &mut report.crash {
        for (_, v) in &mut c.rows {
            f(v);
        }
        for frame in &mut c.stack {
            f(frame);
        }
    }
    for s in report.suspects.iter_mut().flatten() {
        for t in [&mut s.shape, &mut s.title, &mut s.class, &mut s.holder] {
            f(t);
        }
        for item in &mut s.chain {
            if let ChainItem::Object { edge, object: o } = item {
                if let Some(e) = edge {
                    f(e);
                }
                object(o, f);
            }
        }
        for l in &mut s.locations {
            f(&mut l.file);
            if let Some(func) = &mut l.function {
                f(func);
            }
        }
        for a in &mut s.allocation_stack {
            f(a);
        }
    }
    if let Some(t) = &mut report.classes {
        f(&mut t.before);
        f(&mut t.after);
        for row in &mut t.rows {
            f(&mut row.name);
            if let Some(l) = &mut row.location {
                f(l);
            }
        }
    }
    if let Some(root) = &mut report.dominators {
        let mut stack: Vec<&mut DomNode> = vec![root];
        while let Some(n) = stack.pop() {
            object(&mut n.object, f);
            stack.extend(n.children.iter_mut());
        }
    }
    if let Some(a) = &mut report.allocations {
        f(&mut a.source);
        for n in &mut a.tree.nodes {
            f(&mut n.name);
            f(&mut n.location);
        }
    }
}

/// Redacts a report in place (structured parts first, so free text knows what to hide).
pub fn apply(report: &mut Report, r: &mut Redactor) {
    each_text(report, &mut |t| r.find_secrets(t));
    for s in report.suspects.iter_mut().flatten() {
        s.class = r.class(&s.class);
        for item in &mut s.chain {
            if let ChainItem::Object { edge, object } = item {
                if let Some(e) = edge {
                    *e = r.edge(e);
                }
                r.object(object);
            }
        }
    }
    if let Some(t) = &mut report.classes {
        for row in &mut t.rows {
            row.name = r.class(&row.name);
        }
    }
    if let Some(root) = &mut report.dominators {
        let mut stack: Vec<&mut DomNode> = vec![root];
        while let Some(n) = stack.pop() {
            r.object(&mut n.object);
            stack.extend(n.children.iter_mut());
        }
    }
    // Free text last.
    report.title = r.scrub(&report.title);
    for (_, v) in &mut report.facts {
        *v = r.scrub(v);
    }
    if let Some(c) = &mut report.crash {
        for (_, v) in &mut c.rows {
            *v = r.scrub(v);
        }
    }
    if let Some(v) = &mut report.verdict {
        v.reason = r.scrub(&v.reason);
    }
    for s in report.suspects.iter_mut().flatten() {
        s.title = r.scrub(&s.title);
        s.holder = r.scrub(&s.holder);
        for a in &mut s.allocation_stack {
            *a = r.scrub(a);
        }
    }
    each_text(report, &mut |t| *t = r.hide_secrets(t));
    report.redacted = true;
}

#[cfg(test)]
mod tests {
    use super::super::model::Suspect;
    use super::*;

    #[test]
    fn values_go_names_stay() {
        let mut r = Redactor::with_salt(1);
        let mut s = Object {
            kind: "concatenated string".into(),
            class: "(concatenated string)".into(),
            name: "88b4f70c-1111-2222-3333-444455556666".into(),
            ..Object::default()
        };
        r.object(&mut s);
        assert!(s.name.starts_with("‹len 36, #"), "{}", s.name);
        assert_eq!(s.class, "(concatenated string)");
        let mut o = Object {
            kind: "object".into(),
            class: "Object".into(),
            name: "{createServer, sessionCache}".into(),
            ..Object::default()
        };
        r.object(&mut o);
        assert_eq!(o.name, "{createServer, sessionCache}");
        assert_eq!(r.edge(".sessionCache"), ".sessionCache");
        assert_eq!(r.edge("[12]"), "[12]");
        assert!(!r.edge(".ab-cd").contains("ab-cd"));
        assert!(!r.edge("[\"a b\"]").contains("a b"));
        assert_eq!(
            r.class("{MIMEType, get MIMEType, set size}"),
            "{MIMEType, get MIMEType, set size}"
        );
        assert!(!r.class("{get a b}").contains("a b"));
        let c = r.class("{u-1, name}");
        assert!(c.ends_with(", name}") && !c.contains("u-1"), "{c}");
        // The same value has the same placeholder, and free text loses it too.
        let again = r.value("88b4f70c-1111-2222-3333-444455556666");
        assert_eq!(again, s.name);
        let t = r.scrub("session 88b4f70c-1111-2222-3333-444455556666 leaked");
        assert_eq!(t, format!("session {again} leaked"));
    }

    #[test]
    fn secrets_go_wherever_they_are_shown() {
        let key = "sk_live_51HxYzAbCdEfGh12345678";
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let mut report = Report {
            title: "heaphound hunt: node app.js --api-key=hunter2hunter2".into(),
            facts: vec![
                (
                    "load".into(),
                    "GET http://127.0.0.1:3000/?token=SECRET123abc, 8 connections".into(),
                ),
                ("program".into(), "node http://bob:pa55@127.0.0.1/".into()),
            ],
            suspects: Some(vec![Suspect {
                title: format!("Object `{key}` only ever grows"),
                class: "IncomingMessage".into(),
                holder: "Map `sessionCache` on the global object".into(),
                chain: vec![
                    ChainItem::Object {
                        edge: Some(format!(".{key}")),
                        object: Object {
                            kind: "object".into(),
                            class: format!("{{{key}, name}}"),
                            ..Object::default()
                        },
                    },
                    ChainItem::Object {
                        edge: Some(format!(".{jwt}")),
                        object: Object {
                            kind: "object".into(),
                            class: "Session".into(),
                            ..Object::default()
                        },
                    },
                ],
                ..Suspect::default()
            }]),
            ..Report::default()
        };
        apply(&mut report, &mut Redactor::with_salt(7));
        let mut all = String::new();
        each_text(&mut report, &mut |t| {
            all.push_str(t);
            all.push('\n');
        });
        for secret in [key, jwt, "hunter2hunter2", "SECRET123abc", "bob:pa55"] {
            assert!(!all.contains(secret), "{secret} is on the page:\n{all}");
        }
        // What the program's authors wrote stays.
        for name in [
            "IncomingMessage",
            "sessionCache",
            "Session",
            ", name}",
            "127.0.0.1:3000/?token=",
        ] {
            assert!(all.contains(name), "{name} was hidden:\n{all}");
        }
        assert!(all.contains("‹len 30, #"), "{all}");
    }
}
