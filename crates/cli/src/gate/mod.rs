//! The gate: a scenario (or HTTP load) run in rounds in a real node process, memory read
//! after a forced GC once the warm-up is done and after each round, judged by
//! [`judge::judge`]; on failure, snapshots from the first, middle and last rounds go
//! through the suspects analysis so the CI log says what leaks.

mod html;
pub mod judge;
mod junit;
mod render;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use heaphound_inspector::{ConnectOptions, InspectorError, Session};
use heaphound_report::human_size;
use serde_json::json;

use crate::capture::args::run_dir;
use crate::capture::listen::LoadUrl;
use crate::capture::loader::{Driver, Phase};
use crate::capture::ready::Waiter;
use crate::capture::ui::Ui;
use crate::capture::{check, duration, signals, Program, Stop};
use crate::commands::gate::Args;
use crate::commands::{emit, Ctx};
use crate::load::InputError;
use heaphound_capture::run_dir::write_json;
use heaphound_capture::LoadPlan;
use judge::{judge, Judgement, RoundMemory};
use render::{plural, user_command};

const HARNESS: &str = include_str!("harness.js");

/// Why a gate could not judge (exit code 2).
enum GateError {
    Msg(String),
    /// The program ended during this step; how is known once our session is closed (Node
    /// may wait for it before it exits).
    Ended(String),
}

enum Work {
    Scenario { name: String },
    Http(Driver),
}

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    if args.iterations == 0 {
        return Err(InputError("--iterations must be at least 1".into()).into());
    }
    let http = match &args.http {
        Some(u) => Some(
            LoadUrl::parse(u)
                .and_then(|url| url.resolve(url.port.unwrap_or(80), false).map(|_| url))
                .map_err(|e| InputError(e.replace("--load", "--http")))?,
        ),
        None => None,
    };
    let dir = run_dir(args.out.as_deref(), 3)?;
    let (argv, scenario) = match http {
        Some(_) => (args.command.clone(), None),
        None => {
            let (argv, scenario) = harness_argv(&args.command, &dir)?;
            (argv, Some(scenario))
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| {
        InputError(format!(
            "{}: cannot create the run folder: {e}",
            dir.display()
        ))
    })?;
    if scenario.is_some() {
        let harness = dir.join("gate-harness.js");
        std::fs::write(&harness, HARNESS)
            .with_context(|| format!("{}: cannot write", harness.display()))?;
    }
    let ui = Ui::new(ctx.quiet);
    let started = Instant::now();
    signals::install();
    let mut program = Program::start(
        argv,
        Duration::from_secs(20),
        std::sync::Arc::new(crate::capture::ui::line),
    )?;
    let name = scenario.clone().unwrap_or_else(|| program.command.clone());
    ui.note(&format!(
        "started `{}` (PID {}); run folder {}",
        program.command,
        program.pid,
        dir.display()
    ));
    let warmup = args.warmup.unwrap_or(args.iterations);
    let mut gate = Gate {
        args: &args,
        ui,
        dir: &dir,
        warmup,
        rounds: Vec::new(),
        snapshots: Vec::new(),
        snapshot_rounds: Vec::new(),
        unit: if http.is_some() { "request" } else { "call" },
        place: "start-up".into(),
    };
    let outcome = match http {
        Some(url) => {
            let load = LoadPlan::Http {
                url,
                connections: args.connections,
                requests: Some(args.iterations),
                duration: None,
                warmup,
                method: "GET".into(),
                headers: Vec::new(),
                body: None,
                allow_remote: false,
                drive: None,
            };
            let mut waiter = Waiter {
                load: &load,
                ready_timeout: Duration::from_secs(20),
                ui: &ui,
                listen: None,
            };
            match waiter.ready(&mut program) {
                Ok(driver) => gate.run(&mut program, Work::Http(driver)),
                Err(s) => Err(gate.stopped(&mut program, s)),
            }
        }
        None => gate.run(&mut program, Work::Scenario { name: name.clone() }),
    };
    let how = program.finish();
    let elapsed = started.elapsed();
    let j = match outcome {
        Ok(j) => j,
        Err(e) => {
            let msg = match e {
                GateError::Msg(msg) => msg,
                GateError::Ended(place) => format!("the program {how} during {place}"),
            };
            if let Some(path) = &args.junit {
                let xml = junit::render(
                    &name,
                    elapsed.as_secs_f64(),
                    &junit::Outcome::Error(&msg),
                    "",
                );
                write_file(path, &xml)?;
            }
            return Err(InputError(format!("gate: {msg}")).into());
        }
    };
    let suspects = if j.pass {
        if !args.keep_snapshots {
            for f in &gate.snapshots {
                let _ = std::fs::remove_file(f);
            }
            gate.snapshots.clear();
        }
        None
    } else {
        let files: Vec<String> = gate
            .snapshots
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        (files.len() >= 2)
            .then(|| crate::commands::suspects::judge(&files, ctx.quiet))
            .transpose()?
    };
    let doc = gate.to_json(&j, &name, scenario.is_some(), suspects.as_ref(), elapsed);
    write_json(&dir.join("gate.json"), &doc)?;
    let text = gate.to_text(&j, &name, suspects.as_ref(), &ctx.style);
    if let Some(path) = &args.junit {
        let outcome = if j.pass {
            junit::Outcome::Pass
        } else {
            junit::Outcome::Fail(&j.reason, &text)
        };
        let xml = junit::render(&name, elapsed.as_secs_f64(), &outcome, &gate.rounds_table());
        write_file(path, &xml)?;
    }
    if let Some(path) = &args.html {
        let page = html::Page {
            name: &name,
            judgement: &j,
            rounds: &gate.rounds,
            snapshot_rounds: &gate.snapshot_rounds,
            suspects: suspects.as_ref(),
            facts: vec![
                ("command".into(), user_command(&args.command)),
                (
                    "rounds".into(),
                    format!(
                        "{} × {} rounds after {} warm-up, --max-growth {}",
                        plural(args.iterations, gate.unit),
                        args.rounds,
                        plural(warmup, gate.unit),
                        human_size(args.max_growth)
                    ),
                ),
                ("run".into(), dir.display().to_string()),
            ],
        };
        let bytes = html::write(page, args.top, path, !args.no_redact)?;
        ui.note(&format!(
            "HTML report {} ({}{})",
            path.display(),
            human_size(bytes),
            if args.no_redact { "" } else { ", redacted" }
        ));
    }
    if args.json {
        let mut s = serde_json::to_string_pretty(&doc)?;
        s.push('\n');
        emit(&s)?;
    } else {
        emit(&text)?;
    }
    Ok(if j.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// `node [node options] scenario.js [args]` → `node [node options] HARNESS scenario.js
/// [args]`; a command starting with the script gets `node` in front.
fn harness_argv(command: &[OsString], dir: &Path) -> Result<(Vec<OsString>, String)> {
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
            InputError("gate: no scenario file in the command (expected `node scenario.js`)".into())
        })?;
    let scenario = PathBuf::from(&argv[at]);
    if !scenario.is_file() {
        return Err(InputError(format!(
            "gate: {}: no such scenario file",
            scenario.display()
        ))
        .into());
    }
    let name = argv[at].to_string_lossy().into_owned();
    argv.insert(at, dir.join("gate-harness.js").into_os_string());
    Ok((argv, name))
}

struct Gate<'a> {
    args: &'a Args,
    ui: Ui,
    dir: &'a Path,
    warmup: u64,
    rounds: Vec<RoundMemory>,
    snapshots: Vec<PathBuf>,
    /// The round after which each snapshot was taken.
    snapshot_rounds: Vec<u32>,
    /// One iteration: `call` of a scenario, `request` to a server.
    unit: &'static str,
    /// Where we are, for messages.
    place: String,
}

impl Gate<'_> {
    /// The warm-up, the baseline and every round; snapshots at the first and middle rounds,
    /// and at the last when the gate fails.
    fn run(&mut self, program: &mut Program, work: Work) -> Result<Judgement, GateError> {
        let opts = ConnectOptions {
            idle_timeout: self.args.timeout,
            ..ConnectOptions::default()
        };
        let mut session = Session::connect(&program.ws_url, &opts)
            .and_then(|mut s| s.enable_heap_profiler().map(|_| s))
            .map_err(|e| self.fault(program, e))?;
        let r = self.rounds_on(&mut session, program, &work);
        if let Work::Scenario { .. } = work {
            // Lets the harness's process end by itself once we are gone.
            let _ = session.evaluate("globalThis.__heaphoundGate.stop()");
        }
        session.close();
        r
    }

    fn rounds_on(
        &mut self,
        session: &mut Session,
        program: &mut Program,
        work: &Work,
    ) -> Result<Judgement, GateError> {
        let args = self.args;
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
            self.ui.step(&format!(
                "{}: {} in {:.1}s, retained {} (heap {}, external {})",
                self.place,
                plural(n, self.unit),
                started.elapsed().as_secs_f64(),
                human_size(m.retained()),
                human_size(m.heap_used),
                human_size(m.external)
            ));
            self.rounds.push(m);
            if round == 1 || round == mid {
                self.snapshot(session, program, round)?;
            }
        }
        let j = judge(&self.rounds, args.iterations, args.max_growth, self.unit);
        if !j.pass {
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
        let (_, stop) = driver.run(&phase, &self.ui, &mut tick);
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

    fn snapshot(
        &mut self,
        session: &mut Session,
        program: &mut Program,
        round: u32,
    ) -> Result<(), GateError> {
        let k = self.snapshots.len() + 1;
        let path = self.dir.join(format!("{k}.heapsnapshot"));
        let title = format!("snapshot {k} ({})", self.place);
        let ui = self.ui;
        let taken = session.take_heap_snapshot(&path, &mut ui.snapshot_progress(&title));
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
        if signals::interrupted() {
            return GateError::Msg(format!("interrupted (Ctrl-C) during {}", self.place));
        }
        match program.gone_soon() {
            Some(_) => GateError::Ended(self.place.clone()),
            None => GateError::Msg(format!("{} failed: {e}", self.place)),
        }
    }

    fn stopped(&mut self, program: &mut Program, s: Stop) -> GateError {
        match s {
            Stop::Interrupted => {
                GateError::Msg(format!("interrupted (Ctrl-C) during {}", self.place))
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
                duration::show(self.args.timeout)
            )),
            e => self.fault(program, e),
        }
    }
}
