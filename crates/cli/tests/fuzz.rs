//! Seeded mutation fuzzing of the readers, in process: a real heap snapshot (written by node,
//! tests/recorded/series/), a real `--trace-gc` log (tests/fixtures/gclog/) and a real
//! `.heapprofile` (tests/recorded/), mutated and run through what `summary`, `gclog` and
//! `profile` do with them. Errors are fine; a panic or an input that takes longer than the
//! per-input budget fails the test, naming the seed and the mutations, and the input is kept
//! under the target directory.
//!
//! About 30 s by default; `HEAPHOUND_FUZZ_SECONDS=600` runs longer, `HEAPHOUND_FUZZ_SEED=N`
//! replays a run (the seed is printed at the start).

use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use heaphound_analysis::views::summary::{self as view, Selection, SortKey};
use heaphound_analysis::{gclog, heapprofile, views::allocations, Analysis};
use heaphound_report::Style;

const DEFAULT_SECONDS: u64 = 30;
/// An input still running after this is a hang (unoptimised analysis of the snapshot takes
/// a second or two).
const BUDGET: Duration = Duration::from_secs(60);

/// xorshift64*: small, seeded, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[derive(Clone, Copy, Debug)]
enum Target {
    Snapshot,
    SnapshotGzip,
    GcLog,
    Profile,
}

struct Corpus {
    snapshot: Vec<u8>,
    snapshot_gz: Vec<u8>,
    gclog: Vec<u8>,
    profile: Vec<u8>,
}

fn root() -> PathBuf {
    heaphound_test_support::repo_root(env!("CARGO_MANIFEST_DIR"))
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("a corpus file unzips");
    out
}

fn corpus() -> Corpus {
    let r = root();
    let snapshot_gz = std::fs::read(r.join("tests/recorded/series/1.heapsnapshot.gz")).unwrap();
    Corpus {
        snapshot: gunzip(&snapshot_gz),
        snapshot_gz,
        gclog: gunzip(
            &std::fs::read(r.join("tests/fixtures/gclog/periodic-node22.log.gz")).unwrap(),
        ),
        profile: std::fs::read(r.join("tests/recorded/hog.heapprofile")).unwrap(),
    }
}

/// Numbers a reader may choke on: past 32 and 64 bits, negative, fractional, exponents.
const HUGE: &[&str] = &[
    "4294967295",
    "4294967296",
    "4611686018427387904",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999999999",
    "-1",
    "-9223372036854775808",
    "0.5",
    "1e308",
    "1e999",
    "-0",
    "NaN",
];

const BRACKETS: &[u8] = b"[]{}";

/// Where to damage: a third of the time near the start (a snapshot's header, a log's first
/// lines), else anywhere.
fn position(rng: &mut Rng, len: usize) -> usize {
    if rng.below(3) == 0 {
        rng.below(len.min(8192) + 1)
    } else {
        rng.below(len + 1)
    }
}

/// The first byte at or after `from` that `want` accepts, looking a little way ahead.
fn seek(b: &[u8], from: usize, want: impl Fn(u8) -> bool) -> Option<usize> {
    (from..b.len().min(from + 4096)).find(|&i| want(b[i]))
}

/// One to three mutations of `input`, and what they were.
fn mutate(rng: &mut Rng, input: &[u8]) -> (Vec<u8>, Vec<String>) {
    let mut b = input.to_vec();
    let mut what = Vec::new();
    for _ in 0..1 + rng.below(3) {
        let at = position(rng, b.len());
        match rng.below(8) {
            0 => {
                if at < b.len() {
                    let bit = 1u8 << rng.below(8);
                    b[at] ^= bit;
                    what.push(format!("flip bit {bit:#04x} at {at}"));
                }
            }
            1 => {
                b.truncate(at);
                what.push(format!("truncate at {at}"));
            }
            2 => {
                let len = 1 + rng.below(4096);
                let end = (at + len).min(b.len());
                let chunk = b[at..end].to_vec();
                let to = position(rng, b.len());
                b.splice(to..to, chunk);
                what.push(format!("copy {at}..{end} to {to}"));
            }
            3 => {
                let end = (at + 1 + rng.below(4096)).min(b.len());
                b.drain(at..end);
                what.push(format!("delete {at}..{end}"));
            }
            4 => {
                if let Some(i) = seek(&b, at, |c| c.is_ascii_digit()) {
                    let d = b'0' + rng.below(10) as u8;
                    b[i] = d;
                    what.push(format!("digit at {i} to {}", d as char));
                }
            }
            5 => {
                if let Some(i) = seek(&b, at, |c| c.is_ascii_digit()) {
                    let end = (i..b.len())
                        .find(|&j| !b[j].is_ascii_digit())
                        .unwrap_or(b.len());
                    let n = HUGE[rng.below(HUGE.len())];
                    b.splice(i..end, n.bytes());
                    what.push(format!("number at {i} to {n}"));
                }
            }
            6 => {
                // Two numbers of one array trade places: the counts still agree, so the
                // reader accepts more of these and the analyses get odd graphs.
                let other = (at + rng.below(1 << 20)).min(b.len());
                if let (Some(i), Some(j)) = (
                    seek(&b, at, |c| c.is_ascii_digit()),
                    seek(&b, other, |c| c.is_ascii_digit()),
                ) {
                    let run = |k: usize| {
                        k..(k..b.len())
                            .find(|&e| !b[e].is_ascii_digit())
                            .unwrap_or(b.len())
                    };
                    let (x, y) = (run(i.min(j)), run(i.max(j)));
                    if x.end <= y.start {
                        let (vx, vy) = (b[x.clone()].to_vec(), b[y.clone()].to_vec());
                        b.splice(y.clone(), vx);
                        b.splice(x.clone(), vy);
                        what.push(format!("swap numbers at {} and {}", x.start, y.start));
                    }
                }
            }
            _ => {
                if let Some(i) = seek(&b, at, |c| BRACKETS.contains(&c)) {
                    let to = BRACKETS[rng.below(BRACKETS.len())];
                    what.push(format!(
                        "bracket at {i} from {} to {}",
                        b[i] as char, to as char
                    ));
                    b[i] = to;
                }
            }
        }
    }
    (b, what)
}

/// What the commands do with an input, minus printing; whether the reader accepted it.
fn run(target: Target, bytes: &[u8]) -> bool {
    match target {
        Target::Snapshot | Target::SnapshotGzip => {
            let Ok(graph) = heaphound_snapshot::read_bytes(bytes) else {
                return false;
            };
            let (a, facts) = Analysis::summary_only(graph, &mut |_| {});
            let rows = heaphound_analysis::summarize(&a);
            let doc = view::summary(
                &facts,
                &a,
                "fuzz",
                rows,
                &Selection {
                    keep: &|_| true,
                    sort: SortKey::Retained,
                    top: Some(20),
                },
            );
            let _ = serde_json::to_string(&doc).unwrap();
            let _ = heaphound_report::summary::to_text(&doc, &Style { color: false });
        }
        Target::GcLog => {
            let text = String::from_utf8_lossy(bytes);
            let Ok(log) = gclog::parse(&text) else {
                return false;
            };
            let report = gclog::analyse(&log);
            let doc = gclog::document("fuzz", &log, &report);
            let _ = serde_json::to_string(&doc).unwrap();
            let _ = heaphound_report::trend::gclog_text(&doc, &Style { color: false });
        }
        Target::Profile => {
            let Ok(p) = heapprofile::parse(bytes) else {
                return false;
            };
            let doc = heapprofile::document("fuzz", &p, 15);
            let _ = serde_json::to_string(&doc).unwrap();
            let _ = heaphound_report::profile::to_text(&doc, &Style { color: false });
            let tree = allocations::from_profile(&p);
            let _ = heaphound_report::html::flame::svg(&tree, "fuzz", 1200, true);
        }
    }
    true
}

fn keep_input(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

type Job = (Target, Vec<u8>);

/// Runs jobs on a thread of its own, so a hang can be seen from outside it.
fn worker() -> (mpsc::Sender<Job>, mpsc::Receiver<Result<bool, String>>) {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let (outbox, results) = mpsc::channel();
    std::thread::spawn(move || {
        for (target, bytes) in inbox {
            let r = catch_unwind(AssertUnwindSafe(|| run(target, &bytes))).map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic".into())
            });
            if outbox.send(r).is_err() {
                return;
            }
        }
    });
    (jobs, results)
}

#[test]
fn mutated_real_inputs_never_panic_or_hang() {
    let seconds = std::env::var("HEAPHOUND_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SECONDS);
    let seed = std::env::var("HEAPHOUND_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("fuzz: seed {seed} for {seconds} s (replay with HEAPHOUND_FUZZ_SEED={seed})");
    let c = corpus();
    // The inputs themselves must pass, or every mutation tests nothing.
    for (t, b) in [
        (Target::Snapshot, &c.snapshot),
        (Target::GcLog, &c.gclog),
        (Target::Profile, &c.profile),
    ] {
        assert!(
            match t {
                Target::Snapshot => heaphound_snapshot::read_bytes(b).is_ok(),
                Target::GcLog => gclog::parse(&String::from_utf8_lossy(b)).is_ok(),
                _ => heapprofile::parse(b).is_ok(),
            },
            "{t:?}: the corpus input itself does not read"
        );
    }

    let (jobs, results) = worker();
    let mut rng = Rng::new(seed);
    let started = Instant::now();
    let mut counts = [0usize; 4];
    let mut accepted = [0usize; 4];
    let mut failures = Vec::new();
    let mut case = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        // Snapshots are slow to analyse: one in every four cases, gzip now and then.
        let target = match case % 4 {
            0 if rng.below(8) == 0 => Target::SnapshotGzip,
            0 => Target::Snapshot,
            1 | 2 if rng.below(2) == 0 => Target::GcLog,
            _ => Target::Profile,
        };
        let input = match target {
            Target::Snapshot => &c.snapshot,
            Target::SnapshotGzip => &c.snapshot_gz,
            Target::GcLog => &c.gclog,
            Target::Profile => &c.profile,
        };
        let (bytes, what) = mutate(&mut rng, input);
        let name = format!("seed{seed}-case{case}-{target:?}");
        jobs.send((target, bytes.clone())).unwrap();
        match results.recv_timeout(BUDGET) {
            Ok(Ok(ok)) => accepted[target as usize] += ok as usize,
            Ok(Err(panic)) => {
                let kept = keep_input(&name, &bytes);
                failures.push(format!(
                    "{name}: panicked ({panic}) after {}; input kept in {}",
                    what.join(", "),
                    kept.display()
                ));
            }
            Err(_) => {
                let kept = keep_input(&name, &bytes);
                panic!(
                    "{name}: still running after {BUDGET:?} (hang) after {}; input kept in {}",
                    what.join(", "),
                    kept.display()
                );
            }
        }
        counts[target as usize] += 1;
        case += 1;
    }
    eprintln!(
        "fuzz: {case} inputs in {:.0} s, read/tried: snapshots {}/{}, gzipped {}/{}, gc logs {}/{}, profiles {}/{}",
        started.elapsed().as_secs_f64(),
        accepted[0],
        counts[0],
        accepted[1],
        counts[1],
        accepted[2],
        counts[2],
        accepted[3],
        counts[3]
    );
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
}
