use heaphound_inspector::InspectorError;

/// What stops a capture before it could start, or keeps its results from being written.
/// Each variant reads as one step of a message chain (`outer: inner`), as the binary shows
/// it.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The user's input or arguments are wrong (a run folder that cannot be used, too few
    /// snapshots): said as is.
    #[error("{0}")]
    Usage(String),
    /// A stopping signal (Ctrl-C, SIGTERM, SIGHUP) ended the work: what was cut and how.
    #[error("{0}")]
    Interrupted(String),
    #[error("starting the program")]
    Start(#[source] StartError),
    #[error("the inspector of PID {pid} ({how})")]
    Inspector {
        pid: u32,
        how: String,
        #[source]
        source: InspectorError,
    },
    #[error("a second inspector session to {url}")]
    SecondSession {
        url: String,
        #[source]
        source: InspectorError,
    },
    #[error("starting the memory sampler")]
    Thread(#[source] std::io::Error),
    /// An inspector call failed during `what`.
    #[error("{what}")]
    Step {
        what: String,
        #[source]
        source: InspectorError,
    },
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
    #[error("{path}: cannot create")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot write")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Too little memory for a heap snapshot ([`crate::headroom`]): the numbers, the risk
    /// and the flag that takes it anyway.
    #[error("{0}")]
    NoHeadroom(crate::headroom::Refusal),
    /// A heap snapshot came out empty or cut short, and was removed.
    #[error("{path}: the heap snapshot is {what}; it was removed")]
    Incomplete { path: String, what: String },
}

/// Why the program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The command itself is at fault (no such file, it exits at once, no inspector).
    // Not a `source`: the message already holds it, once.
    #[error("{command}: {error}")]
    Program {
        command: String,
        error: InspectorError,
    },
    #[error(transparent)]
    Inspector(InspectorError),
}

/// `outer: inner: innermost`, the way errors are told in one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}
