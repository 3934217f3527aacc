//! Statistical building blocks of Warden's behavioural detection.
//!
//! - [`geo`]: great-circle distance and longitude-derived local time.
//! - [`stats`]: running mean/variance, bounded frequency sets, stable string hashing.
//! - [`baseline`]: what Warden learns about one user ([`baseline::UserProfile`]), the short
//!   term state it keeps for windows ([`baseline::RecentActivity`]), organisation-wide rarity
//!   ([`baseline::Population`]), and their versioned binary format.
//!
//! - [`ml`]: the isolation forest, network-flow feature pipelines, detection metrics and the
//!   versioned model file.
//!
//! ```
//! use warden_models::geo::haversine_km;
//! let london = (51.5074, -0.1278);
//! let lagos = (6.5244, 3.3792);
//! let d = haversine_km(london, lagos);
//! assert!((d - 5_000.0).abs() < 50.0);
//! ```

pub mod baseline;
mod error;
pub mod geo;
pub mod ml;
pub mod stats;

pub use error::ModelError;
