//! Readers of the formats the graph is built from, each giving [`crate::GraphEvent`]s.
//!
//! - [`windows`]: Windows Security and Sysmon events as JSON (EVTX rendered, flat
//!   NXLog/OTRF, Winlogbeat);
//! - [`lanl`]: LANL authentication and red-team lines.

pub mod lanl;
pub mod windows;

pub use lanl::{LanlError, LanlReader};
pub use windows::{Given, windows_event};
