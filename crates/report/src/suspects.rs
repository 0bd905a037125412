//! `heaphound suspects`: the leak report, as a JSON document and as a short story per
//! suspect.

use heaphound_analysis::suspects::{Details, Findings, Place, Shape, SourceRef, Suspect};
use heaphound_analysis::views::object as views;
use heaphound_analysis::Analysis;
use heaphound_model::suspects::{
    self as doc, Capture, Holder, ListenerCount, SourceLocation, SuspectDoc, SuspectsDoc,
};
use heaphound_snapshot::{EdgeKind, HeapGraph};
use serde_json::Value;

use crate::format::{group, human_delta, human_size, Style};
use crate::graph_views::{folded_path, object_label};
use crate::summary::short_path;
use crate::SCHEMA_VERSION;

/// The last snapshot, where holders, samples and paths live.
pub struct LastSnapshot<'a> {
    pub graph: &'a HeapGraph,
    pub analysis: &'a Analysis,
}

/// What each snapshot was, for the document's header.
pub struct SnapshotInfo<'a> {
    pub file: &'a str,
    pub node_count: usize,
    pub total_size: u64,
}

fn location_doc(r: &SourceRef) -> SourceLocation {
    SourceLocation {
        file: r.file.clone(),
        line: r.line,
        column: r.column,
        kind: r.kind.to_string(),
        function: r.function.clone(),
    }
}

fn details_doc(l: &LastSnapshot, d: &Details) -> doc::Details {
    let obj = |n: u32| views::object_ref(l.graph, l.analysis, n);
    match d {
        Details::None => doc::Details::None {},
        Details::Collection { kind, entries } => doc::Details::Collection {
            collection: kind.clone(),
            entries: *entries,
        },
        Details::Listeners {
            emitter,
            events,
            max_listeners_raised,
            ..
        } => doc::Details::Listeners {
            emitter: obj(*emitter),
            events: events
                .iter()
                .map(|(e, n)| ListenerCount {
                    event: e.clone(),
                    listeners: *n,
                })
                .collect(),
            max_listeners_raised: *max_listeners_raised,
        },
        Details::SharedContext { variable, contexts } => doc::Details::SharedContext {
            captured_variable: variable.clone(),
            contexts: *contexts,
        },
        Details::Timers {
            duration_ms,
            timers,
            callback,
            captures,
        } => doc::Details::Timers {
            duration_ms: *duration_ms,
            timers: *timers,
            callback: callback.as_ref().map(location_doc),
            captures: captures
                .iter()
                .map(|(v, c)| Capture {
                    variable: v.clone(),
                    class: c.clone(),
                })
                .collect(),
        },
        Details::Buffers {
            backing_store_bytes,
        } => doc::Details::Buffers {
            backing_store_bytes: *backing_store_bytes,
        },
        Details::Promises { promises, keeps } => doc::Details::Promises {
            promises: *promises,
            keeps_alive: keeps.clone(),
        },
        Details::Stream {
            node,
            stream,
            name,
            buffered_chunks,
        } => doc::Details::Stream {
            stream: stream.clone(),
            name: name.clone(),
            object: obj(*node),
            buffered_chunks: *buffered_chunks,
        },
    }
}

fn place_doc(l: &LastSnapshot, p: &Place) -> doc::Place {
    match p {
        Place::Variable {
            name,
            script,
            module: true,
        } => doc::Place::ModuleVariable {
            name: name.clone(),
            file: script.clone(),
        },
        Place::Variable { name, script, .. } => doc::Place::ClosureVariable {
            name: name.clone(),
            file: script.clone(),
        },
        Place::Scope {
            script,
            module: true,
        } => doc::Place::ModuleScope {
            file: script.clone(),
        },
        Place::Scope { script, .. } => doc::Place::ClosureScope {
            file: script.clone(),
        },
        Place::Global { name } => doc::Place::Global { name: name.clone() },
        Place::Member { name, owner } => doc::Place::Member {
            name: name.clone(),
            owner: views::object_ref(l.graph, l.analysis, *owner),
        },
        Place::Unknown => doc::Place::Unknown,
    }
}

fn path_lines(l: &LastSnapshot, s: &Suspect) -> Vec<String> {
    match &s.path {
        Some(p) => folded_path(l.graph, l.analysis, p),
        None => Vec::new(),
    }
}

fn suspect_doc(l: &LastSnapshot, rank: usize, s: &Suspect) -> SuspectDoc {
    let (g, a) = (l.graph, l.analysis);
    SuspectDoc {
        rank,
        shape: s.shape.as_str().to_string(),
        title: title(l, s),
        class: s.class.name.clone(),
        steady: s.steady,
        count_growth: s.count_growth(),
        counts: s.counts.clone(),
        retained_growth: s.retained_growth(),
        retained_sizes: s.retained.clone(),
        exclusive_growth: s.own_growth,
        holder: Holder {
            object: views::object_ref(g, a, s.holder),
            name: holder_name(a, s),
            place: place_doc(l, &s.place),
        },
        leaked_objects: s.leaked_objects,
        leaked_bytes: s.leaked_bytes,
        off_heap_bytes: s.native_bytes,
        sample: views::object_ref(g, a, s.sample),
        retainer_path: path_lines(l, s),
        retainer_chain: s
            .path
            .as_ref()
            .map(|p| views::folded_path(g, a, p))
            .unwrap_or_default(),
        locations: s.locations.iter().map(location_doc).collect(),
        allocation_stack: s.allocation_stack.clone(),
        details: details_doc(l, &s.details),
    }
}

/// The `suspects --json` document (also hunt's `report.json` and gate's leak report). Built
/// here, not in analysis, because its `title` and holder names are sentences.
pub fn document(
    l: &LastSnapshot,
    snapshots: &[SnapshotInfo],
    f: &Findings,
    top: usize,
) -> SuspectsDoc {
    SuspectsDoc {
        schema_version: SCHEMA_VERSION,
        verdict: f.verdict,
        reason: f.reason.clone(),
        snapshots: snapshots
            .iter()
            .map(|s| doc::SnapshotInfo {
                file: s.file.to_string(),
                node_count: s.node_count,
                total_size: s.total_size,
            })
            .collect(),
        leaked_objects: f.leaked_objects,
        leaked_bytes: f.leaked_bytes,
        suspects: f
            .suspects
            .iter()
            .take(top)
            .enumerate()
            .map(|(i, s)| suspect_doc(l, i + 1, s))
            .collect(),
    }
}

/// Transitional: [`document`] as a JSON value, for callers that still add keys to it.
pub fn to_json(l: &LastSnapshot, snapshots: &[SnapshotInfo], f: &Findings, top: usize) -> Value {
    serde_json::to_value(document(l, snapshots, f, top)).unwrap_or_default()
}

fn where_text(l: &LastSnapshot, s: &Suspect) -> String {
    let name = holder_name(l.analysis, s);
    let id = l.graph.node_id[s.holder as usize];
    if let Details::Timers {
        duration_ms: Some(ms),
        ..
    } = s.details
    {
        return format!("Node's list of {ms} ms timers (TimersList @{id})");
    }
    match &s.place {
        Place::Variable { script, module, .. } => {
            let scope = scope_words(*module);
            match script {
                Some(file) => format!("{name} @{id} in the {scope} of {}", short_path(file)),
                None => format!("{name} @{id} in a {scope}"),
            }
        }
        Place::Scope { .. } => {
            // The variable of that scope through which the growth hangs.
            let g = l.graph;
            let var = s.path.as_ref().and_then(|p| {
                p.steps
                    .iter()
                    .find(|st| st.holder == s.holder)
                    .filter(|st| g.edge_kind(st.edge) == EdgeKind::Context)
                    .map(|st| g.edge_name(st.edge).into_owned())
            });
            match var {
                Some(v) => format!("`{v}` in {name} (@{id})"),
                None => format!("{name} (@{id})"),
            }
        }
        Place::Global { .. } => format!("{name} @{id} on the global object"),
        Place::Member { owner, .. } => format!(
            "{name} @{id}, held by {}",
            object_label(l.graph, l.analysis, *owner)
        ),
        Place::Unknown => format!("{name} @{id}"),
    }
}

fn series_text(values: &[Option<u64>], fmt: impl Fn(u64) -> String) -> String {
    values
        .iter()
        .map(|v| v.map(&fmt).unwrap_or_else(|| "?".into()))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn location_text(r: &SourceRef) -> String {
    let what = match (&r.function, r.kind) {
        (Some(f), "constructor") => format!("class {f}"),
        (Some(f), "allocation") => format!("allocated in {f}"),
        (Some(f), _) => format!("function {f}"),
        (None, "allocation") => "allocated here".into(),
        (None, _) => "anonymous function".into(),
    };
    format!("{}:{}:{}  {what}", short_path(&r.file), r.line, r.column)
}

pub fn to_text(
    l: &LastSnapshot,
    snapshots: &[SnapshotInfo],
    f: &Findings,
    top: usize,
    verbose: bool,
    style: &Style,
) -> String {
    let mut out = String::new();
    let verdict = match f.verdict.as_str() {
        "leak" => "LEAK",
        "no-leak" => "NO LEAK",
        _ => "INCONCLUSIVE",
    };
    out.push_str(&format!(
        "{} — {} ({} snapshots)\n",
        style.bold(verdict),
        f.reason,
        snapshots.len()
    ));
    if verbose {
        for s in snapshots {
            out.push_str(&format!(
                "  {}  {} objects, {}\n",
                s.file,
                group(s.node_count as u64),
                human_size(s.total_size)
            ));
        }
    }
    let shown: Vec<&Suspect> = f
        .suspects
        .iter()
        .filter(|s| verbose || s.steady || f.verdict.as_str() != "leak")
        .take(top)
        .collect();
    if shown.is_empty() {
        return out;
    }
    for (i, s) in shown.iter().enumerate() {
        out.push_str(&format!(
            "\n{} {}\n",
            style.bold(&format!("#{} {}:", i + 1, s.shape.as_str())),
            title(l, s)
        ));
        out.push_str(&format!("   held by   {}\n", where_text(l, s)));
        out.push_str(&format!(
            "   grows     {}: {} objects; retained {} ({})\n",
            s.class.name,
            series_text(&s.counts, group),
            series_text(&s.retained, human_size),
            human_delta(s.retained_growth())
        ));
        if !s.steady {
            out.push_str("   note      not every step grew: weaker evidence\n");
        }
        let lines = path_lines(l, s);
        if !lines.is_empty() {
            let keep = if verbose { lines.len() } else { 7 };
            let cut = lines.len().saturating_sub(keep);
            out.push_str("   path      ");
            if cut > 0 {
                out.push_str(&format!(
                    "… {cut} step(s) from a GC root (--verbose shows them)\n             "
                ));
            }
            out.push_str(&lines[cut..].join("\n             "));
            out.push('\n');
        }
        for (k, r) in s.locations.iter().enumerate() {
            if !verbose && k >= 3 {
                break;
            }
            let head = if k == 0 {
                "   source    "
            } else {
                "             "
            };
            out.push_str(&format!("{head}{}\n", location_text(r)));
        }
        if verbose && !s.allocation_stack.is_empty() {
            out.push_str(&format!(
                "   allocated {}\n",
                s.allocation_stack.join("\n             ← ")
            ));
        }
    }
    if shown.len() < f.suspects.len() && !verbose {
        out.push_str(&style.dim(&format!(
            "\n… {} weaker suspect(s) not shown (--verbose, --top)\n",
            f.suspects.len() - shown.len()
        )));
    }
    out
}

fn scope_words(module: bool) -> &'static str {
    if module {
        "module scope"
    } else {
        "closure scope"
    }
}

/// `Map sessionCache`, `Array recentRequests`: the holder's class and the name it goes by.
pub fn holder_name(a: &Analysis, s: &Suspect) -> String {
    let class = a.class_name(s.holder);
    match &s.place {
        Place::Variable { name, .. } | Place::Global { name } | Place::Member { name, .. } => {
            format!("{class} `{name}`")
        }
        Place::Scope { script, module } => {
            let scope = scope_words(*module);
            match script {
                Some(file) => format!("the {scope} of {}", short_path(file)),
                None => format!("a {scope}"),
            }
        }
        Place::Unknown => class.to_string(),
    }
}

fn per_step(s: &Suspect) -> Option<u64> {
    let steps: Vec<i64> = s.count_growth().into_iter().flatten().collect();
    if steps.is_empty() {
        return None;
    }
    let avg = steps.iter().sum::<i64>() / steps.len() as i64;
    (avg > 0).then_some(avg as u64)
}

/// The name of the edge by which the retainer path reaches `node`.
fn name_on_path(l: &LastSnapshot, s: &Suspect, node: u32) -> Option<String> {
    let g = l.graph;
    s.path
        .as_ref()?
        .steps
        .iter()
        .find(|st| g.edge_to[st.edge as usize] == node)
        .map(|st| g.edge_name(st.edge).into_owned())
}

/// One sentence that names the leak.
pub fn title(l: &LastSnapshot, s: &Suspect) -> String {
    let a = l.analysis;
    let holder = holder_name(a, s);
    let class = &s.class.name;
    let rate = per_step(s)
        .map(|n| format!("+{} {class} per snapshot", group(n)))
        .unwrap_or_else(|| format!("{class} objects accumulate"));
    let last = s.counts.last().copied().flatten().unwrap_or(0);
    match &s.details {
        Details::Listeners {
            emitter,
            events,
            max_listeners_raised,
            ..
        } => {
            let list: Vec<String> = events
                .iter()
                .take(3)
                .map(|(e, n)| format!("'{e}' ×{}", group(*n)))
                .collect();
            let name = match name_on_path(l, s, *emitter) {
                Some(var) => format!("{} `{var}`", a.class_name(*emitter)),
                None => a.class_name(*emitter).to_string(),
            };
            let raised = if *max_listeners_raised == Some(true) {
                "; setMaxListeners was raised, so Node's leak warning stays quiet"
            } else {
                ""
            };
            format!(
                "Listeners added per request pile up on {name}: {}{raised}",
                list.join(", ")
            )
        }
        Details::SharedContext { variable, .. } => format!(
            "Closures share a context that captures `{variable}`: each {class} keeps the previous one alive ({rate})"
        ),
        Details::Timers {
            duration_ms,
            timers,
            captures,
            ..
        } => {
            let every = duration_ms.map(|d| format!(" ({d} ms)")).unwrap_or_default();
            let keeps = if captures.is_empty() {
                "its callback's data".to_string()
            } else {
                captures
                    .iter()
                    .take(3)
                    .map(|(v, c)| format!("`{v}` ({c})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            format!(
                "{} timers never cleared{every}; each callback keeps {keeps} alive",
                group(*timers)
            )
        }
        Details::Buffers { .. } => format!(
            "Buffers accumulate in {holder}: {} more retained, mostly backing stores off the JS heap ({rate})",
            human_size(s.retained_growth().max(0) as u64)
        ),
        Details::Promises { promises, keeps } => {
            let keeps = if keeps.is_empty() {
                String::new()
            } else {
                format!("; they keep {} alive", keeps.join(", "))
            };
            if a.class_name(s.holder) == "Promise" {
                format!(
                    "{holder} never settles and collects a reaction per call: {} promises held{keeps}",
                    group(*promises)
                )
            } else {
                format!(
                    "Promises that never settle pile up in {holder}: {} held{keeps}",
                    group(*promises)
                )
            }
        }
        Details::Stream {
            stream,
            name,
            buffered_chunks,
            ..
        } => {
            let chunks = buffered_chunks
                .map(|n| format!("{} writes buffered", group(n)))
                .unwrap_or_else(|| "its buffer grows".into());
            let stream = match name {
                Some(n) => format!("{stream} `{n}`"),
                None => stream.clone(),
            };
            format!("{stream} is written to without backpressure: {chunks} ({rate})")
        }
        Details::Collection { kind, entries } => {
            let n = entries.map(group).unwrap_or_else(|| group(last));
            match s.shape {
                Shape::GlobalArray => format!("{holder} only ever grows: {n} elements ({rate})"),
                _ if kind == "object used as a map" => format!("{holder}, an object used as a map, grows without bound ({rate})"),
                _ => format!("{holder} grows without bound: {n} entries ({rate})"),
            }
        }
        Details::None => format!("{class} objects accumulate under {holder} ({rate})"),
    }
}
