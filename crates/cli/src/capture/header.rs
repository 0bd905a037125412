//! What a capture says before the suspects report: what ran, the load, memory, the run
//! folder and any fault; and the JSON files it leaves in the run folder.

use std::path::Path;

use heaphound_report::{group, human_size};
use serde_json::Value;

use super::Program;

/// What ran, before the suspects report.
pub fn header(
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
