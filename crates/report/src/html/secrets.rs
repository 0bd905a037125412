//! Secrets recognised by their value, wherever they are: redaction by position hides string
//! contents, but a token also turns up as an identifier-shaped property name
//! (`sk_live_…`), a map key, a query parameter of the load URL or an argument of the
//! program's command. These patterns find them in any text the page shows.
//!
//! Each pattern aims at what a secret looks like and a program's own names do not: a known
//! key prefix, the shape of a JWT, credentials in a URL, the value after `token=`, or a long
//! random-looking run of base64 characters (high entropy and mixed character classes, so
//! `IncomingMessage`, `node_modules/…` paths and hex ids of modest length stay).

use std::sync::OnceLock;

use regex::Regex;

/// A pattern, the group that is the secret (0: the whole match), and a check the secret
/// must pass.
struct Rule(Regex, usize, fn(&str) -> bool);

fn any(_: &str) -> bool {
    true
}

/// Base64 of `user:password` mixes cases or has digits or padding; a word does not.
fn base64ish(s: &str) -> bool {
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    (lower && upper) || s.bytes().any(|b| b.is_ascii_digit() || b"=+/".contains(&b))
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let r = |p: &str, g: usize| Rule(Regex::new(p).expect("a valid secret pattern"), g, any);
        vec![
            // Vendor key prefixes: Stripe, GitHub, Slack, AWS, Google, GitLab, npm,
            // OpenAI-style `sk-`, Hugging Face, SendGrid.
            r(r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{8,}", 0),
            r(r"\bgh[pousr]_[0-9A-Za-z]{20,}", 0),
            r(r"\bgithub_pat_[0-9A-Za-z_]{20,}", 0),
            r(r"\bxox[abpres]-[0-9A-Za-z-]{10,}", 0),
            r(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", 0),
            r(r"\bAIza[0-9A-Za-z_-]{35}", 0),
            r(r"\bglpat-[0-9A-Za-z_-]{20,}", 0),
            r(r"\bnpm_[0-9A-Za-z]{36}", 0),
            r(r"\bsk-[0-9A-Za-z_-]{20,}", 0),
            r(r"\bhf_[0-9A-Za-z]{30,}", 0),
            r(r"\bSG\.[0-9A-Za-z_-]{16,}\.[0-9A-Za-z_-]{16,}", 0),
            // A JWT: base64url JSON header (`{"` is `eyJ`), payload, signature; also when a
            // label has cut it short.
            r(r"\beyJ[0-9A-Za-z_-]{8,}(?:\.[0-9A-Za-z_-]*){0,2}", 0),
            // Credentials in a URL: scheme://user:password@host.
            r(r"(?i)\b[a-z][a-z0-9+.-]*://([^/\s:@]+:[^/\s@]*)@", 1),
            // The value of a secret-sounding parameter: ?token=…, api_key=…, --password=….
            r(
                r#"(?i)\b(?:access_token|refresh_token|id_token|auth_token|token|api_key|apikey|key|secret|client_secret|password|passwd|pwd|auth|sig|signature|credential|credentials|session_id|sessionid)=([^&\s#"',;]+)"#,
                1,
            ),
            // An Authorization header's credentials ("Basic auth" in prose is not one: the
            // credentials have a digit or base64 padding).
            r(r"(?i)\bbearer\s+([0-9A-Za-z._~+/=-]{8,})", 1),
            Rule(
                Regex::new(r"\bBasic\s+([0-9A-Za-z+/]{8,}={0,2})").expect("a valid secret pattern"),
                1,
                base64ish,
            ),
        ]
    })
}

/// Runs of base64/base64url characters, candidates for the entropy rule.
fn runs() -> &'static Regex {
    static RUNS: OnceLock<Regex> = OnceLock::new();
    RUNS.get_or_init(|| Regex::new(r"[0-9A-Za-z+/_=-]{24,}").expect("a valid run pattern"))
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 128];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[usize::from(b & 0x7f)] += 1;
        n += 1;
    }
    let n = f64::from(n.max(1));
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Words of a name: a lowercase run of three or more (with its capital), or an acronym of
/// three or more capitals (`HTTP`, `BYTES_PER_ELEMENT`).
fn words() -> &'static Regex {
    static WORDS: OnceLock<Regex> = OnceLock::new();
    WORDS.get_or_init(|| Regex::new(r"[A-Z]?[a-z]{3,}|[A-Z]{3,}").expect("a valid word pattern"))
}

/// Share of the characters that are in words: most of a name (`Uint8ArrayBase64Decoder`,
/// `Int8ArrayPrototypeBYTES_PER_ELEMENT`), under half of nine random strings in ten. An
/// acronym followed by a lowercase letter is cut before its last capital, as that capital
/// starts the next word (`RSASign` is `RSA` and `Sign`).
fn wordlike(s: &str) -> f64 {
    let mut in_words = 0;
    let mut at = 0;
    while let Some(m) = words().find_at(s, at) {
        let mut end = m.end();
        let acronym = m.as_str().bytes().all(|b| b.is_ascii_uppercase());
        if acronym && s.as_bytes().get(end).is_some_and(u8::is_ascii_lowercase) {
            end -= 1;
        }
        in_words += end - m.start();
        at = end.max(m.start() + 1);
    }
    in_words as f64 / s.len().max(1) as f64
}

/// Random-looking: long, high entropy, letters of both cases and something else (hex has
/// one case), and not made of words.
fn looks_random(s: &str) -> bool {
    let lower = s.bytes().any(|b| b.is_ascii_lowercase());
    let upper = s.bytes().any(|b| b.is_ascii_uppercase());
    let other = s.bytes().any(|b| !b.is_ascii_alphabetic());
    s.len() >= 24 && lower && upper && other && entropy(s) >= 4.0 && wordlike(s) < 0.5
}

/// Every secret-looking part of `text`, in order (may overlap).
pub fn find(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for Rule(re, group, check) in rules() {
        for c in re.captures_iter(text) {
            if let Some(m) = c.get(*group).filter(|m| check(m.as_str())) {
                out.push(m.as_str());
            }
        }
    }
    for m in runs().find_iter(text) {
        let run = m.as_str();
        // An absolute path or a URL's path: judge its parts, not the whole path.
        let parts: Vec<&str> = if run.starts_with('/') || text[..m.start()].ends_with(':') {
            run.split('/').collect()
        } else {
            vec![run]
        };
        out.extend(parts.into_iter().filter(|p| looks_random(p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hides(text: &str, secret: &str) {
        let found = find(text);
        assert!(
            found
                .iter()
                .any(|f| f.contains(secret) || secret.contains(f) && f.len() >= 8),
            "{secret:?} not found in {text:?}: {found:?}"
        );
    }

    #[test]
    fn known_key_shapes() {
        for (text, secret) in [
            (
                ".sk_live_51HxYzAbCdEfGh12345678",
                "sk_live_51HxYzAbCdEfGh12345678",
            ),
            ("{rk_test_abcdefgh1234, name}", "rk_test_abcdefgh1234"),
            (
                "ghp_0123456789abcdefABCDEF0123456789abcd",
                "ghp_0123456789abcdefABCDEF0123456789abcd",
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghij",
                "github_pat_11ABCDEFG0123456789_abcdefghij",
            ),
            ("xoxb-1234567890-abcdefghij", "xoxb-1234567890-abcdefghij"),
            ("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE"),
            (
                "AIzaSyA-1234567890abcdefghijklmnopqrstu",
                "AIzaSyA-1234567890abcdefghijklmnopqrstu",
            ),
            ("glpat-abcdefghij0123456789", "glpat-abcdefghij0123456789"),
            (
                "npm_abcdefghijklmnopqrstuvwxyz0123456789",
                "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            ),
        ] {
            hides(text, secret);
        }
    }

    #[test]
    fn jwts_credentials_and_parameters() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        hides(&format!("{{{jwt}, other}}"), jwt);
        hides(
            "Object \"{eyJhbGciOiJIUzI1NiJ9.eyJzd…",
            "eyJhbGciOiJIUzI1NiJ9.eyJzd",
        );
        hides("GET http://user:hunter2@127.0.0.1:3000/", "user:hunter2");
        hides(
            "GET http://127.0.0.1:3000/?token=SECRET123abc&x=1",
            "SECRET123abc",
        );
        hides("node app.js --password=letmein", "letmein");
        hides("/login?api_key=k-42&user=7", "k-42");
        hides("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl");
        hides("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz");
    }

    #[test]
    fn random_looking_strings() {
        hides("q7Z2pXv9LmN3rT8yKb4WcJ6h", "q7Z2pXv9LmN3rT8yKb4WcJ6h");
        hides(
            "aws tR8/vQz3Kx+Lm2Wn9pYb/Hc4Jd7Fs1Ge6Ua0Io5E",
            "tR8/vQz3Kx+Lm2Wn9pYb/Hc4Jd7Fs1Ge6Ua0Io5E",
        );
    }

    #[test]
    fn most_random_tokens_are_caught() {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut token = |len: usize| -> String {
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    ALPHABET[(x % 64) as usize] as char
                })
                .collect()
        };
        // Some random strings read like words enough to pass for a name: the price of
        // keeping names.
        let caught = (0..500).filter(|_| !find(&token(32)).is_empty()).count();
        assert!(caught >= 440, "{caught} of 500 random 32-character tokens");
    }

    #[test]
    fn a_programs_own_names_stay() {
        for text in [
            "IncomingMessage",
            "ServerResponse @123",
            "sessionCache",
            "createServerWithTimeout",
            "HTTPParserIncomingMessageTimeout",
            "{createServer, sessionCache, keyFor, tokenize}",
            "/home/user/projects/heaphound/examples/cache-leak/server.js:8:14",
            "file:///srv/app/node_modules/express/lib/router/index.js",
            "node:internal/streams/readable",
            "GET http://127.0.0.1:3000/items?user=7, 8 connections: 1000 requests",
            "the 2 reference(s) above repeat 40 times in all",
            "88b4f70c-1111-2222-3333-444455556666",
            "d41d8cd98f00b204e9800998ecf8427e",
            "keyboard token bucketing",
            "Basic authentication",
            "Array `sessions` only ever grows: 700 elements",
            "Map @4521 in the module scope of cache-leak/server.js",
            "(concatenated string)",
            "system / Context",
            "AbortControllerSignal2",
            "Uint8ArrayBase64Decoder12",
            "BigUint64ArrayPrototypeBYTES_PER_ELEMENT",
            "NODE_OPENSSL_CONF_NAME=nodejs_conf",
            "kKeyVariantRSA_SSA_PKCS1_v1_5",
            "ERR_INVALID_ARG_TYPE_v2_x",
            "readableHighWaterMark16k",
            "café 日本語",
        ] {
            assert!(find(text).is_empty(), "{text:?}: {:?}", find(text));
        }
    }
}
