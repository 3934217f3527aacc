//! Readers of the formats the graph is built from, each giving [`crate::GraphEvent`]s.
//!
//! - [`windows`]: Windows Security and Sysmon events as JSON (EVTX rendered, flat
//!   NXLog/OTRF, Winlogbeat);
//! - [`lanl`]: LANL authentication and red-team lines;
//! - [`flow`]: network flows (Zeek `conn.log`);
//! - [`activity`]: user activity (sign-ins, resources used);
//! - [`linux`]: Linux authentication (sshd, login, sudo, su) as the text-log reader writes it.

pub mod activity;
pub mod flow;
pub mod lanl;
pub mod linux;
pub mod windows;

pub use activity::activity_event;
pub use flow::flow_event;
pub use lanl::{LanlError, LanlReader};
pub use linux::LinuxAuth;
pub use windows::{Given, windows_event};
