//! The files heaphound writes, in a hostile folder: links planted where an output goes are
//! never written through, a partial file left by someone else is refused, every file is 0600
//! and every folder heaphound makes 0700 whatever the umask, and two runs never share a run
//! folder. Real node, real captures.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::leaks;
use common::live::*;
use common::*;

const VICTIM: &str = "secret of another user\n";

fn victim(tmp: &TempDir, name: &str) -> std::path::PathBuf {
    let v = tmp.join(name);
    std::fs::write(&v, VICTIM).expect("victim");
    v
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// `cmd` run with umask 022, the usual default that makes files 0644.
fn umask_022(mut cmd: Command) -> Command {
    // SAFETY: umask is async-signal-safe and touches nothing else.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    cmd
}

fn snapshot_cmd(url: &str, out: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(heaphound());
    cmd.args(["snapshot", url, "-q"])
        .args(extra)
        .arg("-o")
        .arg(out);
    cmd
}

#[test]
fn snapshot_never_writes_through_a_link() {
    let tmp = TempDir::new("out-snapshot-link");
    let (node, url) =
        start_inspected_node("globalThis.keep = [1, 2, 3]; setInterval(() => {}, 1000)");
    let target = victim(&tmp, "victim");
    let snap = tmp.join("s.heapsnapshot");
    let partial = tmp.join("s.heapsnapshot.partial");
    symlink(&target, &partial).expect("link");

    // A linked partial file: refused, named, left alone.
    let out = output(snapshot_cmd(&url, &snap, &[]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "{}: exists (another run, or one cut short); remove it",
            partial.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), VICTIM);
    assert!(is_link(&partial) && !tmp.join("s.heapsnapshot").exists());
    std::fs::remove_file(&partial).unwrap();

    // The output's own name linked, with --force: the link is replaced by the snapshot.
    symlink(&target, &snap).expect("link");
    let out = output(umask_022(snapshot_cmd(&url, &snap, &["--force"])));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), VICTIM);
    assert!(!is_link(&snap));
    assert!(std::fs::metadata(&snap).unwrap().len() > 100_000);
    assert_eq!(mode(&snap), 0o600);

    // A folder snapshot makes is 0700, the file in it 0600.
    let nested = tmp.join("new/deeper/t.heapsnapshot");
    let out = output(umask_022(snapshot_cmd(&url, &nested, &[])));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&tmp.join("new/deeper")), 0o700);
    assert_eq!(mode(&tmp.join("new")), 0o700);
    drop(node);
}

#[test]
fn hunt_refuses_a_run_folder_seeded_with_links() {
    let tmp = TempDir::new("out-hunt-links");
    let dir = tmp.join("run");
    std::fs::create_dir(&dir).unwrap();
    let names = [
        "1.heapsnapshot.partial",
        "memory.jsonl",
        "load.json",
        "report.json",
    ];
    let victims: Vec<_> = names
        .iter()
        .map(|n| {
            let v = victim(&tmp, &format!("victim-{n}"));
            symlink(&v, dir.join(n)).expect("link");
            v
        })
        .collect();
    let started = Instant::now();
    let out = output(hunt_cmd(
        &dir,
        &["-q", "--load", "/items?user=7", "-n", "100"],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("1.heapsnapshot.partial: exists (another run, or one cut short); remove it"),
        "{err}"
    );
    // Refused before the program was started.
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert!(!err.contains("listening on"), "{err}");

    // With the partial file gone, each planted link is named in turn.
    std::fs::remove_file(dir.join(names[0])).unwrap();
    for name in &names[1..] {
        let out = output(hunt_cmd(
            &dir,
            &["-q", "--load", "/items?user=7", "-n", "100"],
            &["node", "examples/cache-leak/server.js", "0"],
        ));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("{name} is a symbolic link")), "{err}");
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    for v in &victims {
        assert_eq!(
            std::fs::read_to_string(v).unwrap(),
            VICTIM,
            "{}",
            v.display()
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn run_folders_files_and_pages_are_private_whatever_the_umask() {
    let tmp = TempDir::new("out-modes");
    let dir = tmp.join("runs/run");
    let page = dir.join("report.html");
    let page_arg = page.to_str().expect("a UTF-8 path");
    let cmd = umask_022(hunt_cmd(
        &dir,
        &[
            "--json",
            "-q",
            "--snapshots",
            "2",
            "--load",
            "/items?user=7",
            "-n",
            "200",
            "--html",
            page_arg,
        ],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let out = output(cmd);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let doc = leaks::doc_of(&out, "hunt");
    assert_eq!(
        doc["snapshots"].as_array().map(Vec::len),
        Some(2),
        "{doc:#}"
    );
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&tmp.join("runs")), 0o700);
    let mut names = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        names.push(p.file_name().unwrap().to_string_lossy().into_owned());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    names.sort();
    assert_eq!(
        names,
        [
            "1.heapsnapshot",
            "2.heapsnapshot",
            "load.json",
            "memory.jsonl",
            "report.html",
            "report.json"
        ]
    );

    // `report --html` over a planted link: the link is replaced, its target kept; the page
    // is 0600 too.
    let target = victim(&tmp, "victim");
    let linked = tmp.join("page.html");
    symlink(&target, &linked).unwrap();
    let out = output({
        let mut c = umask_022(Command::new(heaphound()));
        c.args(["report", "-q"]).arg(&dir).arg("-o").arg(&linked);
        c
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), VICTIM);
    assert!(!is_link(&linked));
    assert_eq!(mode(&linked), 0o600);
    assert!(std::fs::read_to_string(&linked).unwrap().contains("<html"));
}

#[test]
fn a_second_run_on_the_same_folder_refuses_at_once() {
    let tmp = TempDir::new("out-two-runs");
    let dir = tmp.join("run");
    let lock = dir.join(".heaphound.lock");
    let (first, rx) = spawn_hunt(hunt_cmd(
        &dir,
        &["--json", "--load", "/items?user=7", "-n", "3000"],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let first_pid = first.id();
    wait_for(
        "the first run to claim its folder",
        Duration::from_secs(30),
        || lock.exists(),
    );
    let started = Instant::now();
    let second = output(hunt_cmd(
        &dir,
        &["--json", "-q", "--load", "/items?user=7", "-n", "100"],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("PID {first_pid}")), "{err}");
    assert!(err.contains("in use by another heaphound run"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5), "{err}");
    assert!(second.stdout.is_empty());

    let (out, err) = finish_child(first, &rx);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    let doc = leaks::doc_of(&out, "the first hunt");
    check_run_dir(&doc, &dir, 3);
    let on_disk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(on_disk, doc);
    assert!(!lock.exists(), "the lock outlived its run");

    // A lock whose run was killed outright (its PID is gone) is taken over, with a note.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let fresh = tmp.join("again");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join(".heaphound.lock"), format!("{dead}\n")).unwrap();
    let out = output(hunt_cmd(
        &fresh,
        &[
            "--json",
            "--snapshots",
            "2",
            "--load",
            "/items?user=7",
            "-n",
            "100",
        ],
        &["node", "examples/cache-leak/server.js", "0"],
    ));
    let err = stderr(&out);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{err}");
    assert!(
        err.contains(&format!("took the run folder over from PID {dead}")),
        "{err}"
    );
    assert!(!fresh.join(".heaphound.lock").exists());
}
