//! `gate`: a scenario (or HTTP requests) run in rounds, memory measured after a full GC
//! each round; snapshots at the first and middle rounds, and at the last when the judge
//! says the gate fails. The rule itself is the caller's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use heaphound_inspector::{ConnectOptions, InspectorError, Session};
use heaphound_model::units::group;
use serde_json::json;

use crate::headroom::{self, Guard};
use crate::loader::{Driver, Phase};
use crate::{check, duration, signals, CaptureError, Observer, Program, SnapshotTicker, Stop};

/// The harness that runs a scenario's `run(n)` in the program, written beside the run.
pub const HARNESS: &str = include_str!("gate_harness.js");

/// Memory after one round, once garbage is collected.
#[derive(Debug, Clone, Copy)]
pub struct RoundMemory {
    /// 0 is the baseline after the warm-up.
    pub round: u32,
    pub heap_used: u64,
    pub heap_total: u64,
    pub external: u64,
    pub elapsed_ms: u64,
}

impl RoundMemory {
    /// What the gate measures: the JS heap plus memory outside it that JS objects own
    /// (Buffers, ArrayBuffers), so leaks of either kind count.
    pub fn retained(&self) -> u64 {
        self.heap_used + self.external
    }
}

/// How many rounds of how much.
pub struct GatePlan {
    pub iterations: u64,
    pub rounds: u32,
    pub warmup: u64,
    /// How long one inspector call (one round of a scenario) may take.
    pub timeout: Duration,
    /// The run folder.
    pub dir: PathBuf,
    /// One iteration: `call` of a scenario, `request` to a server.
    pub unit: &'static str,
    /// Checked before each snapshot: whether the program has the memory for it.
    pub headroom: Guard,
}

/// Why a gate could not judge.
pub enum GateError {
    Msg(String),
    /// The program ended during this step; how is known once our session is closed (Node
    /// may wait for it before it exits).
    Ended(String),
}

/// What each round runs.
pub enum Work {
    Scenario { name: String },
    Http(Driver),
}

/// What the rounds left, whatever their end.
pub struct GateRun<J> {
    pub rounds: Vec<RoundMemory>,
    pub snapshots: Vec<PathBuf>,
    /// The round after which each snapshot was taken.
    pub snapshot_rounds: Vec<u32>,
    pub result: Result<J, GateError>,
}

/// Runs the warm-up, the baseline and every round on `program`; `judge` tells, from the
/// rounds, the judgement and whether the gate passes.
pub fn run_rounds<J>(
    plan: &GatePlan,
    program: &mut Program,
    work: Result<Work, Stop>,
    ui: &dyn Observer,
    judge: &mut dyn FnMut(&[RoundMemory]) -> (J, bool),
) -> GateRun<J> {
    let mut gate = Gate {
        plan,
        ui,
        rounds: Vec::new(),
        snapshots: Vec::new(),
        snapshot_rounds: Vec::new(),
        unit: plan.unit,
        place: "start-up".into(),
        warmup: plan.warmup,
    };
    let result = match work {
        Ok(work) => gate.run(program, work, judge),
        Err(s) => Err(gate.stopped(program, s)),
    };
    GateRun {
        rounds: gate.rounds,
        snapshots: gate.snapshots,
        snapshot_rounds: gate.snapshot_rounds,
        result,
    }
}

/// `1,000 calls`, `1 request`.
pub fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", group(n), if n == 1 { "" } else { "s" })
}

/// `node [node options] scenario.js [args]` → `node [node options] HARNESS scenario.js
/// [args]`; a command starting with the script gets `node` in front.
pub fn harness_argv(
    command: &[OsString],
    dir: &Path,
) -> Result<(Vec<OsString>, String), CaptureError> {
    let mut argv = command.to_vec();
    let is_script = |a: &OsString| {
        let a = a.to_string_lossy();
        [".js", ".mjs", ".cjs", ".ts"]
            .iter()
            .any(|e| a.ends_with(e))
    };
    if argv.first().is_some_and(is_script) {
        argv.insert(0, "node".into());
    }
    let at = argv
        .iter()
        .skip(1)
        .position(|a| !a.to_string_lossy().starts_with('-'))
        .map(|i| i + 1)
        .ok_or_else(|| {
            CaptureError::Usage(
                "gate: no scenario file in the command (expected `node scenario.js`)".into(),
            )
        })?;
    let scenario = PathBuf::from(&argv[at]);
    if !scenario.is_file() {
        return Err(CaptureError::Usage(format!(
            "gate: {}: no such scenario file",
            scenario.display()
        )));
    }
    let name = argv[at].to_string_lossy().into_owned();
    argv.insert(at, dir.join("gate-harness.js").into_os_string());
    Ok((argv, name))
}

struct Gate<'a> {
    plan: &'a GatePlan,
    ui: &'a dyn Observer,
    warmup: u64,
    rounds: Vec<RoundMemory>,
    snapshots: Vec<PathBuf>,
    snapshot_rounds: Vec<u32>,
    unit: &'static str,
    /// Where we are, for messages.
    place: String,
}

impl Gate<'_> {
    /// The warm-up, the baseline and every round; snapshots at the first and middle rounds,
    /// and at the last when the gate fails.
    fn run<J>(
        &mut self,
        program: &mut Program,
        work: Work,
        judge: &mut dyn FnMut(&[RoundMemory]) -> (J, bool),
    ) -> Result<J, GateError> {
        let opts = ConnectOptions {
            idle_timeout: self.plan.timeout,
            ..ConnectOptions::default()
        };
        let mut session = Session::connect(&program.ws_url, &opts)
            .and_then(|mut s| s.enable_heap_profiler().map(|_| s))
            .map_err(|e| self.fault(program, e))?;
        // A stopped gate judges nothing, so the first signal cuts the session: a round
        // (which may run up to --timeout) or a snapshot in flight is abandoned.
        let cut = signals::cut_on_signal(1, &session);
        let r = self.rounds_on(&mut session, program, &work, judge);
        drop(cut);
        if r.is_ok() && !self.snapshots.is_empty() && check(program).is_none() {
            self.record_scripts(&mut session, program.pid);
        }
        if let Work::Scenario { .. } = work {
            // Lets the harness's process end by itself once we are gone.
            let _ = session.evaluate("globalThis.__heaphoundGate.stop()");
        }
        session.close();
        r
    }

    fn rounds_on<J>(
        &mut self,
        session: &mut Session,
        program: &mut Program,
        work: &Work,
        judge: &mut dyn FnMut(&[RoundMemory]) -> (J, bool),
    ) -> Result<J, GateError> {
        let args = self.plan;
        if let Work::Scenario { name } = work {
            self.place = "loading the scenario".into();
            self.ui.status(&format!("loading {name}…"));
            // The inspector opens before Node runs the main script: wait for the harness.
            let until = Instant::now() + Duration::from_secs(20);
            loop {
                let probe = session.evaluate("typeof globalThis.__heaphoundGate === 'object'");
                if probe.map_err(|e| self.fault(program, e))? == json!(true) {
                    break;
                }
                if let Some(s) = check(program) {
                    return Err(self.stopped(program, s));
                }
                if Instant::now() >= until {
                    return Err(GateError::Msg(format!(
                        "{name}: the program did not start the scenario within 20 s"
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if let Err(e) = session.evaluate_awaited("globalThis.__heaphoundGate.ready()") {
                return Err(self.scenario_fault(program, name, 0, e));
            }
        }
        let mid = args.rounds.div_ceil(2);
        for round in 0..=args.rounds {
            let n = if round == 0 {
                self.warmup
            } else {
                args.iterations
            };
            self.place = if round == 0 {
                "the warm-up".into()
            } else {
                format!("round {round}/{}", args.rounds)
            };
            if let Some(s) = check(program) {
                return Err(self.stopped(program, s));
            }
            let started = Instant::now();
            if n > 0 {
                self.ui
                    .status(&format!("{}: {}…", self.place, plural(n, self.unit)));
                match work {
                    Work::Scenario { name } => {
                        let call = format!("globalThis.__heaphoundGate.run({n})");
                        if let Err(e) = session.evaluate_awaited(&call) {
                            return Err(self.scenario_fault(program, name, n, e));
                        }
                    }
                    Work::Http(driver) => self.load_round(driver, round, program)?,
                }
            }
            let m = self.measure(session, program, round, started)?;
            self.ui
                .round_done(&self.place, &plural(n, self.unit), started.elapsed(), &m);
            self.rounds.push(m);
            if round == 1 || round == mid {
                self.snapshot(session, program, round)?;
            }
        }
        let (j, pass) = judge(&self.rounds);
        if !pass {
            self.place = "the last snapshot".into();
            self.snapshot(session, program, args.rounds)?;
        }
        self.ui.clear();
        Ok(j)
    }

    fn load_round(
        &mut self,
        driver: &Driver,
        round: u32,
        program: &mut Program,
    ) -> Result<(), GateError> {
        let phase = Phase {
            key: format!("round-{round}"),
            title: self.place.clone(),
            warmup: round == 0,
            prompt: String::new(),
        };
        let mut tick = || {
            let s = check(program);
            if s.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
            s
        };
        let (_, stop) = driver.run(&phase, self.ui, &mut tick);
        match stop {
            None => Ok(()),
            Some(s) => Err(self.stopped(program, s)),
        }
    }

    fn measure(
        &mut self,
        session: &mut Session,
        program: &mut Program,
        round: u32,
        started: Instant,
    ) -> Result<RoundMemory, GateError> {
        // Two collections: the first may only queue finalizers and weak callbacks that the
        // second then frees.
        for _ in 0..2 {
            session
                .collect_garbage()
                .map_err(|e| self.fault(program, e))?;
        }
        let m = session.memory_usage().map_err(|e| self.fault(program, e))?;
        Ok(RoundMemory {
            round,
            heap_used: m.heap_used,
            heap_total: m.heap_total,
            external: m.external,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// `scripts.json` beside the snapshots, so that their analysis finds the source maps
    /// the process reported; without it they are found from the script files alone.
    fn record_scripts(&mut self, session: &mut Session, pid: u32) {
        let scripts = crate::scripts::Recorder::default();
        session.set_event_handler(Some(scripts.handler()));
        let asked = crate::scripts::Recorder::ask(session);
        session.set_event_handler(None);
        let written = asked
            .map_err(|e| format!("the inspector refused Debugger.enable: {e}"))
            .and_then(|_| {
                scripts
                    .write(&self.plan.dir, pid)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            self.ui.warn(&format!(
                "scripts.json is not written ({e}); source maps are then found from the script files alone"
            ));
        }
    }

    fn snapshot(
        &mut self,
        session: &mut Session,
        program: &mut Program,
        round: u32,
    ) -> Result<(), GateError> {
        let k = self.snapshots.len() + 1;
        let path = self.plan.dir.join(format!("{k}.heapsnapshot"));
        let title = format!("snapshot {k} ({})", self.place);
        // The heap as the last round left it, measured again: the judge may have run since.
        let heap_used = session.heap_usage().ok().map(|(used, _)| used);
        let guard = &self.plan.headroom;
        headroom::ensure(Some(program.pid), heap_used, guard, self.ui, Some(&title))
            .map_err(|r| GateError::Msg(format!("{title}: {r}")))?;
        let mut ticker = SnapshotTicker::new(self.ui, &title);
        let taken = session.take_heap_snapshot(&path, &mut |p| ticker.tick(p));
        if taken.is_ok() {
            if let Err(e) = crate::snapshot::check_whole(&path) {
                return Err(GateError::Msg(format!(
                    "{title}: {}",
                    crate::error_chain(&e)
                )));
            }
        }
        match taken {
            Ok(_) => {
                self.snapshots.push(path);
                self.snapshot_rounds.push(round);
                for _ in 0..2 {
                    session
                        .collect_garbage()
                        .map_err(|e| self.fault(program, e))?;
                }
                Ok(())
            }
            Err(e) => Err(self.fault(program, e)),
        }
    }

    /// An inspector call failed: say why in the words of what happened to the program.
    fn fault(&mut self, program: &mut Program, e: InspectorError) -> GateError {
        if let Some(sig) = signals::interrupted() {
            return GateError::Msg(format!("{} during {}", sig.cause(), self.place));
        }
        match program.gone_soon() {
            Some(_) => GateError::Ended(self.place.clone()),
            None => GateError::Msg(format!("{} failed: {e}", self.place)),
        }
    }

    fn stopped(&mut self, program: &mut Program, s: Stop) -> GateError {
        match s {
            Stop::Interrupted(sig) => {
                GateError::Msg(format!("{} during {}", sig.cause(), self.place))
            }
            Stop::Ended => {
                let _ = program.gone_soon();
                GateError::Ended(self.place.clone())
            }
            Stop::Failed(msg) => GateError::Msg(msg),
        }
    }

    fn scenario_fault(
        &mut self,
        program: &mut Program,
        name: &str,
        n: u64,
        e: InspectorError,
    ) -> GateError {
        match e {
            InspectorError::Evaluation(stack) => {
                GateError::Msg(format!("{name} threw during {}: {stack}", self.place))
            }
            InspectorError::Timeout { .. } => GateError::Msg(format!(
                "{name}: {} ({}) did not finish within {} (--timeout); does it return a promise that never settles?",
                self.place,
                plural(n, self.unit),
                duration::show(self.plan.timeout)
            )),
            e => self.fault(program, e),
        }
    }
}
