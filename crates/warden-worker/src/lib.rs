//! Warden as workers of a distributed log (Kafka consumer groups; NATS JetStream).
//!
//! The log does partitioning, ordering, membership and rebalancing; this crate brings the
//! rest: events keyed by the entity whose state they touch ([`keys`]), one detection
//! pipeline per partition ([`partition`]), and that pipeline's state checkpointed together
//! with the offsets it reflects ([`checkpoint`]) so that whoever takes a partition over
//! continues exactly where the last owner stopped. The broker clients are behind cargo
//! features (`kafka`, `nats`): the default build has the logic and its tests, not the clients.

pub mod alert_format;
pub mod checkpoint;
pub mod http;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod keys;
pub mod lookback;
#[cfg(feature = "nats")]
pub mod nats;
pub mod outputs;
pub mod partition;
pub mod stats;

pub use alert_format::{AlertFormat, format_alert};
pub use checkpoint::{Checkpoint, CheckpointError};
pub use outputs::WorkerOutputs;
pub use partition::{Handled, PartitionPipeline, PipelineSpec};
pub use stats::{ShipReport, WorkerReport, WorkerStats};
