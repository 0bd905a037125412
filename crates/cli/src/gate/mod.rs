//! The gate: a scenario (or HTTP load) run in rounds in a real node process, memory read
//! after a forced GC once the warm-up is done and after each round, judged by
//! [`judge::judge`]; on failure, snapshots from the first, middle and last rounds go
//! through the suspects analysis so the CI log says what leaks.

mod html;
pub mod judge;
mod junit;
mod render;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use heaphound_report::human_size;

use crate::capture::args::{headroom_guard, run_dir};
use crate::capture::listen::LoadUrl;
use crate::capture::ready::Waiter;
use crate::capture::ui::Ui;
use crate::capture::{signals, Program};
use crate::commands::gate::Args;
use crate::commands::{emit, Ctx};
use crate::load::InputError;
use heaphound_capture::gate::{self, GateError, GatePlan, RoundMemory, Work};
use heaphound_capture::run_dir::write_json;
use heaphound_capture::{files, LoadPlan};
use heaphound_model::gate::Iteration;
use judge::judge;
use render::{plural, user_command};

pub fn run(ctx: &Ctx, args: Args) -> Result<ExitCode> {
    signals::install();
    if args.iterations == 0 {
        return Err(InputError("--iterations must be at least 1".into()).into());
    }
    let headroom = headroom_guard(args.force, "--force")?;
    let http = match &args.http {
        Some(u) => Some(
            LoadUrl::parse(u)
                .map_err(|e| InputError(e.replace("--load", "--http")))
                .and_then(|url| match url.resolve(url.port.unwrap_or(80), false) {
                    Ok(_) => Ok(url),
                    // gate has no way to allow it: a gate measures this machine's program.
                    Err(e) => Err(InputError(format!(
                        "--http: {e}; gate loads this machine only"
                    ))),
                })?,
        ),
        None => None,
    };
    let dir = run_dir(args.out.as_deref(), 3)?;
    let (argv, scenario) = match http {
        Some(_) => (args.command.clone(), None),
        None => {
            let (argv, scenario) = gate::harness_argv(&args.command, &dir)?;
            (argv, Some(scenario))
        }
    };
    // Claimed for the whole gate, like a hunt's run folder.
    let _claim = heaphound_capture::run_dir::create(&dir).map_err(|e| InputError(e.to_string()))?;
    if scenario.is_some() {
        let harness = dir.join("gate-harness.js");
        files::write_atomic(&harness, gate::HARNESS.as_bytes())?;
    }
    let ui = Ui::new(ctx.quiet);
    let started = Instant::now();
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
    let per = if http.is_some() {
        Iteration::Request
    } else {
        Iteration::Call
    };
    let unit = per.as_str();
    let plan = GatePlan {
        iterations: args.iterations,
        rounds: args.rounds,
        warmup,
        timeout: args.timeout,
        dir: dir.clone(),
        unit,
        headroom,
    };
    let work = match http {
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
            waiter.ready(&mut program).map(Work::Http)
        }
        None => Ok(Work::Scenario { name: name.clone() }),
    };
    let run = gate::run_rounds(&plan, &mut program, work, &ui, &mut |rounds| {
        let j = judge(rounds, args.iterations, args.max_growth, per);
        let pass = j.pass;
        (j, pass)
    });
    let mut gate = Gate {
        args: &args,
        dir: &dir,
        warmup,
        rounds: run.rounds,
        snapshots: run.snapshots,
        snapshot_rounds: run.snapshot_rounds,
        unit,
    };
    let outcome = run.result;
    let how = program.finish();
    signals::release();
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
            if let Some(sig) = signals::interrupted() {
                ui.warn(&format!("gate: {msg}; the program {how}"));
                return Ok(ExitCode::from(sig.exit_code()));
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
            .then(|| crate::commands::suspects::judge(&files, ctx))
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
    Ok(match signals::interrupted() {
        Some(sig) => ExitCode::from(sig.exit_code()),
        None if j.pass => ExitCode::SUCCESS,
        None => ExitCode::from(1),
    })
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    Ok(files::write_atomic(path, text.as_bytes())?)
}

/// What the text, JSON, JUnit and HTML views are drawn from.
struct Gate<'a> {
    args: &'a Args,
    dir: &'a Path,
    warmup: u64,
    rounds: Vec<RoundMemory>,
    snapshots: Vec<PathBuf>,
    /// The round after which each snapshot was taken.
    snapshot_rounds: Vec<u32>,
    /// One iteration: `call` of a scenario, `request` to a server.
    unit: &'static str,
}
