//! `hunt` and `attach`: the capture playbook (in heaphound-capture), then the suspects
//! analysis of its snapshots, report.json, the HTML report and the text on stdout.

pub mod args;
pub mod header;
mod html;
pub mod ui;

pub use heaphound_capture::{
    alive, cmdline, duration, listen, open_inspector, ready, sampler, signals, trend, Program,
};

use std::process::ExitCode;

use anyhow::Result;
use heaphound_capture::playbook::{self, Outcome};
use heaphound_capture::report::Reported;

use crate::commands::suspects::Shown;
use crate::commands::{emit, Ctx};
use args::Plan;
use header::header;
use ui::Ui;

/// Runs the playbook on `program` and reports; returns the exit code.
pub fn run(ctx: &Ctx, plan: Plan, program: Program, command_name: &str) -> Result<ExitCode> {
    let ui = Ui::new(ctx.quiet);
    let cap = playbook::capture(&plan.capture, program, &ui)?;
    // The program is stopped (or left running, attached) and every session is closed.
    signals::release();
    let program = &cap.program;
    let how = &cap.how;
    let load_doc = &cap.load;
    let fault = &cap.fault;
    if let Some(few) = cap.too_few(command_name) {
        // Nothing captured is lost: the program, load, series and fault go into report.json
        // even with nothing to judge.
        let partial = heaphound_capture::report::too_few_report(
            &cap,
            &plan.capture.run_dir,
            plan.capture.interval,
        );
        let text = heaphound_capture::report::write(&plan.capture.run_dir, &partial.report)?;
        if plan.json {
            emit(&text)?;
        }
        if let Some(sig) = few.interrupted {
            ui.warn(&few.message);
            return Ok(ExitCode::from(sig.exit_code()));
        }
        return Err(crate::load::InputError(few.message).into());
    }

    let files = cap.snapshot_files();
    let judged = crate::commands::suspects::judge(&files, ctx)?;
    let Reported { report, trend } = heaphound_capture::report::run_report(
        &cap,
        &judged,
        &plan.capture.run_dir,
        plan.capture.interval,
        plan.top,
    );
    if let Some(w) = &trend.doc.warning {
        ui.warn(w);
    }
    let text = heaphound_capture::report::write(&plan.capture.run_dir, &report)?;
    html::write(&plan, &report, &judged, command_name, &ui)?;
    if plan.json {
        emit(&text)?;
    } else {
        let mut out = header(
            command_name,
            program,
            how,
            load_doc.as_ref(),
            &report.memory,
            &plan.capture.run_dir,
            fault,
        );
        out.push_str(&format!(
            "  trend    {}\n",
            heaphound_report::trend::verdict_line(&trend.verdict, &ctx.style)
        ));
        if let Some(w) = &trend.doc.warning {
            out.push_str(&format!("  warning  {w}\n"));
        }
        out.push('\n');
        out.push_str(&judged.to_text(plan.top, plan.verbose, &ctx.style));
        emit(&out)?;
    }
    if let Some(l) = judged.loaded.last() {
        crate::sources::print_notes(&l.sources, ctx.quiet);
    }
    // A signal, whatever the snapshots taken so far say; one that came during the
    // analysis too: the run was asked to stop.
    Ok(
        match (cap.outcome(judged.is_leak()), signals::interrupted()) {
            (Outcome::Interrupted(sig), _) | (_, Some(sig)) => ExitCode::from(sig.exit_code()),
            (Outcome::NoLeak, None) => ExitCode::SUCCESS,
            (Outcome::Leak, None) => ExitCode::from(1),
            (Outcome::CutShort, None) => ExitCode::from(2),
        },
    )
}
