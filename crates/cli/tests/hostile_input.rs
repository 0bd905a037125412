//! Inputs that change or behave unlike regular files while heaphound reads them: a snapshot
//! another process truncates mid-read, snapshots and logs arriving through a FIFO or
//! `/dev/fd/N`. Every snapshot is written by the system `node`.

use std::ffi::CString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use heaphound_test_support::{repo_root, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_heaphound");

fn scratch() -> &'static TempDir {
    static DIR: OnceLock<TempDir> = OnceLock::new();
    DIR.get_or_init(|| TempDir::new("hostile-input"))
}

/// A snapshot of a heap of `objects` small objects, written by node.
fn node_snapshot(name: &str, objects: usize) -> PathBuf {
    let path = scratch().join(name);
    let out = Command::new("node")
        .arg("-e")
        .arg(
            "globalThis.keep = [];\
             for (let i = 0; i < +process.argv[2]; i++) keep.push({ i, s: 'item ' + i, a: [i] });\
             require('v8').writeHeapSnapshot(process.argv[1]);",
        )
        .arg(&path)
        .arg(objects.to_string())
        .output()
        .expect("the system `node` is needed to write a real heap snapshot");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn small_snapshot() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| node_snapshot("small.heapsnapshot", 2000))
}

fn heaphound(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HEAPHOUND_NO_PROGRESS", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn mkfifo(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    assert_eq!(rc, 0, "mkfifo {}", path.display());
}

/// Writes `bytes` into the FIFO `path` from a thread (opening it blocks until a reader
/// opens the other end). A reader that stops early gives a broken pipe: fine.
fn feed_fifo(path: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let _ = f.write_all(&bytes);
    })
}

// ---------------------------------------------------------------------------------------
// A snapshot truncated while it is read

#[test]
fn snapshot_truncated_while_read_is_a_truncated_file_not_a_bus_error() {
    let big = node_snapshot("big.heapsnapshot", 150_000);
    let len = std::fs::metadata(&big).unwrap().len();
    let mut during = 0;
    let mut seen = Vec::new();
    // The moment the cut lands depends on the machine: spread it over the read, and go on
    // until some cuts have landed while the file was mapped.
    for attempt in 0..12u64 {
        let copy = scratch().join(&format!("cut-{attempt}.heapsnapshot"));
        std::fs::copy(&big, &copy).unwrap();
        let child = Command::new(BIN)
            .arg("summary")
            .arg(&copy)
            .env("HEAPHOUND_NO_PROGRESS", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(50 + 150 * (attempt % 6)));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&copy)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.signal(),
            None,
            "attempt {attempt}: heaphound died of a signal; stderr: {stderr}"
        );
        let _ = std::fs::remove_file(&copy);
        if out.status.code() == Some(0) {
            // The read and analysis finished before the cut.
            seen.push("finished first".to_string());
            continue;
        }
        assert_eq!(out.status.code(), Some(2), "attempt {attempt}: {stderr}");
        let prefix = format!("heaphound: error: {}: ", copy.display());
        assert!(
            stderr.starts_with(&prefix) && stderr.matches('\n').count() == 1,
            "attempt {attempt}: one error line naming the file, got {stderr:?}"
        );
        assert!(stderr.contains("truncated"), "attempt {attempt}: {stderr}");
        if stderr.contains("while it was being read") {
            during += 1;
        }
        seen.push(stderr);
        if during >= 3 {
            break;
        }
    }
    assert!(
        during > 0,
        "no cut landed while the file was read: {seen:#?}"
    );
}

// ---------------------------------------------------------------------------------------
// FIFOs and /dev/fd/N

#[test]
fn summary_of_a_fifo_is_the_summary_of_the_file() {
    let file = small_snapshot();
    let want = heaphound(&["summary".as_ref(), file.as_os_str(), "--json".as_ref()]);
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );

    let fifo = scratch().join("snapshot.fifo");
    mkfifo(&fifo);
    let feeder = feed_fifo(&fifo, std::fs::read(file).unwrap());
    let got = heaphound(&["summary".as_ref(), fifo.as_os_str(), "--json".as_ref()]);
    feeder.join().unwrap();
    assert!(
        got.status.success(),
        "summary FIFO: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        summary_without_file(&got.stdout),
        summary_without_file(&want.stdout)
    );
}

/// The summary document with the input's name left out (the FIFO is named differently).
fn summary_without_file(json: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    let obj = v.as_object_mut().unwrap();
    for key in ["file", "label", "path"] {
        obj.remove(key);
    }
    v
}

/// `heaphound summary <(cat FILE)`, as a shell's process substitution gives it: a pipe
/// named `/dev/fd/N`.
#[test]
fn summary_of_a_process_substitution() {
    let file = small_snapshot();
    let want = heaphound(&["summary".as_ref(), file.as_os_str(), "--json".as_ref()]);
    let mut cat = Command::new("cat")
        .arg(file)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = cat.stdout.take().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&pipe);
    // SAFETY: clears close-on-exec on a pipe end this process owns, so the child inherits
    // it under the same number.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
    }
    let path = format!("/dev/fd/{fd}");
    let got = heaphound(&["summary".as_ref(), path.as_ref(), "--json".as_ref()]);
    drop(pipe);
    let _ = cat.wait();
    assert!(
        got.status.success(),
        "summary {path}: {}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        summary_without_file(&got.stdout),
        summary_without_file(&want.stdout)
    );
}

fn gclog_fixture() -> Vec<u8> {
    let p = repo_root(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gclog/leak-node22.log.gz");
    std::fs::read(p).unwrap()
}

#[test]
fn gclog_of_a_fifo_is_the_gclog_of_the_file() {
    let file = scratch().join("leak.log.gz");
    std::fs::write(&file, gclog_fixture()).unwrap();
    let want = heaphound(&["gclog".as_ref(), file.as_os_str(), "--json".as_ref()]);
    let fifo = scratch().join("gclog.fifo");
    mkfifo(&fifo);
    let feeder = feed_fifo(&fifo, gclog_fixture());
    let got = heaphound(&["gclog".as_ref(), fifo.as_os_str(), "--json".as_ref()]);
    feeder.join().unwrap();
    assert_eq!(
        got.status.code(),
        want.status.code(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        summary_without_file(&got.stdout),
        summary_without_file(&want.stdout)
    );
}

#[test]
fn profile_of_a_fifo_is_the_profile_of_the_file() {
    let file = repo_root(env!("CARGO_MANIFEST_DIR")).join("tests/recorded/hog.heapprofile");
    let want = heaphound(&["profile".as_ref(), file.as_os_str(), "--json".as_ref()]);
    assert!(
        want.status.success(),
        "{}",
        String::from_utf8_lossy(&want.stderr)
    );
    let fifo = scratch().join("profile.fifo");
    mkfifo(&fifo);
    let feeder = feed_fifo(&fifo, std::fs::read(&file).unwrap());
    let got = heaphound(&["profile".as_ref(), fifo.as_os_str(), "--json".as_ref()]);
    feeder.join().unwrap();
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert_eq!(
        summary_without_file(&got.stdout),
        summary_without_file(&want.stdout)
    );
}

// ---------------------------------------------------------------------------------------
// A log line without end

fn gclog_fixture_text() -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gclog_fixture()[..])
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// Runs `heaphound ARGS` with stdout to a file and returns (exit code, stdout, peak RSS in
/// bytes of that child alone: wait4 gives one child's usage, so tests running beside this
/// one do not count).
// wait4 reaps the child; Child::wait would not give its usage.
#[allow(clippy::zombie_processes)]
fn run_measured(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, u64) {
    static SEQ: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = scratch().join(&format!("measured-{n}.out"));
    let child = Command::new(BIN)
        .args(args)
        .env("HEAPHOUND_NO_PROGRESS", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: waits for our own child; rusage is a plain struct wait4 fills.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut u);
        assert_eq!(pid, child.id() as libc::pid_t);
        u
    };
    let stdout = std::fs::read_to_string(&out).unwrap();
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert!(!libc::WIFSIGNALED(status), "killed by a signal");
    (code, stdout, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn gclog_skips_a_200_mb_line_without_holding_it() {
    let text = gclog_fixture_text();
    let lines: Vec<&str> = text.lines().collect();
    let (before, after) = lines.split_at(lines.len() / 2);
    let path = scratch().join("long-line.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for l in before {
            writeln!(f, "{l}").unwrap();
        }
        let block = vec![b'x'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&block).unwrap();
        }
        f.write_all(b"\n").unwrap();
        for l in after {
            writeln!(f, "{l}").unwrap();
        }
    }
    let (code, stdout, peak) =
        run_measured(&["gclog".as_ref(), path.as_os_str(), "--json".as_ref()]);
    let _ = std::fs::remove_file(&path);
    assert!(matches!(code, Some(0 | 1)), "exit code {code:?}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["skipped_long_lines"], 1, "{stdout}");
    assert_eq!(doc["lines"], lines.len() + 1);

    let plain = scratch().join("plain.log");
    std::fs::write(&plain, &text).unwrap();
    let (_, want, _) = run_measured(&["gclog".as_ref(), plain.as_os_str(), "--json".as_ref()]);
    let want: serde_json::Value = serde_json::from_str(&want).unwrap();
    assert_eq!(doc["events"], want["events"]);
    assert_eq!(doc["verdict"]["kind"], want["verdict"]["kind"]);
    assert!(
        peak < 100 << 20,
        "peak RSS {} MiB reading a log with a 200 MB line",
        peak >> 20
    );
}

#[test]
fn gclog_counts_an_unended_last_line_and_says_so() {
    let mut text = gclog_fixture_text().into_bytes();
    text.extend(std::iter::repeat_n(b'y', 3 << 20));
    let path = scratch().join("unended.log");
    std::fs::write(&path, &text).unwrap();
    let out = heaphound(&["gclog".as_ref(), path.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .contains("1 over-long line skipped"),
        "{stdout}"
    );
}
