//! Every document heaphound prints (`--json`) or writes into a run folder, as serde types.
//!
//! These types are the contract between crates and with users' scripts: analyses and the
//! capture library build them, `report` renders them, `report RUN_DIR` reads them back.
//! Field names and meanings are a promise: extend (a new field with `#[serde(default)]`
//! so old files still read), never rename or change a unit. The JSON Schema of each
//! document is generated from these types into `docs/schema/` (see [`schemas`]).
//!
//! Units: sizes are integer bytes; a field named `*_mb` is in 10^6 bytes, `*_mib` in 2^20
//! bytes (see [`units`]); durations say their unit in their name (`_ms`, `_us`, `_s`).

pub mod diff;
pub mod gate;
pub mod gclog;
pub mod heap;
pub mod ids;
pub mod load;
pub mod object;
pub mod page;
pub mod postmortem;
pub mod profile;
pub mod run;
pub mod series;
pub mod source;
pub mod suspects;
pub mod text;
pub mod trend;
pub mod units;
pub mod watch;

pub use ids::ObjectId;

/// Version of every JSON document heaphound prints or writes. Bumped only when a field
/// changes meaning; new fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

/// One named document and its JSON Schema.
pub struct NamedSchema {
    /// The file stem under `docs/schema/` (`summary` → `docs/schema/summary.schema.json`).
    pub name: &'static str,
    pub schema: schemars::Schema,
}

/// The JSON Schema of every document, by name, in a fixed order.
pub fn schemas() -> Vec<NamedSchema> {
    let mut out = Vec::new();
    heap::schemas(&mut out);
    diff::schemas(&mut out);
    suspects::schemas(&mut out);
    trend::schemas(&mut out);
    gclog::schemas(&mut out);
    profile::schemas(&mut out);
    series::schemas(&mut out);
    load::schemas(&mut out);
    run::schemas(&mut out);
    watch::schemas(&mut out);
    gate::schemas(&mut out);
    page::schemas(&mut out);
    postmortem::schemas(&mut out);
    source::schemas(&mut out);
    out
}

/// Adds the schema of `T` under `name`.
pub(crate) fn add<T: schemars::JsonSchema>(out: &mut Vec<NamedSchema>, name: &'static str) {
    out.push(NamedSchema {
        name,
        schema: schemars::schema_for!(T),
    });
}
