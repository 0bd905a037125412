//! heaphound's environment variables are all named `HEAPHOUND_*` (the README lists them).
//! Names from before that rule still work: they are read once, at start-up, as their new
//! name, with a note on stderr.

/// Old name, new name.
const RENAMED: &[(&str, &str)] = &[
    ("NO_PROGRESS", "HEAPHOUND_NO_PROGRESS"),
    ("HH_THREADS", "HEAPHOUND_THREADS"),
];

/// Reads each old name as its new one (a new name already set wins) and says so. Runs
/// first thing in `main`, while the process has one thread, so setting a variable is sound.
pub fn adopt_old_names() {
    for (old, new) in RENAMED {
        let Some(value) = std::env::var_os(old) else {
            continue;
        };
        if std::env::var_os(new).is_some() {
            eprintln!("heaphound: note: {old} is ignored: {new} is set too");
            continue;
        }
        eprintln!("heaphound: note: {old} is read as {new}; rename it, the old name will go");
        std::env::set_var(new, value);
    }
}
