pub mod attach;
pub mod diff;
pub mod dominators;
pub mod gate;
pub mod gclog;
pub mod hunt;
pub mod inspect;
pub mod objects;
pub mod postmortem;
pub mod profile;
pub mod report;
pub mod retainers;
pub mod snapshot;
pub mod summary;
pub mod suspects;
pub mod watch;

use std::io::Write;

use anyhow::{bail, Result};
use heaphound_model::ObjectId;
use heaphound_report::Style;
use heaphound_snapshot::NodeOrdinal;

use crate::load::{InputError, Loaded};

pub struct Ctx {
    pub quiet: bool,
    pub style: Style,
    pub sources: crate::sources::Flags,
}

/// One note on stderr (`heaphound: note: …`); names in it may come from a heap or a map.
pub fn note(msg: &str) {
    let msg = heaphound_model::text::terminal_safe(msg);
    let _ = writeln!(std::io::stderr(), "heaphound: note: {msg}");
}

static COLOURS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether stdout gets colours ([`Style::color`]): without them, [`emit`] lets no escape
/// sequence through at all.
pub fn colours_on(on: bool) {
    COLOURS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Writes a command's output; a closed pipe (`| head`) is not an error. Names from a heap
/// or a log are escaped where they are formatted; this is the last guard, so no control
/// sequence but heaphound's own colours reaches the terminal.
pub fn emit(text: &str) -> Result<()> {
    if COLOURS.load(std::sync::atomic::Ordering::Relaxed) {
        write_out(&heaphound_model::text::terminal_safe(text))
    } else {
        write_out(&heaphound_model::text::escape_text(text))
    }
}

fn write_out(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

pub fn emit_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    write_out(&heaphound_model::text::json_safe(&s))
}

/// `--filter REGEX`, checked before any snapshot is loaded.
pub fn class_filter(filter: Option<&str>) -> Result<Option<regex::Regex>> {
    filter
        .map(|f| {
            regex::Regex::new(f).map_err(|e| {
                anyhow::Error::new(InputError(format!(
                    "--filter: invalid regular expression: {e}"
                )))
                .context("bad arguments")
            })
        })
        .transpose()
}

/// Object ids are written `@123` as in DevTools; the `@` is optional. Checked before the
/// snapshot is loaded, so a typo costs nothing; the error names the file it was meant for.
pub fn parse_object_id(file: &str, s: &str) -> Result<ObjectId> {
    let digits = s.strip_prefix('@').unwrap_or(s);
    digits.parse::<u32>().map(ObjectId).map_err(|_| {
        InputError(format!(
            "{}: '{s}' is not an object id (expected @ and a number, e.g. @12345)",
            crate::load::label(file)
        ))
        .into()
    })
}

/// The node with a snapshot id, or an error naming the file.
pub fn node_of(l: &Loaded, id: ObjectId) -> Result<NodeOrdinal> {
    match l.graph.ordinal_of(id.0) {
        Some(n) => Ok(n),
        None => bail!(InputError(format!("{}: no object with id {id}", l.label))),
    }
}
