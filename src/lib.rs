//! bpflock: daemonless boot-time BPF-LSM hardening. Loads, pins and exits.
//!
//! Layers (docs/architecture.md): shared code at the bottom (`abi`, `error`, `kernel`,
//! `pins`, `skel`, `events`, `vocabulary`, `overrides`, `protection`) never
//! names a protection; `protections` holds them and the one list of them, `ALL`; the
//! commands on top (`policy`, `bootstrap`, `status`, `forward`, `cli`) go through `ALL`.

pub mod abi;
pub mod bootstrap;
pub mod cli;
pub mod error;
pub mod events;
pub mod forward;
pub mod kernel;
pub mod lock;
pub mod overrides;
pub mod pins;
pub mod policy;
pub mod protection;
pub mod protections;
pub mod seal;
pub mod skel;
pub mod status;
pub mod vocabulary;
