use std::io;

use thiserror::Error;

/// Why a load run or a load command could not be carried out. Failures of single requests
/// during a run are not errors: they are counted in the statistics.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("bad URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },

    #[error("bad load settings: {0}")]
    BadSpec(String),

    /// The caller says how remote load is allowed (a flag, a setting): this crate does not
    /// know.
    #[error("refusing to send load to {host} ({addr}): not a loopback address")]
    RemoteRefused { host: String, addr: String },

    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: io::Error,
    },

    #[error("connection refused by {addr}")]
    ConnectionRefused { addr: String },

    #[error("timed out connecting to {addr}")]
    ConnectTimeout { addr: String },

    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: io::Error,
    },

    #[error("cannot run the load command {cmdline:?}: {source}")]
    Command {
        cmdline: String,
        #[source]
        source: io::Error,
    },
}

pub type Result<T, E = LoadError> = std::result::Result<T, E>;
