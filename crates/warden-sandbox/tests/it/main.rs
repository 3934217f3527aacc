//! The sandbox against the real bubblewrap and strace. Skipped with a message where they are
//! missing, unless `WARDEN_REQUIRE_SANDBOX` is set (CI installs both and sets it).

mod sandbox;
