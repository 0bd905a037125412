//! What a capture says on stderr: a transient progress line on a terminal, short notes, and
//! the program's own output passed through.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::path::Path;

use heaphound_capture::gate::RoundMemory;
use heaphound_capture::Observer;
use heaphound_inspector::SnapshotProgress;
use heaphound_model::text::terminal_safe;
use heaphound_report::human_size;

/// A transient line is on screen and must be cleared before anything else is written.
static DRAWN: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy)]
pub struct Ui {
    /// Transient progress (phases, snapshot progress): a terminal only, not with -q.
    pub progress: bool,
    /// Notes (run folder, where the program listens): not with -q.
    pub notes: bool,
}

impl Ui {
    pub fn new(quiet: bool) -> Ui {
        let tty =
            std::io::stderr().is_terminal() && std::env::var_os("HEAPHOUND_NO_PROGRESS").is_none();
        Ui {
            progress: !quiet && tty,
            notes: !quiet,
        }
    }

    /// Replaces the transient line.
    pub fn status(&self, text: &str) {
        if self.progress {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r\x1b[2K{}", terminal_safe(text));
            let _ = e.flush();
            DRAWN.store(true, Ordering::Relaxed);
        }
    }

    /// A finished step: kept on screen (terminal only).
    pub fn step(&self, text: &str) {
        if self.progress {
            say(text);
        }
    }

    pub fn note(&self, text: &str) {
        if self.notes {
            say(&format!("heaphound: {text}"));
        }
    }

    /// Always shown: faults and what was kept.
    pub fn warn(&self, text: &str) {
        say(&format!("heaphound: {text}"));
    }

    pub fn clear(&self) {
        clear_transient(&mut std::io::stderr().lock());
    }
}

impl Observer for Ui {
    fn status(&self, text: &str) {
        Ui::status(self, text)
    }

    fn step(&self, text: &str) {
        Ui::step(self, text)
    }

    fn note(&self, text: &str) {
        Ui::note(self, text)
    }

    fn warn(&self, text: &str) {
        Ui::warn(self, text)
    }

    fn line(&self, text: &str) {
        say(text)
    }

    fn clear(&self) {
        Ui::clear(self)
    }

    fn snapshot_progress(&self, title: &str, p: SnapshotProgress) {
        if p.bytes_written > 0 {
            self.status(&format!("{title}: writing {}", human_size(p.bytes_written)));
        } else if let Some(pct) = (p.nodes_done * 100).checked_div(p.nodes_total) {
            self.status(&format!("{title}: walking the heap {pct}%"));
        }
    }

    fn round_done(&self, place: &str, work: &str, took: Duration, m: &RoundMemory) {
        self.step(&format!(
            "{place}: {work} in {:.1}s, retained {} (heap {}, external {})",
            took.as_secs_f64(),
            human_size(m.retained()),
            human_size(m.heap_used),
            human_size(m.external)
        ));
    }

    fn snapshot_written(&self, title: &str, path: &Path, bytes: u64, took: Duration) {
        self.step(&format!(
            "{title}: {} ({}) in {:.1}s",
            path.display(),
            human_size(bytes),
            took.as_secs_f64()
        ));
    }
}

fn clear_transient(e: &mut impl Write) {
    if DRAWN.swap(false, Ordering::Relaxed) {
        let _ = write!(e, "\r\x1b[2K");
    }
}

/// heaphound's own line, which may quote a file name, a URL or a name from the heap: no
/// control sequence in them reaches the terminal.
fn say(text: &str) {
    line(&terminal_safe(text))
}

/// One whole line on stderr, after clearing any transient line. The program's own output
/// comes through here as it is: it is the user's program writing to the user's terminal.
pub fn line(text: &str) {
    let mut e = std::io::stderr().lock();
    clear_transient(&mut e);
    let _ = writeln!(e, "{text}");
    let _ = e.flush();
}
