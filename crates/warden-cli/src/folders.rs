//! Inputs given as files or folders: folders are walked recursively (entries in name
//! order, at most 64 levels deep), and the files a command reads are kept; the others, and
//! folders that cannot be read, are counted as skipped.

use std::path::{Path, PathBuf};

/// Deepest folder walked.
const MAX_DEPTH: usize = 64;

/// The files under `p` (or `p` itself) that `wanted` accepts, in name order.
pub fn files(
    p: &Path,
    wanted: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
    skipped: &mut usize,
) {
    walk(p, 0, wanted, out, skipped);
}

fn walk(
    p: &Path,
    depth: usize,
    wanted: &dyn Fn(&Path) -> bool,
    out: &mut Vec<PathBuf>,
    skipped: &mut usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if p.is_dir() {
        let Ok(rd) = std::fs::read_dir(p) else {
            *skipped += 1;
            return;
        };
        let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            walk(&e, depth + 1, wanted, out, skipped);
        }
    } else if wanted(p) {
        out.push(p.to_path_buf());
    } else {
        *skipped += 1;
    }
}
