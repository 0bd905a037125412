//! The capture playbook `hunt` and `attach` share: wait until the program is ready, warm it
//! up, then GC + snapshot and load in turns, sampling memory all along; then judge the
//! snapshots with the suspects analysis. Everything lands in a run folder, and a fault (the
//! program ends, Ctrl-C, the inspector drops, the load target refuses) keeps what was
//! captured and reports on it when there are two snapshots or more.

pub mod args;
pub mod duration;
pub mod header;
mod html;
pub mod listen;
pub mod loader;
pub mod program;
pub mod ready;
pub mod sampler;
pub mod signals;
pub mod trend;
pub mod ui;

pub use program::{alive, cmdline, Program};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use heaphound_inspector::{ConnectOptions, InspectorError, Session};
use heaphound_report::human_size;
use serde_json::{json, Value};

use crate::commands::suspects::Judged;
use crate::commands::{emit, Ctx};
use args::Plan;
use header::{header, write_json};
use loader::{Driver, Phase, PhaseRecord};
use sampler::{Sampler, Series, SharedSeries};
use ui::Ui;

/// Why a capture ended before its last snapshot.
#[derive(Debug, Clone)]
pub enum Stop {
    /// Ctrl-C.
    Interrupted,
    /// The program ended on its own (how is told once our sessions are closed: Node may
    /// wait for them before it exits).
    Ended,
    /// Anything else, in one line.
    Failed(String),
}

/// Ctrl-C exits with 130, whatever the analysis of the snapshots taken so far says.
const EXIT_INTERRUPTED: u8 = 130;

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
            // How it ended is known only now that our sessions are closed.
            Stop::Ended => format!("the program {how} during {}", cap.place),
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
    // Kept in report.json so `heaphound report` can draw them without the snapshots.
    crate::html_out::add_overview(&mut doc, &judged.loaded);
    let mut text = serde_json::to_string_pretty(&doc)?;
    text.push('\n');
    std::fs::write(plan.run_dir.join("report.json"), &text)
        .with_context(|| format!("{}: cannot write report.json", plan.run_dir.display()))?;
    html::write(&plan, &doc, &judged, command_name, &ui)?;
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
    // A run cut short that found no leak has not shown there is none.
    if fault.is_some() && !judged.is_leak() {
        return Ok(ExitCode::from(2));
    }
    Ok(judged.exit_code())
}

/// Ctrl-C, or the program ended (or is ending).
pub fn check(program: &mut Program) -> Option<Stop> {
    if signals::interrupted() {
        return Some(Stop::Interrupted);
    }
    if program.exiting() {
        return Some(Stop::Ended);
    }
    program.gone().map(|_| Stop::Ended)
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

    /// Readiness, the warm-up and the snapshots with load between them. Returns the driver
    /// (once the program was ready) and why the capture stopped early, if it did.
    fn run_all(
        &mut self,
        program: &mut Program,
        session: &mut Session,
    ) -> (Option<Driver>, Option<Stop>) {
        self.set_phase("startup", "start-up".into());
        let mut waiter = ready::Waiter {
            load: &self.plan.load,
            ready_timeout: self.plan.ready_timeout,
            ui: self.ui,
            listen: None,
        };
        let ready = waiter.ready(program);
        self.listen = waiter.listen;
        let driver = match ready {
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
                if let Some(s) = check(program) {
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
        if let Some(s) = check(program) {
            return Err(s);
        }
        let tracking = self.tracking;
        let pump_ok = &mut self.pump_ok;
        let mut tick = || {
            if let Some(s) = check(program) {
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
                Some(_) => Err(Stop::Ended),
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
            Some(_) => Stop::Ended,
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
        if let Some(s) = check(program) {
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
}
