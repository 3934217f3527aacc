//! Inputs given as files or folders: folders are walked recursively (entries in name
//! order, at most 64 levels deep, links to folders not followed), and the files a command
//! reads are kept; the others, and folders that cannot be read or are links, are counted as
//! skipped.

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
        // Below the given path a link to a folder is not followed: links to `.` would
        // make the walk visit 2^64 folders; it is counted as skipped.
        if depth > 0 && std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
            *skipped += 1;
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_to_folders_below_the_given_one_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/a.evtx"), "x").unwrap();
        // Two links to the folder itself: followed, 2^64 folders.
        std::os::unix::fs::symlink(dir.path(), dir.path().join("logs/loop1")).unwrap();
        std::os::unix::fs::symlink(dir.path(), dir.path().join("logs/loop2")).unwrap();
        let (mut out, mut skipped) = (Vec::new(), 0);
        files(dir.path(), &|_| true, &mut out, &mut skipped);
        assert_eq!(out, vec![dir.path().join("logs/a.evtx")]);
        assert_eq!(skipped, 2);
        // The given path itself may be a link.
        let link = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path().join("logs"), link.path().join("l")).unwrap();
        let (mut out, mut skipped) = (Vec::new(), 0);
        files(&link.path().join("l"), &|_| true, &mut out, &mut skipped);
        assert_eq!(out.len(), 1);
    }
}
