//! Headroom before a heap snapshot: V8 builds the snapshot in memory beside the heap
//! (nodejs/node#44027), so taking one needs about the heap's used size again. When the
//! target cannot get that much (its cgroup's limit, the machine's available memory), the
//! kernel's OOM killer may kill it mid-snapshot, leaving a 0-byte file. Each path that
//! snapshots a live process asks [`check`] first and refuses unless forced.
//!
//! The parsers take file contents as text, so they are tested on real `/proc` and cgroup
//! files; [`measure`] reads those files for a PID. A file that is missing or unreadable
//! means "not known" for its source, never an error.

use std::fmt;
use std::path::{Path, PathBuf};

use heaphound_model::units::{group, human_size};

/// A cgroup v1 limit this large or larger is no limit (the kernel's "unlimited" is
/// `PAGE_COUNTER_MAX` pages, 9223372036854771712 bytes with 4 KiB pages).
const V1_NO_LIMIT: u64 = 1 << 60;

/// How a command decides about a snapshot that does not fit.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Take the snapshot anyway.
    pub force: bool,
    /// The flag that sets `force`, for messages (`--force`, `--force-snapshot`).
    pub force_flag: &'static str,
    /// A room given instead of the one measured (a testing override).
    pub room_override: Option<RoomOverride>,
}

impl Guard {
    pub fn new(force: bool, force_flag: &'static str) -> Guard {
        Guard {
            force,
            force_flag,
            room_override: None,
        }
    }
}

/// The room, given from outside: bytes, and how it was given (`HEAPHOUND_MEMORY_LIMIT=1MB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomOverride {
    pub bytes: u64,
    pub from: String,
}

/// Where the estimate of what the snapshot needs came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeedFrom {
    /// The heap's used size, read through the inspector.
    HeapUsed,
    /// The process's resident memory (`VmRSS`), an upper bound: the heap's used size
    /// could not be read.
    VmRss,
}

/// Where the room came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomFrom {
    /// Given from outside ([`RoomOverride::from`]).
    Override(String),
    /// A cgroup v2 level (the target's or an ancestor's): `memory.max` − `memory.current`.
    CgroupV2 {
        path: String,
        max: u64,
        current: u64,
    },
    /// A cgroup v1 memory level: `memory.limit_in_bytes` − `memory.usage_in_bytes`.
    CgroupV1 {
        path: String,
        limit: u64,
        usage: u64,
    },
    /// The machine's `MemAvailable` (`/proc/meminfo`).
    MemAvailable,
}

/// Memory the target can still get, and which limit says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub bytes: u64,
    pub from: RoomFrom,
}

/// What a snapshot of the target will need, and what the target can get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Headroom {
    /// The target, when its PID is known.
    pub pid: Option<u32>,
    pub need_bytes: u64,
    pub need_from: NeedFrom,
    /// `None`: no source could tell.
    pub room: Option<Room>,
}

impl Headroom {
    /// Whether the snapshot fits; one whose room nothing could tell is let through.
    pub fn fits(&self) -> bool {
        self.room
            .as_ref()
            .is_none_or(|r| self.need_bytes <= r.bytes)
    }

    fn who(&self) -> String {
        match self.pid {
            Some(pid) => format!("PID {pid}"),
            None => "the process".into(),
        }
    }

    /// "a snapshot needs about 8.52 MB (…) beside the heap, its used size, and it can get
    /// 1.00 MB (…), from …".
    fn numbers(&self) -> String {
        let need = match self.need_from {
            NeedFrom::HeapUsed => "its used size",
            NeedFrom::VmRss => {
                "the process's VmRSS standing in as an upper bound (the heap's used size could not be read)"
            }
        };
        let room = match &self.room {
            Some(r) => format!("{}, from {}", size(r.bytes), r.from),
            None => "an amount nothing could tell".into(),
        };
        format!(
            "a snapshot needs about {} beside the heap, {need}, and it can get {room}",
            size(self.need_bytes)
        )
    }

    /// The warning for a snapshot taken anyway.
    pub fn forced_line(&self, force_flag: &str) -> String {
        let who = self.who();
        format!(
            "{who} may lack the memory for a heap snapshot: {}; taking the snapshot anyway ({force_flag}), though the kernel's OOM killer may kill {who} mid-snapshot",
            self.numbers()
        )
    }
}

impl fmt::Display for RoomFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomFrom::Override(from) => write!(f, "{from} (a testing override)"),
            RoomFrom::CgroupV2 { path, max, current } => write!(
                f,
                "its cgroup {path} (memory.max {} − memory.current {})",
                human_size(*max),
                human_size(*current)
            ),
            RoomFrom::CgroupV1 { path, limit, usage } => write!(
                f,
                "its cgroup {path} (memory.limit_in_bytes {} − memory.usage_in_bytes {})",
                human_size(*limit),
                human_size(*usage)
            ),
            RoomFrom::MemAvailable => write!(f, "the machine's MemAvailable"),
        }
    }
}

/// `8.52 MB (8,523,456 bytes)`.
fn size(bytes: u64) -> String {
    if bytes < 1000 {
        return human_size(bytes);
    }
    format!("{} ({} bytes)", human_size(bytes), group(bytes))
}

/// A snapshot refused for want of headroom: what a refusal says, in one line.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub headroom: Headroom,
    pub force_flag: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = self.headroom.who();
        write!(
            f,
            "not enough memory for a heap snapshot of {who}: {}; the kernel's OOM killer may kill {who} mid-snapshot and leave a 0-byte file; {} takes it anyway",
            self.headroom.numbers(),
            self.force_flag
        )
    }
}

/// What [`check`] found.
#[derive(Debug, Clone)]
pub enum Checked {
    /// It fits, or nothing could tell.
    Fits,
    /// It does not fit, and the guard forces it: the caller warns and takes it.
    Forced(Headroom),
    /// It does not fit.
    Refused(Refusal),
}

/// [`check`] as every snapshot path needs it: a forced snapshot's warning goes to `ui`
/// (after `title`, when the caller has one), a refusal comes back for the caller to end
/// its work with.
pub fn ensure(
    pid: Option<u32>,
    heap_used: Option<u64>,
    guard: &Guard,
    ui: &dyn crate::Observer,
    title: Option<&str>,
) -> Result<(), Refusal> {
    match check(pid, heap_used, guard) {
        Checked::Fits => Ok(()),
        Checked::Forced(h) => {
            let line = h.forced_line(guard.force_flag);
            match title {
                Some(t) => ui.warn(&format!("{t}: {line}")),
                None => ui.warn(&line),
            }
            Ok(())
        }
        Checked::Refused(r) => Err(r),
    }
}

/// Before a snapshot of `pid` (when known) whose heap uses `heap_used` bytes (when it could
/// be read): does it fit, and if not, does `guard` force it?
pub fn check(pid: Option<u32>, heap_used: Option<u64>, guard: &Guard) -> Checked {
    match measure(pid, heap_used, guard.room_override.as_ref()) {
        Some(h) if !h.fits() => {
            if guard.force {
                Checked::Forced(h)
            } else {
                Checked::Refused(Refusal {
                    headroom: h,
                    force_flag: guard.force_flag,
                })
            }
        }
        _ => Checked::Fits,
    }
}

/// What a snapshot of `pid` needs and what it can get, from this machine's `/proc` and
/// `/sys/fs/cgroup`; `None` when what it needs cannot be told (no heap size, no PID).
pub fn measure(
    pid: Option<u32>,
    heap_used: Option<u64>,
    room_override: Option<&RoomOverride>,
) -> Option<Headroom> {
    measure_in(Path::new("/"), pid, heap_used, room_override)
}

/// [`measure`] with `/proc` and `/sys` under `root`.
pub fn measure_in(
    root: &Path,
    pid: Option<u32>,
    heap_used: Option<u64>,
    room_override: Option<&RoomOverride>,
) -> Option<Headroom> {
    let (need_bytes, need_from) = match heap_used {
        Some(n) => (n, NeedFrom::HeapUsed),
        None => {
            let status = read(&root.join(format!("proc/{}/status", pid?)))?;
            (kb_field(&status, "VmRSS")?, NeedFrom::VmRss)
        }
    };
    let room = match room_override {
        Some(o) => Some(Room {
            bytes: o.bytes,
            from: RoomFrom::Override(o.from.clone()),
        }),
        None => room_in(root, pid),
    };
    Some(Headroom {
        pid,
        need_bytes,
        need_from,
        room,
    })
}

/// The smaller of the target's cgroup room (when its PID is known) and the machine's
/// `MemAvailable`.
fn room_in(root: &Path, pid: Option<u32>) -> Option<Room> {
    let cgroup = pid
        .and_then(|pid| read(&root.join(format!("proc/{pid}/cgroup"))))
        .and_then(|text| parse_cgroup(&text))
        .and_then(|cg| cgroup_room_in(root, &cg));
    let available = read(&root.join("proc/meminfo"))
        .and_then(|text| kb_field(&text, "MemAvailable"))
        .map(|bytes| Room {
            bytes,
            from: RoomFrom::MemAvailable,
        });
    smallest([cgroup, available])
}

fn read(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn smallest(rooms: impl IntoIterator<Item = Option<Room>>) -> Option<Room> {
    rooms.into_iter().flatten().min_by_key(|r| r.bytes)
}

/// The memory cgroup of a process, from `/proc/PID/cgroup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cgroup {
    /// The unified hierarchy (`0::/path`), under `/sys/fs/cgroup`.
    V2(String),
    /// The v1 memory controller (`N:memory:/path`), under `/sys/fs/cgroup/memory`.
    V1(String),
}

/// The memory cgroup in `/proc/PID/cgroup` text. A v1 `memory` line wins over `0::`: on a
/// hybrid system the memory controller is on v1 and the unified hierarchy has none. A path
/// outside this namespace's view (`/../…`) is not known.
pub fn parse_cgroup(text: &str) -> Option<Cgroup> {
    let mut v2 = None;
    let mut v1 = None;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if !usable_path(path) {
            continue;
        }
        if id == "0" && controllers.is_empty() {
            v2 = Some(path.to_string());
        } else if controllers.split(',').any(|c| c == "memory") {
            v1 = Some(path.to_string());
        }
    }
    v1.map(Cgroup::V1).or(v2.map(Cgroup::V2))
}

fn usable_path(path: &str) -> bool {
    path.starts_with('/') && !path.split('/').any(|p| p == ".." || p == ".")
}

/// A cgroup limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    None,
    Bytes(u64),
}

/// `memory.max` (v2): `max` or a byte count.
pub fn parse_v2_limit(text: &str) -> Option<Limit> {
    match text.trim() {
        "max" => Some(Limit::None),
        n => n.parse().ok().map(Limit::Bytes),
    }
}

/// `memory.limit_in_bytes` (v1): a byte count, 2^60 or more meaning none.
pub fn parse_v1_limit(text: &str) -> Option<Limit> {
    let n: u64 = text.trim().parse().ok()?;
    Some(if n >= V1_NO_LIMIT {
        Limit::None
    } else {
        Limit::Bytes(n)
    })
}

/// `memory.current`, `memory.usage_in_bytes`: a byte count.
pub fn parse_bytes(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// A `Key:   1234 kB` line of `/proc/meminfo` or `/proc/PID/status`, in bytes.
pub fn kb_field(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(':')?;
        let n: u64 = rest.trim().strip_suffix("kB")?.trim().parse().ok()?;
        n.checked_mul(1024)
    })
}

/// One level of a cgroup hierarchy: its path, its limit and what it uses, when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub path: String,
    pub limit: Option<Limit>,
    pub used: Option<u64>,
}

/// The smallest room over the levels whose limit and use are both known; `None` when none
/// has a limit.
pub fn cgroup_room(levels: &[Level], v2: bool) -> Option<Room> {
    let rooms = levels.iter().map(|l| match (l.limit, l.used) {
        (Some(Limit::Bytes(limit)), Some(used)) => Some(Room {
            bytes: limit.saturating_sub(used),
            from: if v2 {
                RoomFrom::CgroupV2 {
                    path: l.path.clone(),
                    max: limit,
                    current: used,
                }
            } else {
                RoomFrom::CgroupV1 {
                    path: l.path.clone(),
                    limit,
                    usage: used,
                }
            },
        }),
        _ => None,
    });
    smallest(rooms)
}

/// `/a/b` → `/a/b`, `/a`, `/`.
fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = path.trim_end_matches('/').to_string();
    while !p.is_empty() {
        out.push(p.clone());
        match p.rfind('/') {
            Some(i) => p.truncate(i),
            None => break,
        }
    }
    out.push("/".into());
    out
}

fn cgroup_room_in(root: &Path, cg: &Cgroup) -> Option<Room> {
    let (base, path, limit_file, used_file, v2): (PathBuf, &str, &str, &str, bool) = match cg {
        Cgroup::V2(p) => (
            root.join("sys/fs/cgroup"),
            p,
            "memory.max",
            "memory.current",
            true,
        ),
        Cgroup::V1(p) => (
            root.join("sys/fs/cgroup/memory"),
            p,
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
            false,
        ),
    };
    let levels: Vec<Level> = ancestors(path)
        .into_iter()
        .map(|p| {
            let dir = base.join(p.trim_start_matches('/'));
            let limit = read(&dir.join(limit_file)).and_then(|t| {
                if v2 {
                    parse_v2_limit(&t)
                } else {
                    parse_v1_limit(&t)
                }
            });
            let used = read(&dir.join(used_file)).and_then(|t| parse_bytes(&t));
            Level {
                path: p,
                limit,
                used,
            }
        })
        .collect();
    cgroup_room(&levels, v2)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real files: /proc/PID/cgroup of a process in a systemd service (cgroup v2), of one
    // in a Docker container on a hybrid host (v1), /proc/meminfo and /proc/PID/status.
    const CGROUP_V2: &str = "0::/system.slice/app.service\n";
    const CGROUP_HYBRID: &str = "12:pids:/docker/4f1c\n11:hugetlb:/docker/4f1c\n\
        10:cpu,cpuacct:/docker/4f1c\n9:memory:/docker/4f1c\n1:name=systemd:/docker/4f1c\n\
        0::/docker/4f1c\n";
    const CGROUP_NAMESPACED: &str = "0::/../../user.slice\n";
    const MEMINFO: &str = "MemTotal:       24683664 kB\nMemFree:        20021508 kB\n\
        MemAvailable:   24229592 kB\nBuffers:          402900 kB\nCached:          3590652 kB\n\
        SwapCached:            0 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n";
    const STATUS: &str = "Name:\tnode\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t12291\n\
        Pid:\t12291\nVmPeak:\t  745892 kB\nVmSize:\t  745892 kB\nVmHWM:\t   58472 kB\n\
        VmRSS:\t   58472 kB\nRssAnon:\t   24020 kB\nRssFile:\t   34452 kB\nThreads:\t7\n";

    #[test]
    fn proc_cgroup_lines() {
        assert_eq!(
            parse_cgroup(CGROUP_V2),
            Some(Cgroup::V2("/system.slice/app.service".into()))
        );
        assert_eq!(
            parse_cgroup(CGROUP_HYBRID),
            Some(Cgroup::V1("/docker/4f1c".into()))
        );
        assert_eq!(parse_cgroup(CGROUP_NAMESPACED), None);
        assert_eq!(parse_cgroup("0::/\n"), Some(Cgroup::V2("/".into())));
        assert_eq!(parse_cgroup(""), None);
        assert_eq!(parse_cgroup("garbage\n"), None);
    }

    #[test]
    fn limits_and_sizes() {
        assert_eq!(parse_v2_limit("max\n"), Some(Limit::None));
        assert_eq!(
            parse_v2_limit("536870912\n"),
            Some(Limit::Bytes(536_870_912))
        );
        assert_eq!(parse_v2_limit(""), None);
        assert_eq!(parse_v1_limit("9223372036854771712\n"), Some(Limit::None));
        assert_eq!(
            parse_v1_limit("268435456\n"),
            Some(Limit::Bytes(268_435_456))
        );
        assert_eq!(parse_v1_limit("-1"), None);
        assert_eq!(parse_bytes("935292928\n"), Some(935_292_928));
        assert_eq!(kb_field(MEMINFO, "MemAvailable"), Some(24_229_592 * 1024));
        assert_eq!(kb_field(MEMINFO, "MemTotal"), Some(24_683_664 * 1024));
        assert_eq!(kb_field(STATUS, "VmRSS"), Some(58_472 * 1024));
        // A key is matched whole: "Rss" is not "RssAnon".
        assert_eq!(kb_field(STATUS, "Rss"), None);
        assert_eq!(kb_field(MEMINFO, "HugePages_Total"), None);
    }

    #[test]
    fn the_smallest_room_over_the_levels_wins() {
        let level = |path: &str, limit, used| Level {
            path: path.into(),
            limit,
            used,
        };
        let levels = [
            level("/a/b", Some(Limit::Bytes(500_000_000)), Some(100_000_000)),
            level("/a", Some(Limit::Bytes(300_000_000)), Some(250_000_000)),
            level("/", None, None),
        ];
        let room = cgroup_room(&levels, true).unwrap();
        assert_eq!(room.bytes, 50_000_000);
        assert_eq!(
            room.from,
            RoomFrom::CgroupV2 {
                path: "/a".into(),
                max: 300_000_000,
                current: 250_000_000
            }
        );
        // Over its limit: no room, never an underflow.
        let over = [level("/x", Some(Limit::Bytes(10)), Some(20))];
        assert_eq!(cgroup_room(&over, false).unwrap().bytes, 0);
        let none = [
            level("/x", Some(Limit::None), Some(20)),
            level("/", None, None),
        ];
        assert_eq!(cgroup_room(&none, true), None);
        assert_eq!(ancestors("/a/b"), ["/a/b", "/a", "/"]);
        assert_eq!(ancestors("/"), ["/"]);
    }

    /// A scratch tree standing for `/`, with real-format files.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Tree {
            let dir = std::env::temp_dir()
                .join(format!("heaphound-headroom-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Tree(dir)
        }

        fn put(&self, path: &str, text: &str) -> &Tree {
            let p = self.0.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
            self
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_v2_cgroup_and_its_ancestors_against_mem_available() {
        let t = Tree::new("v2");
        t.put("proc/12291/cgroup", CGROUP_V2)
            .put("proc/12291/status", STATUS)
            .put("proc/meminfo", MEMINFO)
            .put("sys/fs/cgroup/system.slice/app.service/memory.max", "max\n")
            .put(
                "sys/fs/cgroup/system.slice/app.service/memory.current",
                "41943040\n",
            )
            .put("sys/fs/cgroup/system.slice/memory.max", "104857600\n")
            .put("sys/fs/cgroup/system.slice/memory.current", "73400320\n");
        let h = measure_in(&t.0, Some(12291), Some(40_000_000), None).unwrap();
        assert_eq!(h.need_from, NeedFrom::HeapUsed);
        let room = h.room.clone().unwrap();
        assert_eq!(room.bytes, 104_857_600 - 73_400_320);
        assert_eq!(
            room.from,
            RoomFrom::CgroupV2 {
                path: "/system.slice".into(),
                max: 104_857_600,
                current: 73_400_320
            }
        );
        assert!(!h.fits());
        let refusal = Refusal {
            headroom: h,
            force_flag: "--force",
        }
        .to_string();
        assert!(
            refusal.contains("PID 12291")
                && refusal.contains("40.0 MB (40,000,000 bytes)")
                && refusal.contains("from its cgroup /system.slice (memory.max 105 MB")
                && refusal.contains("OOM killer")
                && refusal.contains("--force takes it anyway"),
            "{refusal}"
        );

        // Without the heap's used size, VmRSS stands in, and the message says so.
        let h = measure_in(&t.0, Some(12291), None, None).unwrap();
        assert_eq!(
            (h.need_bytes, h.need_from),
            (58_472 * 1024, NeedFrom::VmRss)
        );
        assert!(!h.fits());
        let refusal = Refusal {
            headroom: h,
            force_flag: "--force",
        }
        .to_string();
        assert!(
            refusal.contains("VmRSS standing in as an upper bound"),
            "{refusal}"
        );

        // A roomy cgroup leaves MemAvailable as the bound.
        t.put("sys/fs/cgroup/system.slice/memory.max", "max\n");
        let h = measure_in(&t.0, Some(12291), Some(40_000_000), None).unwrap();
        assert_eq!(h.room.as_ref().unwrap().from, RoomFrom::MemAvailable);
        assert!(h.fits());
    }

    #[test]
    fn a_v1_memory_cgroup() {
        let t = Tree::new("v1");
        t.put("proc/7/cgroup", CGROUP_HYBRID)
            .put("proc/meminfo", MEMINFO)
            .put(
                "sys/fs/cgroup/memory/docker/4f1c/memory.limit_in_bytes",
                "268435456\n",
            )
            .put(
                "sys/fs/cgroup/memory/docker/4f1c/memory.usage_in_bytes",
                "255852544\n",
            )
            .put(
                "sys/fs/cgroup/memory/memory.limit_in_bytes",
                "9223372036854771712\n",
            )
            .put("sys/fs/cgroup/memory/memory.usage_in_bytes", "935292928\n");
        let h = measure_in(&t.0, Some(7), Some(20_000_000), None).unwrap();
        assert_eq!(
            h.room.as_ref().unwrap().from,
            RoomFrom::CgroupV1 {
                path: "/docker/4f1c".into(),
                limit: 268_435_456,
                usage: 255_852_544
            }
        );
        assert!(!h.fits());
    }

    #[test]
    fn missing_files_are_not_known_and_the_override_wins() {
        let t = Tree::new("missing");
        // No cgroup file, no meminfo: the room is not known, and the snapshot is let through.
        let h = measure_in(&t.0, Some(99), Some(1 << 40), None).unwrap();
        assert_eq!(h.room, None);
        assert!(h.fits());
        // No heap size and no status: nothing to compare.
        assert_eq!(measure_in(&t.0, Some(99), None, None), None);
        assert_eq!(measure_in(&t.0, None, None, None), None);
        // Unreadable contents are not known either.
        t.put("proc/99/cgroup", CGROUP_V2)
            .put(
                "sys/fs/cgroup/system.slice/app.service/memory.max",
                "lots\n",
            )
            .put("proc/meminfo", "MemAvailable: many\n");
        let h = measure_in(&t.0, Some(99), Some(1 << 40), None).unwrap();
        assert_eq!(h.room, None);
        let o = RoomOverride {
            bytes: 1_000_000,
            from: "HEAPHOUND_MEMORY_LIMIT=1MB".into(),
        };
        let h = measure_in(&t.0, None, Some(2_000_000), Some(&o)).unwrap();
        assert!(!h.fits());
        let refusal = Refusal {
            headroom: h,
            force_flag: "--force-snapshot",
        }
        .to_string();
        assert!(
            refusal.contains("from HEAPHOUND_MEMORY_LIMIT=1MB (a testing override)")
                && refusal.contains("of the process")
                && refusal.contains("--force-snapshot takes it anyway"),
            "{refusal}"
        );
    }

    #[test]
    fn this_machine_can_be_measured() {
        // Whatever this machine's cgroups are, reading them never fails.
        let h = measure(Some(std::process::id()), Some(1), None).unwrap();
        assert!(h.fits(), "{h:?}");
    }
}
