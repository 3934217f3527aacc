//! Integration tests of the Sigma engine.

mod check;
mod differential;
mod errors;
