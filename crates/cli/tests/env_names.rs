//! Environment variables from before the `HEAPHOUND_*` rule still work, with a note.

mod common;

use std::process::Command;

use common::{heaphound, repo_root};

#[test]
fn an_old_variable_name_is_read_as_its_new_name_with_a_note() {
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(heaphound());
        cmd.args([
            "summary",
            "tests/recorded/series/1.heapsnapshot.gz",
            "--json",
            "-q",
        ])
        .current_dir(repo_root())
        .env_remove("HH_THREADS")
        .env_remove("HEAPHOUND_THREADS");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().expect("run heaphound")
    };
    let plain = run(&[]);
    assert!(plain.status.success());
    assert!(
        plain.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );

    let old = run(&[("HH_THREADS", "1")]);
    assert!(old.status.success());
    assert_eq!(
        old.stdout, plain.stdout,
        "one reader thread reads the same graph"
    );
    let note = String::from_utf8_lossy(&old.stderr);
    assert!(
        note.contains("HH_THREADS is read as HEAPHOUND_THREADS"),
        "{note}"
    );

    let both = run(&[("HH_THREADS", "1"), ("HEAPHOUND_THREADS", "2")]);
    let note = String::from_utf8_lossy(&both.stderr);
    assert!(
        note.contains("HH_THREADS is ignored: HEAPHOUND_THREADS is set too"),
        "{note}"
    );

    let old = run(&[("NO_PROGRESS", "1")]);
    assert_eq!(old.stdout, plain.stdout);
    let note = String::from_utf8_lossy(&old.stderr);
    assert!(
        note.contains("NO_PROGRESS is read as HEAPHOUND_NO_PROGRESS"),
        "{note}"
    );
}
