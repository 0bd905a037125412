//! Node's diagnostic report (`--report-on-fatalerror`, `process.report.writeReport()`),
//! read into what a postmortem needs. Only the fields named here are read: the
//! environment, user limits and shared objects are never even parsed into memory.

use std::collections::BTreeMap;

use heaphound_model::postmortem::{CrashDoc, CrashHeap, HandleCount, HeapSpace};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    #[error("JSON, but not a Node.js diagnostic report (no header.reportVersion)")]
    NotAReport,
}

#[derive(Deserialize)]
struct Raw {
    header: Option<Header>,
    #[serde(rename = "javascriptStack")]
    javascript_stack: Option<JsStack>,
    #[serde(rename = "javascriptHeap")]
    javascript_heap: Option<JsHeap>,
    #[serde(rename = "resourceUsage")]
    resource_usage: Option<ResourceUsage>,
    #[serde(default)]
    libuv: Vec<Handle>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    report_version: Option<u32>,
    #[serde(default)]
    event: String,
    #[serde(default)]
    trigger: String,
    dump_event_time: Option<String>,
    process_id: Option<u32>,
    cwd: Option<String>,
    #[serde(default)]
    command_line: Vec<String>,
    nodejs_version: Option<String>,
}

#[derive(Deserialize)]
struct JsStack {
    message: Option<String>,
    #[serde(default)]
    stack: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsHeap {
    #[serde(default)]
    total_memory: u64,
    #[serde(default)]
    used_memory: u64,
    #[serde(default)]
    memory_limit: u64,
    #[serde(default)]
    external_memory: u64,
    #[serde(default)]
    heap_spaces: BTreeMap<String, Space>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Space {
    #[serde(default)]
    memory_size: u64,
    #[serde(default)]
    used: u64,
    #[serde(default)]
    available: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceUsage {
    rss: Option<u64>,
    max_rss: Option<u64>,
    constrained_memory: Option<u64>,
    user_cpu_seconds: Option<f64>,
    kernel_cpu_seconds: Option<f64>,
    cpu_consumption_percent: Option<f64>,
}

#[derive(Deserialize)]
struct Handle {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    is_active: bool,
}

/// The JS heap ran out: V8's own words for it.
fn heap_out_of_memory(event: &str, trigger: &str) -> bool {
    let e = event.to_ascii_lowercase();
    e.contains("javascript heap out of memory") || e.contains("reached heap limit") || {
        trigger == "OOMError" && e.contains("heap")
    }
}

/// A report on request (`API`, a signal) is not about a death.
fn fatal(trigger: &str) -> bool {
    !matches!(trigger, "API" | "Signal" | "JavaScript API" | "")
}

/// Reads a report; `name` is how the document calls the file.
pub fn parse(bytes: &[u8], name: &str) -> Result<(Option<u32>, CrashDoc), ReportError> {
    let raw: Raw = serde_json::from_slice(bytes).map_err(ReportError::NotJson)?;
    let header = raw
        .header
        .filter(|h| h.report_version.is_some())
        .ok_or(ReportError::NotAReport)?;
    let heap = raw
        .javascript_heap
        .map(|h| CrashHeap {
            used: h.used_memory,
            total: h.total_memory,
            limit: h.memory_limit,
            external: h.external_memory,
            spaces: h
                .heap_spaces
                .into_iter()
                .map(|(name, s)| HeapSpace {
                    name,
                    used: s.used,
                    size: s.memory_size,
                    available: s.available,
                })
                .collect(),
        })
        .unwrap_or_default();
    let ru = raw.resource_usage;
    // Node computes its CPU percentages over whole seconds of uptime; the ratio gives
    // them back.
    let uptime_s = ru.as_ref().and_then(|r| {
        let cpu = r.user_cpu_seconds? + r.kernel_cpu_seconds?;
        let pct = r.cpu_consumption_percent?;
        (pct > 0.0 && cpu > 0.0).then(|| (cpu * 100.0 / pct).round() as u64)
    });
    let mut handles: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for h in raw.libuv {
        let slot = handles.entry(h.kind).or_default();
        slot.0 += 1;
        slot.1 += u64::from(h.is_active);
    }
    let (message, stack) = match raw.javascript_stack {
        Some(s) => (s.message, s.stack),
        None => (None, Vec::new()),
    };
    // "No stack." / "Unavailable." is what an OOM report has instead of frames.
    let stack: Vec<String> = stack
        .into_iter()
        .filter(|f| f != "Unavailable.")
        .map(|f| f.trim().trim_start_matches("at ").to_string())
        .collect();
    let doc = CrashDoc {
        report: name.to_string(),
        heap_out_of_memory: heap_out_of_memory(&header.event, &header.trigger),
        fatal: fatal(&header.trigger),
        event: header.event,
        trigger: header.trigger,
        time: header.dump_event_time,
        node_version: header.nodejs_version,
        command_line: header.command_line,
        cwd: header.cwd,
        uptime_s,
        heap,
        rss: ru.as_ref().and_then(|r| r.rss),
        max_rss: ru.as_ref().and_then(|r| r.max_rss),
        // u64::MAX (or near it) means no limit.
        constrained_memory: ru
            .as_ref()
            .and_then(|r| r.constrained_memory)
            .filter(|&c| c > 0 && c < 1 << 60),
        js_stack: stack,
        js_stack_message: message.filter(|m| m != "No stack."),
        handles: handles
            .into_iter()
            .map(|(kind, (count, active))| HandleCount {
                kind,
                count,
                active,
            })
            .collect(),
    };
    Ok((header.process_id, doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OOM: &str = "../../../shared/reference/gc/report.20261121.123901.10959.0.002.json";
    const MANUAL: &str = "../../../shared/reference/misc/report-manual.json";

    fn read(p: &str) -> Option<Vec<u8>> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(p)).ok()
    }

    #[test]
    fn an_oom_report_says_the_heap_ran_out() {
        let Some(bytes) = read(OOM) else { return };
        let (pid, c) = parse(&bytes, "r.json").unwrap();
        assert_eq!(pid, Some(10959));
        assert!(c.heap_out_of_memory && c.fatal);
        assert_eq!(c.trigger, "OOMError");
        assert_eq!(c.heap.used, 92242256);
        assert_eq!(c.heap.limit, 142606336);
        assert!(c.js_stack.is_empty() && c.js_stack_message.is_none());
        assert_eq!(c.uptime_s, Some(5));
        assert_eq!(c.constrained_memory, None);
        assert!(c
            .heap
            .spaces
            .iter()
            .any(|s| s.name == "old_space" && s.used > 0));
    }

    #[test]
    fn a_report_on_request_is_not_a_crash_and_keeps_its_stack() {
        let Some(bytes) = read(MANUAL) else { return };
        let (_, c) = parse(&bytes, "m.json").unwrap();
        assert!(!c.fatal && !c.heap_out_of_memory);
        assert_eq!(
            c.js_stack[0],
            "Object.writeReport (node:internal/process/report:27:13)"
        );
        assert!(c.handles.iter().any(|h| h.kind == "timer"));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("PATH") && !json.contains("HOME"));
    }

    #[test]
    fn foreign_json_and_garbage_are_named() {
        assert!(matches!(
            parse(b"{\"a\":1}", "x"),
            Err(ReportError::NotAReport)
        ));
        assert!(matches!(
            parse(b"{\"hea", "x"),
            Err(ReportError::NotJson(_))
        ));
    }
}
