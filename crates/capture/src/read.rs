//! Reading heap snapshots from disk (or stdin) and analysing them, with progress told to a
//! [`ReadObserver`]: the snapshots a capture took, or the ones a user names.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use heaphound_analysis::{Analysis, GraphFacts};
use heaphound_snapshot::{HeapGraph, Progress};

use crate::originals::{restore_names, SourceMaps};

/// A snapshot read and analysed.
pub struct Opened {
    pub graph: HeapGraph,
    pub analysis: Analysis,
    /// How the input is named in messages.
    pub label: String,
    /// The source maps its names were restored with; documents made from it use them too.
    pub sources: Arc<SourceMaps>,
}

/// A snapshot analysed for its class summary only: the graph itself is let go part by
/// part during the analysis, which keeps the peak memory down on big heaps.
pub struct Summarised {
    pub facts: GraphFacts,
    pub analysis: Analysis,
    pub label: String,
    pub sources: Arc<SourceMaps>,
}

/// An input the user named was unreadable or malformed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

/// What reading one snapshot goes through; every step is optional to watch.
pub trait ReadObserver {
    /// Bytes read so far.
    fn progress(&mut self, _p: Progress) {}
    /// The graph is built.
    fn read(&mut self, _graph: &HeapGraph, _took: Duration) {}
    /// An analysis phase starts (`""`: the last one ended).
    fn phase(&mut self, _name: &'static str) {}
    /// Read and analysed.
    fn done(&mut self, _took: Duration) {}
}

/// Watches nothing.
pub struct Silent;

impl ReadObserver for Silent {}

/// How an input is named in messages.
pub fn label(path: &str) -> String {
    if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    }
}

/// Reads and analyses one snapshot (`-`: stdin), its minified names restored by `sources`.
pub fn open(
    path: &str,
    obs: &mut dyn ReadObserver,
    sources: &Arc<SourceMaps>,
) -> Result<Opened, ReadError> {
    open_with(path, obs, sources, false)
}

/// [`open`], and with `stack_weak` the references of the stack and open handle scopes count as weak
/// ([`heaphound_analysis::postmortem::weaken_in_flight_roots`]), as a postmortem reads.
pub fn open_with(
    path: &str,
    obs: &mut dyn ReadObserver,
    sources: &Arc<SourceMaps>,
    stack_weak: bool,
) -> Result<Opened, ReadError> {
    let started = Instant::now();
    let (mut graph, label) = read_graph(path, obs, sources)?;
    if stack_weak {
        heaphound_analysis::postmortem::weaken_in_flight_roots(&mut graph);
    }
    let analysis = Analysis::new(&graph, &mut |step| obs.phase(step));
    obs.phase("");
    obs.done(started.elapsed());
    Ok(Opened {
        graph,
        analysis,
        label,
        sources: Arc::clone(sources),
    })
}

/// Reads one snapshot for its class summary (see [`Summarised`]).
pub fn open_for_summary(
    path: &str,
    obs: &mut dyn ReadObserver,
    sources: &Arc<SourceMaps>,
) -> Result<Summarised, ReadError> {
    let started = Instant::now();
    let (graph, label) = read_graph(path, obs, sources)?;
    let (analysis, facts) = Analysis::summary_only(graph, &mut |step| obs.phase(step));
    obs.phase("");
    obs.done(started.elapsed());
    Ok(Summarised {
        facts,
        analysis,
        label,
        sources: Arc::clone(sources),
    })
}

fn read_graph(
    path: &str,
    obs: &mut dyn ReadObserver,
    sources: &SourceMaps,
) -> Result<(HeapGraph, String), ReadError> {
    let label = label(path);
    let started = Instant::now();
    let graph = if path == "-" {
        let stdin = std::io::stdin();
        heaphound_snapshot::read_reader(stdin, None, &mut |p| obs.progress(p))
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(ReadError(format!(
                "{label}: is a directory, not a heap snapshot"
            )));
        }
        heaphound_snapshot::read_path(p, &mut |p| obs.progress(p))
    };
    let mut graph = graph.map_err(|e| ReadError(format!("{label}: {e}")))?;
    obs.read(&graph, started.elapsed());
    restore_names(&mut graph, sources);
    Ok((graph, label))
}

/// Reads several snapshots at once, one thread each: their parses and analyses overlap, so
/// a comparison costs less than reading one after another. `observer` makes the watcher of
/// each file.
pub fn open_all(
    paths: &[String],
    observer: &(dyn Fn() -> Box<dyn ReadObserver + Send> + Sync),
    sources: &Arc<SourceMaps>,
) -> Result<Vec<Opened>, ReadError> {
    if paths.iter().filter(|p| *p == "-").count() > 1 {
        return Err(ReadError("standard input (-) can be read only once".into()));
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .iter()
            .map(|p| {
                let mut obs = observer();
                s.spawn(move || open(p, &mut *obs, sources))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(ReadError("a snapshot reader thread panicked".into())))
            })
            .collect()
    })
}
