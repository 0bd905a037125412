//! Run folders: where a capture keeps its snapshots, memory series and reports.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::run_lock::RunLock;
use crate::{files, CaptureError};

/// `./heaphound-runs/<UTC time>`, with `-2`, `-3`, … when that exists.
pub fn fresh_run_dir() -> PathBuf {
    let base = Path::new("heaphound-runs").join(utc_stamp(SystemTime::now()));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}

/// What a run writes into its folder besides the snapshots.
pub const RUN_FILES: [&str; 3] = ["memory.jsonl", "load.json", "report.json"];

/// The run folder: `out`, or `./heaphound-runs/<UTC time>` (with `-2`, `-3`, … when
/// that exists). Existing snapshots are never overwritten, and a folder in use by another
/// run, or holding links or partial files where the run writes, is refused before anything
/// starts.
pub fn run_dir(out: Option<&Path>, snapshots: u32) -> Result<PathBuf, CaptureError> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => fresh_run_dir(),
    };
    if files::taken(&dir) && !dir.is_dir() {
        return Err(CaptureError::Usage(format!(
            "{}: exists and is not a folder",
            dir.display()
        )));
    }
    if !dir.is_dir() {
        return Ok(dir);
    }
    // The claim itself is made by `create`; this only says it sooner than a partial file of
    // the other run would.
    RunLock::check(&dir)?;
    for k in 1..=snapshots {
        let f = dir.join(format!("{k}.heapsnapshot"));
        let partial = files::partial_path(&f);
        if files::taken(&partial) {
            return Err(files::FileError::PartialExists(partial).into());
        }
        if files::taken(&f) {
            return Err(CaptureError::Usage(format!(
                "{} already exists; refusing to overwrite snapshots (choose another --out)",
                f.display()
            )));
        }
    }
    // The writers replace a link rather than follow it; one found here was planted by
    // someone else, and is said rather than silently replaced.
    for name in RUN_FILES {
        let f = dir.join(name);
        let partial = files::partial_path(&f);
        if files::taken(&partial) {
            return Err(files::FileError::PartialExists(partial).into());
        }
        if fs::symlink_metadata(&f).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(CaptureError::Usage(format!(
                "{} is a symbolic link; heaphound writes only files it creates (remove it or choose another --out)",
                f.display()
            )));
        }
    }
    Ok(dir)
}

/// Creates the run folder (0700, when it is new) and claims it for this run: held until
/// the returned lock is dropped.
pub fn create(dir: &Path) -> Result<RunLock, CaptureError> {
    let created = files::create_dir(dir).map_err(|e| {
        CaptureError::Usage(format!(
            "{}: cannot create the run folder: {e}",
            dir.display()
        ))
    })?;
    RunLock::claim(dir, created)
}

/// Writes a JSON document, pretty, with a final newline.
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, v: &T) -> Result<(), CaptureError> {
    let mut text = serde_json::to_string_pretty(v).map_err(|e| CaptureError::Write {
        path: path.display().to_string(),
        source: e.into(),
    })?;
    text.push('\n');
    Ok(files::write_atomic(path, text.as_bytes())?)
}

/// `20261122-131500` in UTC.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_353_300);
        assert_eq!(utc_stamp(t), "20261122-131500");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(utc_stamp(leap), "20000229-000000");
    }
}
