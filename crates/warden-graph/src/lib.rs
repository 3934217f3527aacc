//! Warden's temporal entity graph and its finders.
//!
//! - [`event`]: the graph's view of an event ([`GraphEvent`]), with names normalised;
//! - [`extract`]: readers that give graph events (Windows JSON in every shape, LANL);
//! - [`graph`]: the compact graph of accounts, hosts, IPs, processes and groups, with
//!   first/last seen, counts and evidence on every edge;
//! - [`finders`]: the [`Hunter`] that runs lateral movement, credential misuse, privilege
//!   escalation and attack progression over the events in one pass, as [`warden_event::Alert`]s;
//! - [`query`]: paths, neighbourhoods, first-seen edges, and GraphML/JSON export.
//!
//! ```
//! use warden_graph::{GraphEvent, Hunter, HuntConfig, event::Action};
//! use warden_event::{EventRef, Timestamp};
//! let mut hunter = Hunter::new(HuntConfig::default());
//! let mut e = GraphEvent::new(
//!     Timestamp(0),
//!     Action::Logon { logon_type: 3, ntlm: false },
//!     EventRef::Record { computer: Some("SRV-1".into()), record_id: 1 },
//! );
//! e.account = Some("alice".into());
//! e.host = Some("SRV-1".into());
//! e.source_host = Some("WS-1".into());
//! assert!(hunter.observe(&e).is_empty());
//! assert_eq!(hunter.graph.edge_count(), 1);
//! ```

pub mod event;
pub mod extract;
pub mod finders;
pub mod graph;
pub mod query;
pub mod snapshot;

pub use event::GraphEvent;
pub use finders::{HuntConfig, Hunter};
pub use graph::{EntityGraph, NodeId, NodeKind};

#[cfg(test)]
mod tests;
