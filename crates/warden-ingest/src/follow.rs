//! Following a file as it grows (`warden detect --follow`, the service's file listeners):
//! a reader that, at the end of the file, waits for more instead of ending — the way
//! `tail -F` does, by polling, so it works on every filesystem (inotify misses writes on
//! network mounts) and costs one `stat` per interval while idle.
//!
//! **Rotation.** At the end of the file the path is looked at again: a different file
//! there (a new inode: `logrotate`'s default rename-and-create) is opened and read from its
//! start; the same file grown shorter than what was read (`copytruncate`) is read again
//! from its start; a path that is gone for now is waited for. Lines written to the old
//! file after the new one appears are not read — as with `tail -F`.
//!
//! **Stopping.** A shared flag ends the reading: at the next idle moment `read` returns
//! end of file, so what was read is finished normally (a summary printed, baselines
//! saved). A partial last line (a writer mid-line) waits for its newline like any other.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How a file is followed.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// How often an idle file is looked at.
    pub poll: Duration,
    /// Start at the current end (only what is written from now on), not the beginning.
    pub from_end: bool,
    /// Set to end the following.
    pub stop: Arc<AtomicBool>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll: Duration::from_millis(250),
            from_end: false,
            stop: Arc::new(AtomicBool::new(false)),
        }
    }
}

/// A file read as it grows, across rotations.
#[derive(Debug)]
pub struct Follow {
    path: PathBuf,
    file: File,
    /// The inode and device of the file being read.
    id: (u64, u64),
    /// Bytes read from it.
    pos: u64,
    opts: FollowOptions,
    /// Rotations and truncations seen.
    pub reopened: u64,
}

impl Follow {
    /// Opens `path` (it must exist now).
    pub fn open(path: &Path, opts: FollowOptions) -> io::Result<Self> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let pos = if opts.from_end {
            file.seek(SeekFrom::End(0))?
        } else {
            0
        };
        Ok(Follow {
            path: path.to_owned(),
            file,
            id: (meta.ino(), meta.dev()),
            pos,
            opts,
            reopened: 0,
        })
    }

    /// At the end of the current file: another file at the path, or this one truncated,
    /// is read from its start. Whether anything changed.
    fn check_rotation(&mut self) -> io::Result<bool> {
        let Ok(meta) = std::fs::metadata(&self.path) else {
            // Moved away and not yet created again.
            return Ok(false);
        };
        if (meta.ino(), meta.dev()) != self.id {
            let Ok(file) = File::open(&self.path) else {
                return Ok(false);
            };
            let meta = file.metadata()?;
            self.file = file;
            self.id = (meta.ino(), meta.dev());
            self.pos = 0;
            self.reopened += 1;
            return Ok(true);
        }
        if meta.len() < self.pos {
            self.file.seek(SeekFrom::Start(0))?;
            self.pos = 0;
            self.reopened += 1;
            return Ok(true);
        }
        Ok(false)
    }
}

impl Read for Follow {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Stopping is at once, even while the file keeps growing.
        if buf.is_empty() || self.opts.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        loop {
            let n = self.file.read(buf)?;
            if n > 0 {
                self.pos += n as u64;
                return Ok(n);
            }
            if self.check_rotation()? {
                continue;
            }
            if self.opts.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            std::thread::sleep(self.opts.poll);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;

    /// Follows `path` on a thread, sending each line; `stop` ends it.
    fn follow_lines(
        path: &Path,
        from_end: bool,
    ) -> (
        mpsc::Receiver<String>,
        Arc<AtomicBool>,
        std::thread::JoinHandle<u64>,
    ) {
        let stop = Arc::new(AtomicBool::new(false));
        let opts = FollowOptions {
            poll: Duration::from_millis(10),
            from_end,
            stop: stop.clone(),
        };
        let f = Follow::open(path, opts).unwrap_or_else(|e| panic!("{e}"));
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            let mut r = BufReader::new(f);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                let _ = tx.send(line.trim_end().to_owned());
                line.clear();
            }
            r.into_inner().reopened
        });
        (rx, stop, handle)
    }

    fn next(rx: &mpsc::Receiver<String>) -> String {
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("no line: {e}"))
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap_or_else(|e| panic!("{e}"));
        f.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn lines_written_later_and_across_rotations_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("auth.log");
        append(&path, "one\n");
        let (rx, stop, handle) = follow_lines(&path, false);
        assert_eq!(next(&rx), "one");
        // A line written in two pieces is one line.
        append(&path, "tw");
        std::thread::sleep(Duration::from_millis(50));
        append(&path, "o\n");
        assert_eq!(next(&rx), "two");
        // logrotate: renamed, then a new file at the path.
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(50));
        append(&path, "three\n");
        assert_eq!(next(&rx), "three");
        // copytruncate: the same file emptied, then written again.
        std::fs::write(&path, "").unwrap_or_else(|e| panic!("{e}"));
        std::thread::sleep(Duration::from_millis(50));
        append(&path, "four\n");
        assert_eq!(next(&rx), "four");
        stop.store(true, Ordering::Relaxed);
        let reopened = handle
            .join()
            .unwrap_or_else(|_| panic!("the follower panicked"));
        assert_eq!(reopened, 2);
        assert!(rx.try_recv().is_err(), "nothing twice");
    }

    #[test]
    fn from_the_end_only_new_lines_are_read() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("messages");
        append(&path, "old\nolder\n");
        let (rx, stop, handle) = follow_lines(&path, true);
        append(&path, "new\n");
        assert_eq!(next(&rx), "new");
        stop.store(true, Ordering::Relaxed);
        let _ = handle.join();
    }
}
