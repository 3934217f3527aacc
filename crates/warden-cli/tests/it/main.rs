//! Integration tests of the `warden` binary.
