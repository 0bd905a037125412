//! What a capture tells a person while it runs. The library says what happens; the binary
//! decides how (and whether) it is drawn.

use std::path::Path;
use std::time::{Duration, Instant};

use heaphound_inspector::SnapshotProgress;

use crate::gate::RoundMemory;

pub trait Observer: Sync {
    /// Replaces the transient progress line.
    fn status(&self, text: &str);
    /// A finished step, kept on screen.
    fn step(&self, text: &str);
    /// A note (run folder, where the program listens).
    fn note(&self, text: &str);
    /// Always worth showing: faults and what was kept.
    fn warn(&self, text: &str);
    /// A whole line for a person to read (a prompt), after any transient line is cleared.
    fn line(&self, text: &str);
    /// Clears the transient line.
    fn clear(&self);
    /// A heap snapshot in progress (already throttled to about ten calls a second).
    fn snapshot_progress(&self, title: &str, progress: SnapshotProgress);
    /// A heap snapshot was written.
    fn snapshot_written(&self, title: &str, path: &Path, bytes: u64, took: Duration);
    /// A gate round ended: `work` ran (`1,000 calls`) in `took`, leaving `memory`.
    fn round_done(&self, place: &str, work: &str, took: Duration, memory: &RoundMemory);
}

/// Passes a heap snapshot's progress on to an observer at most ten times a second.
pub struct SnapshotTicker<'a> {
    observer: &'a dyn Observer,
    title: &'a str,
    last: Instant,
}

impl<'a> SnapshotTicker<'a> {
    pub fn new(observer: &'a dyn Observer, title: &'a str) -> SnapshotTicker<'a> {
        SnapshotTicker {
            observer,
            title,
            last: Instant::now() - Duration::from_secs(1),
        }
    }

    pub fn tick(&mut self, p: SnapshotProgress) {
        if self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        self.observer.snapshot_progress(self.title, p);
    }
}
