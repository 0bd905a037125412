//! Runs a reader on a helper thread (gzip decompression) and hands its output over in
//! chunks, so decompressing and parsing use two cores.

use std::io::Read;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

const CHUNK: usize = 1 << 20;
/// Chunks in flight: enough to keep both threads busy, little memory.
const DEPTH: usize = 4;

pub(crate) struct PipeReader {
    rx: Receiver<std::io::Result<Vec<u8>>>,
    back: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
    done: bool,
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    let old = std::mem::replace(&mut self.cur, chunk);
                    let _ = self.back.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Starts `inner` on a thread of `scope`. Dropping the reader stops the thread at its
/// next chunk.
pub(crate) fn spawn<'scope, R: Read + Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    mut inner: R,
) -> (PipeReader, ScopedJoinHandle<'scope, ()>) {
    let (tx, rx) = sync_channel::<std::io::Result<Vec<u8>>>(DEPTH);
    let (back, spare) = sync_channel::<Vec<u8>>(DEPTH + 2);
    let handle = scope.spawn(move || loop {
        let mut chunk = spare.try_recv().unwrap_or_default();
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        let result = loop {
            match inner.read(&mut chunk[filled..]) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    filled += n;
                    if filled == chunk.len() {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        chunk.truncate(filled);
        let end = filled == 0 || result.is_err();
        let msg = match result {
            Ok(()) => Ok(chunk),
            Err(e) => Err(e),
        };
        if (filled > 0 || end) && tx.send(msg).is_err() {
            return;
        }
        if end {
            return;
        }
    });
    (
        PipeReader {
            rx,
            back,
            cur: Vec::new(),
            pos: 0,
            done: false,
        },
        handle,
    )
}
