//! The capture playbook `hunt` and `attach` share: wait until the program is ready, warm it
//! up, then GC + snapshot and load in turns, sampling memory all along; then judge the
//! snapshots with the suspects analysis. Everything lands in a run folder, and a fault (the
//! program ends, Ctrl-C, the inspector drops, the load target refuses) keeps what was
//! captured and reports on it when there are two snapshots or more.

pub mod args;
pub mod duration;
pub mod listen;
pub mod loader;
pub mod sampler;
pub mod signals;
pub mod trend;
pub mod ui;

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use heaphound_inspector::{ConnectOptions, InspectorError, Session, Spawned};
use heaphound_report::{group, human_size};
use serde_json::{json, Value};

use crate::commands::suspects::Judged;
use crate::commands::{emit, Ctx};
use args::{LoadPlan, Plan};
use listen::LoadUrl;
use loader::{Driver, HttpLoad, Phase, PhaseRecord};
use sampler::{Sampler, Series, SharedSeries};
use ui::Ui;

/// Why a capture ended before its last snapshot.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// The program ended on its own: how ("exited with status 3").
    Ended(String),
    /// Anything else, in one line.
    Failed(String),
}

/// Ctrl-C exits with 130, whatever the analysis of the snapshots taken so far says.
const EXIT_INTERRUPTED: u8 = 130;

/// The process under study.
pub struct Program {
    kind: Kind,
    pid: u32,
    /// For people: the command line.
    pub command: String,
    ws_url: String,
    inspector_port: u16,
    /// How it ended, once it did.
    ended: Option<String>,
}

enum Kind {
    Spawned(Spawned),
    Attached,
}

fn ws_port(url: &str) -> u16 {
    url.strip_prefix("ws://")
        .and_then(|r| r.split('/').next())
        .and_then(|a| a.rsplit_once(':'))
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(0)
}

impl Program {
    pub fn spawned(node: Spawned, command: String) -> Program {
        signals::set_child(node.pid());
        Program {
            pid: node.pid(),
            ws_url: node.ws_url().to_string(),
            inspector_port: ws_port(node.ws_url()),
            kind: Kind::Spawned(node),
            command,
            ended: None,
        }
    }

    pub fn attached(pid: u32, ws_url: String, command: String) -> Program {
        Program {
            pid,
            inspector_port: ws_port(&ws_url),
            ws_url,
            kind: Kind::Attached,
            command,
            ended: None,
        }
    }

    fn is_spawned(&self) -> bool {
        matches!(self.kind, Kind::Spawned(_))
    }

    /// How the program ended, if it has.
    fn gone(&mut self) -> Option<String> {
        if self.ended.is_none() {
            self.ended = match &mut self.kind {
                Kind::Spawned(node) => match node.try_exit_status() {
                    Ok(Some(status)) => {
                        signals::set_child(0);
                        Some(loader::status_text(&status))
                    }
                    _ => None,
                },
                Kind::Attached => (!alive(self.pid)).then(|| "exited".to_string()),
            };
        }
        self.ended.clone()
    }

    /// After an inspector error: the program may be on its way out; give it a second.
    fn gone_soon(&mut self) -> Option<String> {
        let end = Instant::now() + Duration::from_secs(1);
        loop {
            if let Some(g) = self.gone() {
                return Some(g);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops a program we started (SIGTERM, then SIGKILL) and says how it ended; an attached
    /// one keeps running.
    fn finish(&mut self) -> String {
        if let Some(g) = self.gone() {
            return g;
        }
        match &mut self.kind {
            Kind::Spawned(node) => {
                let r = node.stop();
                signals::set_child(0);
                match r {
                    Ok(Some(status)) => match (status.code(), status.signal()) {
                        (Some(code), _) => format!("stopped by heaphound, exit status {code}"),
                        (None, Some(libc::SIGTERM)) => "stopped by heaphound (SIGTERM)".into(),
                        (None, Some(libc::SIGKILL)) => {
                            "killed by heaphound (SIGKILL after SIGTERM)".into()
                        }
                        _ => format!("stopped by heaphound ({status})"),
                    },
                    _ => "could not be stopped".to_string(),
                }
            }
            Kind::Attached => "still running".to_string(),
        }
    }
}

/// The process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised name, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// The command line of a process, from /proc.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Runs the playbook on `program` and reports; returns the exit code.
pub fn run(ctx: &Ctx, plan: Plan, mut program: Program, command_name: &str) -> Result<ExitCode> {
    let ui = Ui::new(ctx.quiet);
    let started = Instant::now();
    ui.note(&format!(
        "{} `{}` (PID {}); run folder {}",
        if program.is_spawned() {
            "started"
        } else {
            "attached to"
        },
        program.command,
        program.pid,
        plan.run_dir.display()
    ));
    let series = Series::create(&plan.run_dir.join("memory.jsonl"), program.pid, started)?;
    let mut session = match Session::connect(&program.ws_url, &ConnectOptions::default())
        .and_then(|mut s| s.enable_heap_profiler().map(|_| s))
    {
        Ok(s) => s,
        Err(e) => {
            let how = program.finish();
            return Err(anyhow::Error::new(e)
                .context(format!("the inspector of PID {} ({how})", program.pid)));
        }
    };
    // Events (tracking statistics) are not needed: never queue them.
    session.set_event_handler(Some(Box::new(|_| {})));
    let mut sampler = match Sampler::start(&program.ws_url, series.clone(), plan.interval) {
        Ok(s) => Some(s),
        Err(e) => {
            ui.warn(&format!("memory sampling is off: {e:#}"));
            None
        }
    };

    let mut cap = Capture {
        plan: &plan,
        ui,
        series: series.clone(),
        snapshots: Vec::new(),
        records: Vec::new(),
        tracking: false,
        pump_ok: true,
        place: "start-up".into(),
        listen: None,
    };
    let (driver, stop) = cap.run_all(&mut program, &mut session);

    if let Ok(mut s) = series.lock() {
        s.set_phase("done");
    }
    if let Some(s) = sampler.as_mut() {
        s.finish();
    }
    if cap.tracking && program.gone().is_none() {
        // Stops allocation tracking without the snapshot stopTrackingHeapObjects would send.
        let _ = session.call("HeapProfiler.disable", json!({}));
    }
    // Node waits for a connected debugger before it exits: close first, then stop.
    session.close();
    let how = program.finish();
    let ui = cap.ui;

    let load_doc = driver
        .as_ref()
        .map(|d| loader::to_json(d, &cap.records))
        .unwrap_or(Value::Null);
    write_json(&plan.run_dir.join("load.json"), &load_doc)?;
    if let Some(e) = series
        .lock()
        .ok()
        .and_then(|s| s.write_error().map(String::from))
    {
        ui.warn(&format!("memory.jsonl is incomplete: {e}"));
    }

    let kept = cap.snapshots.len();
    let fault = stop.as_ref().map(|s| {
        let what = match s {
            Stop::Interrupted => format!(
                "interrupted (Ctrl-C) during {}{}",
                cap.place,
                if program.is_spawned() {
                    "; the program was stopped"
                } else {
                    ""
                }
            ),
            Stop::Ended(how) => format!("the program {how} during {}", cap.place),
            Stop::Failed(msg) => msg.clone(),
        };
        format!(
            "{what}; kept {kept} snapshot{} in {}",
            if kept == 1 { "" } else { "s" },
            plan.run_dir.display()
        )
    });
    if let Some(f) = &fault {
        ui.warn(f);
    }
    if !program.is_spawned() {
        ui.note(&format!(
            "PID {} keeps its inspector open on 127.0.0.1:{} until it exits (Node cannot close it from outside)",
            program.pid, program.inspector_port
        ));
    }
    let interrupted = matches!(stop, Some(Stop::Interrupted));
    if kept < 2 {
        let msg = format!(
            "{command_name}: only {kept} snapshot{} captured, at least 2 are needed to find a leak",
            if kept == 1 { " was" } else { "s were" }
        );
        if interrupted {
            ui.warn(&msg);
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        return Err(crate::load::InputError(msg).into());
    }

    let files: Vec<String> = cap
        .snapshots
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let judged = Judged::of(&files, ctx.quiet)?;
    let memory = series
        .lock()
        .map(|s| s.summary(&files))
        .unwrap_or(Value::Null);
    let leak = judged.findings.verdict == heaphound_analysis::suspects::Verdict::Leak;
    let trend = trend::for_hunt(&series, plan.interval, leak, &ctx.style);
    if let Some(w) = &trend.warning {
        ui.warn(w);
    }
    let mut doc = judged.to_json(plan.top);
    if let Some(o) = doc.as_object_mut() {
        o.insert("trend".into(), trend.json.clone());
        o.insert("run_dir".into(), json!(plan.run_dir.to_string_lossy()));
        o.insert(
            "program".into(),
            json!({
                "command": program.command,
                "pid": program.pid,
                "attached": !program.is_spawned(),
                "listening": cap.listen.map(|a| a.to_string()),
                "ended": how,
            }),
        );
        o.insert("memory".into(), memory.clone());
        o.insert("load".into(), load_doc.clone());
        o.insert("fault".into(), json!(fault));
    }
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(plan.run_dir.join("report.json"), &text)
        .with_context(|| format!("{}: cannot write report.json", plan.run_dir.display()))?;
    if plan.json {
        emit(&text)?;
    } else {
        let mut out = header(
            command_name,
            &program,
            &how,
            &load_doc,
            &memory,
            &plan.run_dir,
            &fault,
        );
        out.push_str(&trend.line);
        out.push('\n');
        out.push_str(&judged.to_text(plan.top, plan.verbose, &ctx.style));
        emit(&out)?;
    }
    if interrupted {
        return Ok(ExitCode::from(EXIT_INTERRUPTED));
    }
    Ok(judged.exit_code())
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    std::fs::write(path, s).with_context(|| format!("{}: cannot write", path.display()))
}

/// What ran, before the suspects report.
fn header(
    command_name: &str,
    program: &Program,
    how: &str,
    load: &Value,
    memory: &Value,
    run_dir: &Path,
    fault: &Option<String>,
) -> String {
    let mut s = format!(
        "heaphound {command_name}: {} (PID {}, {how})\n",
        program.command, program.pid
    );
    let phases = load["phases"].as_array().map_or(0, Vec::len);
    let load_line = match load["mode"].as_str() {
        Some("http") => {
            let ms = |k: &str| load["latency_ms"][k].as_f64().unwrap_or(0.0);
            format!(
                "{} {}, {} connections: {} requests in {phases} phases ({} errors, {} non-2xx), latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                load["method"].as_str().unwrap_or("GET"),
                load["url"].as_str().unwrap_or(""),
                load["connections"],
                group(load["requests"].as_u64().unwrap_or(0)),
                group(load["errors"].as_u64().unwrap_or(0)),
                group(load["non_2xx"].as_u64().unwrap_or(0)),
                ms("p50"),
                ms("p99"),
                ms("max"),
            )
        }
        Some("command") => format!(
            "`{}`, run {phases} times",
            load["command"].as_str().unwrap_or("")
        ),
        Some("manual") => format!("driven by hand, {phases} phases"),
        _ => "none".into(),
    };
    s.push_str(&format!("  load     {load_line}\n"));
    let size = |v: &Value| v.as_u64().map(human_size).unwrap_or_else(|| "?".into());
    if memory["samples"].as_u64().unwrap_or(0) > 0 {
        s.push_str(&format!(
            "  memory   rss {} → {} (max {}), heap used {} → {}, {} samples\n",
            size(&memory["rss"]["first"]),
            size(&memory["rss"]["last"]),
            size(&memory["rss"]["max"]),
            size(&memory["heap_used"]["first"]),
            size(&memory["heap_used"]["last"]),
            memory["samples"]
        ));
    }
    s.push_str(&format!("  run      {}\n", run_dir.display()));
    if let Some(f) = fault {
        s.push_str(&format!("  fault    {f}\n"));
    }
    s
}

struct Capture<'a> {
    plan: &'a Plan,
    ui: Ui,
    series: SharedSeries,
    snapshots: Vec<PathBuf>,
    records: Vec<PhaseRecord>,
    /// Allocation tracking is on.
    tracking: bool,
    /// Inspector events can still be read between calls.
    pump_ok: bool,
    /// Where we are, for messages: "load 1/2", "snapshot 2/3".
    place: String,
    /// Where the program listens, when known.
    listen: Option<SocketAddr>,
}

impl Capture<'_> {
    fn set_phase(&mut self, key: &str, place: String) {
        if let Ok(mut s) = self.series.lock() {
            s.set_phase(key);
        }
        self.place = place;
    }

    fn check(program: &mut Program) -> Option<Stop> {
        if signals::interrupted() {
            return Some(Stop::Interrupted);
        }
        program.gone().map(Stop::Ended)
    }

    /// Readiness, the warm-up and the snapshots with load between them. Returns the driver
    /// (once the program was ready) and why the capture stopped early, if it did.
    fn run_all(
        &mut self,
        program: &mut Program,
        session: &mut Session,
    ) -> (Option<Driver>, Option<Stop>) {
        self.set_phase("startup", "start-up".into());
        let driver = match self.ready(program) {
            Ok(d) => d,
            Err(s) => return (None, Some(s)),
        };
        let stop = self.phases(&driver, program, session).err();
        (Some(driver), stop)
    }

    fn phases(
        &mut self,
        driver: &Driver,
        program: &mut Program,
        session: &mut Session,
    ) -> Result<(), Stop> {
        let k_total = self.plan.snapshots;
        let warmup = match driver {
            Driver::Http(h) => h.warmup > 0,
            _ => true,
        };
        if warmup {
            self.load_phase(
                driver,
                Phase {
                    key: "warmup".into(),
                    title: "warm-up".into(),
                    warmup: true,
                    prompt: format!(
                        "Warm the program up with some traffic, then press Enter to take snapshot 1 of {k_total}."
                    ),
                },
                program,
                session,
            )?;
        }
        for k in 1..=k_total {
            self.snapshot(k, program, session)?;
            if k == 1 && self.plan.allocation_sites {
                if let Some(s) = Self::check(program) {
                    return Err(s);
                }
                self.ui.status("starting allocation tracking…");
                if let Err(e) = session.start_tracking_heap_objects(true) {
                    return Err(self.inspector_fault(program, "starting allocation tracking", e));
                }
                self.tracking = true;
            }
            if k < k_total {
                let loads = k_total - 1;
                self.load_phase(
                    driver,
                    Phase {
                        key: format!("load-{k}"),
                        title: format!("load {k}/{loads}"),
                        warmup: false,
                        prompt: format!(
                            "Snapshot {k} taken. Send the program the same kind of traffic again, then press Enter to take snapshot {} of {k_total}.",
                            k + 1
                        ),
                    },
                    program,
                    session,
                )?;
            }
        }
        Ok(())
    }

    fn load_phase(
        &mut self,
        driver: &Driver,
        phase: Phase,
        program: &mut Program,
        session: &mut Session,
    ) -> Result<(), Stop> {
        self.set_phase(&phase.key, phase.title.clone());
        if let Some(s) = Self::check(program) {
            return Err(s);
        }
        let tracking = self.tracking;
        let pump_ok = &mut self.pump_ok;
        let mut tick = || {
            if let Some(s) = Self::check(program) {
                return Some(s);
            }
            if tracking && *pump_ok {
                // Keep reading the tracking session's events so they never pile up.
                if session.pump_events(Duration::from_millis(50)).is_err() {
                    *pump_ok = false;
                }
            } else {
                std::thread::sleep(Duration::from_millis(50));
            }
            None
        };
        let (record, stop) = driver.run(&phase, &self.ui, &mut tick);
        self.records.push(record);
        match stop {
            // A load failure is often the program going away: say that instead.
            Some(Stop::Failed(msg)) => match program.gone_soon() {
                Some(how) => Err(Stop::Ended(how)),
                None => Err(Stop::Failed(msg)),
            },
            Some(s) => Err(s),
            None => Ok(()),
        }
    }

    fn inspector_fault(&mut self, program: &mut Program, what: &str, e: InspectorError) -> Stop {
        if signals::interrupted() {
            return Stop::Interrupted;
        }
        match program.gone_soon() {
            Some(how) => Stop::Ended(how),
            None => Stop::Failed(format!("{what} failed: {e}")),
        }
    }

    fn snapshot(
        &mut self,
        k: u32,
        program: &mut Program,
        session: &mut Session,
    ) -> Result<(), Stop> {
        let total = self.plan.snapshots;
        let title = format!("snapshot {k}/{total}");
        self.set_phase(&format!("snapshot-{k}"), title.clone());
        if let Some(s) = Self::check(program) {
            return Err(s);
        }
        let started = Instant::now();
        self.ui.status(&format!("{title}: collecting garbage…"));
        if let Err(e) = session.collect_garbage() {
            return Err(self.inspector_fault(
                program,
                &format!("collecting garbage before {title}"),
                e,
            ));
        }
        // The post-GC floor, recorded as this snapshot's memory sample.
        if let Ok(m) = session.memory_usage() {
            if let Ok(mut s) = self.series.lock() {
                s.record(&m, Some(k));
            }
        }
        let path = self.plan.run_dir.join(format!("{k}.heapsnapshot"));
        let mut progress = self.ui.snapshot_progress(&title);
        match session.take_heap_snapshot(&path, &mut progress) {
            Ok(bytes) => {
                self.ui.step(&format!(
                    "{title}: {} ({}) in {:.1}s",
                    path.display(),
                    human_size(bytes),
                    started.elapsed().as_secs_f64()
                ));
                self.snapshots.push(path);
                Ok(())
            }
            Err(e) => Err(self.inspector_fault(program, &title, e)),
        }
    }

    /// Waits until the program is ready for load and builds the driver.
    fn ready(&mut self, program: &mut Program) -> Result<Driver, Stop> {
        let plan = self.plan;
        let deadline = Instant::now() + plan.ready_timeout;
        let started = Instant::now();
        let exclude = program.inspector_port;
        match &plan.load {
            LoadPlan::Http {
                url,
                connections,
                requests,
                duration,
                warmup,
                method,
                headers,
                body,
                allow_remote,
                drive,
            } => {
                self.ui
                    .status("waiting for the program to accept connections…");
                let addr = self.wait_for_url(program, url, *allow_remote, deadline, started)?;
                self.listen = Some(addr);
                let full = url.with(addr);
                self.ui
                    .note(&format!("the program is ready: load goes to {full}"));
                if let Some(cmd) = drive {
                    return Ok(Driver::Command(
                        cmd.replace("{port}", &addr.port().to_string()),
                    ));
                }
                Ok(Driver::Http(HttpLoad {
                    url: full,
                    connections: *connections,
                    requests: *requests,
                    duration: *duration,
                    warmup: *warmup,
                    method: method.clone(),
                    headers: headers.clone(),
                    body: body.clone(),
                    allow_remote: *allow_remote,
                }))
            }
            LoadPlan::Command(cmd) => {
                let needs_port = cmd.contains("{port}");
                // Without {port}: a program that does not listen within 2 s may not be a
                // server at all; go on.
                let until = if needs_port {
                    deadline
                } else {
                    deadline.min(Instant::now() + Duration::from_secs(2))
                };
                self.ui.status("waiting for the program to listen…");
                let found = self.wait_for_listener(program, exclude, until)?;
                self.listen = found;
                match found {
                    Some(a) => {
                        self.ui.note(&format!("the program listens on {a}"));
                        Ok(Driver::Command(cmd.replace("{port}", &a.port().to_string())))
                    }
                    None if needs_port => Err(Stop::Failed(format!(
                        "--drive uses {{port}}, but the program did not listen on a loopback TCP port within {} (--ready-timeout)",
                        duration::show(plan.ready_timeout)
                    ))),
                    None => Ok(Driver::Command(cmd.clone())),
                }
            }
            LoadPlan::Manual => {
                let until = deadline.min(Instant::now() + Duration::from_secs(2));
                self.listen = self.wait_for_listener(program, exclude, until)?;
                if let Some(a) = self.listen {
                    self.ui.note(&format!("the program listens on {a}"));
                }
                Ok(Driver::Manual(loader::Stdin::start()))
            }
        }
    }

    fn wait_for_listener(
        &mut self,
        program: &mut Program,
        exclude: u16,
        until: Instant,
    ) -> Result<Option<SocketAddr>, Stop> {
        loop {
            if let Some(s) = Self::check(program) {
                return Err(s);
            }
            if let Some(a) = listen::first_reachable(program.pid, exclude) {
                return Ok(Some(a));
            }
            if Instant::now() >= until {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_url(
        &mut self,
        program: &mut Program,
        url: &LoadUrl,
        allow_remote: bool,
        deadline: Instant,
        started: Instant,
    ) -> Result<SocketAddr, Stop> {
        let timeout = duration::show(self.plan.ready_timeout);
        let Some(port) = url.port else {
            // No port given: the one the program listens on.
            return match self.wait_for_listener(program, program.inspector_port, deadline)? {
                Some(a) => Ok(a),
                None => Err(Stop::Failed(format!(
                    "the program did not listen on a loopback TCP port within {timeout} (--ready-timeout); give the port in --load"
                ))),
            };
        };
        let addrs = url.resolve(port, allow_remote).map_err(Stop::Failed)?;
        let shown = url.with(addrs[0]);
        loop {
            if let Some(s) = Self::check(program) {
                return Err(s);
            }
            if let Some(a) = addrs.iter().find(|a| listen::accepts(**a)) {
                return Ok(*a);
            }
            // Refused while the program listens elsewhere: the port in --load is wrong.
            if started.elapsed() > Duration::from_millis(1500) {
                let others = listen::listeners(program.pid, program.inspector_port);
                if !others.is_empty() && !others.iter().any(|l| l.addr.port() == port) {
                    let list: Vec<String> = others.iter().map(|l| l.addr.to_string()).collect();
                    return Err(Stop::Failed(format!(
                        "the load target {shown} refuses connections, but the program listens on {}: check the port in --load (or leave it out to use the program's)",
                        list.join(", ")
                    )));
                }
            }
            if Instant::now() >= deadline {
                return Err(Stop::Failed(format!(
                    "the load target {shown} did not accept connections within {timeout} (--ready-timeout)"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
