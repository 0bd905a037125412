//! The playbook `hunt` and `attach` share: wait until the program is ready, warm it up,
//! then GC + snapshot and load in turns, sampling memory all along. A fault keeps what was
//! captured and says, in one line, what happened.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use heaphound_inspector::{ConnectOptions, InspectorError, Session};
use heaphound_model::load::LoadDoc;
use serde_json::json;

use crate::headroom;
use crate::loader::{self, Driver, Phase, PhaseRecord};
use crate::ready::Waiter;
use crate::run_dir::write_json;
use crate::sampler::{Sampler, Series, SharedSeries};
use crate::signals::Signal;
use crate::{
    check, error_chain, signals, CaptureError, CapturePlan, Observer, Program, SnapshotTicker, Stop,
};

/// What a capture left: the snapshots taken, the memory series, the load figures, and the
/// fault that cut it short, if one did. The program is stopped (or, attached, left running).
pub struct Captured {
    pub program: Program,
    /// How the program ended: "exited with status 0", "still running", …
    pub how: String,
    pub snapshots: Vec<PathBuf>,
    pub series: SharedSeries,
    /// load.json as written: none when the program never got ready for load.
    pub load: Option<LoadDoc>,
    /// Why the capture stopped early, if it did.
    pub stop: Option<Stop>,
    /// The fault in one line, with what was kept.
    pub fault: Option<String>,
    /// Where the program listens, when known.
    pub listen: Option<SocketAddr>,
}

impl Captured {
    /// The signal that stopped the capture, if one did.
    pub fn interrupted(&self) -> Option<Signal> {
        match self.stop {
            Some(Stop::Interrupted(sig)) => Some(sig),
            _ => None,
        }
    }

    /// Two snapshots or more are needed to find a leak; with fewer, what to say and which
    /// signal, if one, was the cause.
    pub fn too_few(&self, command_name: &str) -> Option<TooFew> {
        let kept = self.snapshots.len();
        (kept < 2).then(|| TooFew {
            message: format!(
                "{command_name}: only {kept} snapshot{} captured, at least 2 are needed to find a leak",
                if kept == 1 { " was" } else { "s were" }
            ),
            interrupted: self.interrupted(),
        })
    }

    /// How the run ends, once its snapshots are judged.
    pub fn outcome(&self, leak: bool) -> Outcome {
        if let Some(sig) = self.interrupted() {
            Outcome::Interrupted(sig)
        } else if leak {
            Outcome::Leak
        } else if self.fault.is_some() {
            // A run cut short that found no leak has not shown there is none.
            Outcome::CutShort
        } else {
            Outcome::NoLeak
        }
    }

    pub fn snapshot_files(&self) -> Vec<String> {
        self.snapshots
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }
}

/// Fewer than two snapshots were captured.
pub struct TooFew {
    pub message: String,
    pub interrupted: Option<Signal>,
}

/// How a hunt or attach ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    NoLeak,
    Leak,
    /// Cut short by a fault, and no leak found: nothing is shown either way.
    CutShort,
    /// A stopping signal (Ctrl-C, SIGTERM, SIGHUP), whatever the snapshots taken so far say.
    Interrupted(Signal),
}

/// Runs the playbook on `program`, writing `memory.jsonl`, the snapshots and `load.json`
/// into the plan's run folder (which must exist).
pub fn capture(
    plan: &CapturePlan,
    mut program: Program,
    ui: &dyn Observer,
) -> Result<Captured, CaptureError> {
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
        Err(source) => {
            let how = program.finish();
            return Err(CaptureError::Inspector {
                pid: program.pid,
                how,
                source,
            });
        }
    };
    // A second signal cuts the session of a program we started (it is stopped anyway), so
    // a snapshot in flight is abandoned (and its `.partial` removed) instead of awaited. Not
    // an attached one: Node 20 was seen to die of SIGSEGV when its inspector connection was
    // cut mid-snapshot, and the user's process must outlive heaphound.
    let cut = if program.is_spawned() {
        signals::cut_on_signal(2, &session)
    } else {
        None
    };
    // Of the events, only the scripts that name a source map are kept (for scripts.json);
    // the rest (tracking statistics) are never queued.
    let scripts = crate::scripts::Recorder::default();
    session.set_event_handler(Some(scripts.handler()));
    let mut sampler = match Sampler::start(
        &program.ws_url,
        series.clone(),
        plan.interval,
        program.is_spawned(),
    ) {
        Ok(s) => Some(s),
        Err(e) => {
            ui.warn(&format!("memory sampling is off: {}", error_chain(&e)));
            None
        }
    };

    let mut cap = Capture {
        plan,
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
    if program.gone().is_none() {
        if let Err(e) = crate::scripts::Recorder::ask(&mut session) {
            ui.warn(&format!(
                "scripts.json is not written (the inspector refused Debugger.enable: {e}); source maps are then found from the script files alone"
            ));
        }
    }
    if cap.tracking && program.gone().is_none() {
        // Stops allocation tracking without the snapshot stopTrackingHeapObjects would send.
        let _ = session.call("HeapProfiler.disable", json!({}));
    }
    // Node waits for a connected debugger before it exits: close first, then stop.
    drop(cut);
    session.close();
    let how = program.finish();

    if let Err(e) = scripts.write(&plan.run_dir, program.pid) {
        ui.warn(&format!("scripts.json: {e}"));
    }
    let load_doc = driver.as_ref().map(|d| loader::to_doc(d, &cap.records));
    write_json(&plan.run_dir.join("load.json"), &load_doc)?;
    if let Some(e) = series
        .lock()
        .ok()
        .and_then(|s| s.write_error().map(String::from))
    {
        ui.warn(&format!("memory.jsonl is incomplete: {e}"));
    }

    let fault = stop
        .as_ref()
        .map(|s| fault_line(s, &cap.place, &program, &how, cap.snapshots.len(), plan));
    if let Some(f) = &fault {
        ui.warn(f);
    }
    let Capture {
        snapshots, listen, ..
    } = cap;
    Ok(Captured {
        program,
        how,
        snapshots,
        series,
        load: load_doc,
        stop,
        fault,
        listen,
    })
}

/// "the program exited with status 1 during load 1/2; kept 1 snapshot in …".
fn fault_line(
    stop: &Stop,
    place: &str,
    program: &Program,
    how: &str,
    kept: usize,
    plan: &CapturePlan,
) -> String {
    let what = match stop {
        Stop::Interrupted(sig) => format!(
            "{} during {place}{}",
            sig.cause(),
            if program.is_spawned() {
                "; the program was stopped"
            } else {
                ""
            }
        ),
        // How it ended is known only now that our sessions are closed.
        Stop::Ended => format!("the program {how} during {place}"),
        Stop::Failed(msg) => msg.clone(),
    };
    format!(
        "{what}; kept {kept} snapshot{} in {}",
        if kept == 1 { "" } else { "s" },
        plan.run_dir.display()
    )
}

struct Capture<'a> {
    plan: &'a CapturePlan,
    ui: &'a dyn Observer,
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
        let mut waiter = Waiter {
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
        let (record, stop) = driver.run(&phase, self.ui, &mut tick);
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
        if let Some(sig) = signals::interrupted() {
            return Stop::Interrupted(sig);
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
        let heap_used = session.memory_usage().ok().map(|m| {
            if let Ok(mut s) = self.series.lock() {
                s.record(&m, Some(k));
            }
            m.heap_used
        });
        // Memory grows during a run: each snapshot is weighed against what is left now. A
        // refusal ends the run as any fault does, keeping what was captured.
        let guard = &self.plan.headroom;
        headroom::ensure(Some(program.pid), heap_used, guard, self.ui, Some(&title))
            .map_err(|r| Stop::Failed(format!("{title}: {r}")))?;
        let path = self.plan.run_dir.join(format!("{k}.heapsnapshot"));
        let mut ticker = SnapshotTicker::new(self.ui, &title);
        match session.take_heap_snapshot(&path, &mut |p| ticker.tick(p)) {
            Ok(bytes) => {
                if let Err(e) = crate::snapshot::check_whole(&path) {
                    return Err(Stop::Failed(format!("{title}: {}", error_chain(&e))));
                }
                self.ui
                    .snapshot_written(&title, &path, bytes, started.elapsed());
                self.snapshots.push(path);
                Ok(())
            }
            Err(e) => Err(self.inspector_fault(program, &title, e)),
        }
    }
}
