//! Readers of the formats the graph is built from, each giving [`crate::GraphEvent`]s.
//!
//! - [`windows`]: Windows Security and Sysmon events as JSON (EVTX rendered, flat
//!   NXLog/OTRF, Winlogbeat);
//! - [`lanl`]: LANL authentication and red-team lines;
//! - [`flow`]: network flows (Zeek `conn.log`);
//! - [`activity`]: user activity (sign-ins, resources used).

pub mod activity;
pub mod flow;
pub mod lanl;
pub mod windows;

pub use activity::activity_event;
pub use flow::flow_event;
pub use lanl::{LanlError, LanlReader};
pub use windows::{Given, windows_event};
