//! The dashboard end to end, in a real browser: runs `e2e/dashboard.test.mjs` (Node's test
//! runner driving Debian's Chromium through playwright-core) against this build's `warden`
//! binary. Needs `node`, Chromium (`/usr/bin/chromium` or `CHROMIUM`) and `e2e/node_modules`
//! (`npm ci` in `e2e/`); `.ci/run` installs them. Without them the test is skipped with the
//! reason — except in CI (`CI` set) or with `WARDEN_E2E=1`, where their absence fails it.
//! Screenshots go to `e2e/screenshots/` (or `E2E_OUT`).

use std::path::Path;
use std::process::Command;

fn missing(e2e: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!(
            "{chromium} is not installed (apt-get install chromium)"
        ));
    }
    if !e2e.join("node_modules/playwright-core").exists() {
        return Some(format!(
            "{}/node_modules is missing (npm ci)",
            e2e.display()
        ));
    }
    None
}

#[test]
fn the_dashboard_in_a_real_browser() {
    let e2e = crate::root().join("e2e");
    if let Some(why) = missing(&e2e) {
        let required = std::env::var_os("CI").is_some() || std::env::var_os("WARDEN_E2E").is_some();
        assert!(!required, "the dashboard's browser test cannot run: {why}");
        eprintln!("skipped: the dashboard's browser test: {why}");
        return;
    }
    let out = Command::new("node")
        .args(["--test", "--test-reporter=spec", "dashboard.test.mjs"])
        .current_dir(&e2e)
        .env("WARDEN_BIN", env!("CARGO_BIN_EXE_warden"))
        // The built-in copy of the dashboard is what is tested.
        .env_remove("WARDEN_DASHBOARD_DIR")
        .output()
        .expect("node runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the dashboard's browser test failed:\n{report}"
    );
    assert!(report.contains("ℹ fail 0"), "{report}");
}
