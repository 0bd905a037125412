//! What a capture says before the suspects report: what ran, the load, memory, the run
//! folder and any fault; and the JSON files it leaves in the run folder.

use std::path::Path;

use heaphound_model::load::LoadDoc;
use heaphound_model::run::RunMemory;
use heaphound_report::{group, human_size};

use super::Program;

/// What ran, before the suspects report.
pub fn header(
    command_name: &str,
    program: &Program,
    how: &str,
    load: Option<&LoadDoc>,
    memory: &RunMemory,
    run_dir: &Path,
    fault: &Option<String>,
) -> String {
    let mut s = format!(
        "heaphound {command_name}: {} (PID {}, {how})\n",
        program.command, program.pid
    );
    let phases = load.map_or(0, |l| l.phases().len());
    let load_line = match load {
        Some(LoadDoc::Http(h)) => format!(
            "{} {}, {} connections: {} requests in {phases} phases ({} errors, {} non-2xx), latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            h.method,
            h.url,
            h.connections,
            group(h.requests),
            group(h.errors),
            group(h.non_2xx),
            h.latency_ms.p50,
            h.latency_ms.p99,
            h.latency_ms.max,
        ),
        Some(LoadDoc::Command(c)) => format!("`{}`, run {phases} times", c.command),
        Some(LoadDoc::Manual(_)) => format!("driven by hand, {phases} phases"),
        None => "none".into(),
    };
    s.push_str(&format!("  load     {load_line}\n"));
    let size = |v: Option<u64>| v.map(human_size).unwrap_or_else(|| "?".into());
    if memory.samples > 0 {
        let (rss, heap) = (memory.rss, memory.heap_used);
        s.push_str(&format!(
            "  memory   rss {} → {} (max {}), heap used {} → {}, {} samples\n",
            size(rss.map(|r| r.first)),
            size(rss.map(|r| r.last)),
            size(rss.map(|r| r.max)),
            size(heap.map(|r| r.first)),
            size(heap.map(|r| r.last)),
            memory.samples
        ));
    }
    s.push_str(&format!("  run      {}\n", run_dir.display()));
    if let Some(f) = fault {
        s.push_str(&format!("  fault    {f}\n"));
    }
    s
}
