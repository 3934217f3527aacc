//! One module per subcommand.

pub mod activity_data;
pub mod alerts;
pub mod baseline;
pub mod calibrate;
pub mod config;
pub mod detect;
pub mod graph;
pub mod hunt;
mod hunt_payload;
pub mod ml;
pub mod network;
pub mod payload;
pub mod rules;
pub mod serve;
pub mod token;
pub mod worker;
