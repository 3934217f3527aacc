//! The program that starts a statement, read as its name: `"C:\Windows\System32\cmd.exe" /c
//! whoami` is `cmd /c whoami` to the learned model.
//!
//! Process-creation telemetry (Sysmon event 1, Security 4688, an EDR's process start) writes
//! every image with its directory and extension, because that is what the process was
//! started from; people writing documentation or attack recipes mostly do not, and the
//! command corpora a model learns from have the two styles on two sides: 112 of the 113
//! texts of the shared corpus that start with `C:\Windows\System32\…\x.exe` are malicious,
//! and `x.exe args` is how LOLBAS writes what tldr writes as `x args`. A model that sees the
//! path learns who wrote the text, and then finds every `svchost.exe -k netsvcs` a Sysmon
//! stream logs as malicious as an Atomic Red Team test. Where a program was started from
//! still matters when it is a user's folder: that is a signature (`user-folder-execution`),
//! read on the text as written. Linux telemetry is alike: cron and `system()` start
//! `/bin/sh -c …`, a service manager `/usr/sbin/sshd -D`, and GTFOBins' `/bin/sh` made the
//! path itself evidence; programs in the system's own directories are read by name, and a
//! program run from anywhere else (`/tmp/x`, `./x`) keeps its path.

use std::borrow::Cow;

/// Longest image token looked at (Windows paths are at most 260 characters, quoted).
const MAX_IMAGE: usize = 300;

/// `text` with the program at the start of each line written as its bare name (no
/// directory, no `.exe`), or `text` itself when no line starts with a path or an `.exe`.
pub fn launch_names(text: &str) -> Cow<'_, str> {
    let mut out: Option<String> = None;
    // Bytes of `text` already copied to `out`.
    let mut copied = 0;
    let mut line_start = 0;
    loop {
        if let Some((from, to, _, name)) = image_at(&text[line_start..]) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[copied..line_start + from]);
            o.push_str(name);
            copied = line_start + to;
        }
        match text[line_start..].find(['\n', '\r']) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    match out {
        Some(mut o) => {
            o.push_str(&text[copied..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(text),
    }
}

/// The length of `text` as [`launch_names`] writes it, and how many of `paths` (found in
/// it by the tokenizer) are not one of the images it names: what the learned view's size
/// and path count are when images are read by their names.
pub fn measure(text: &str, paths: &[String]) -> (usize, usize) {
    let (mut len, mut images) = (text.len(), Vec::new());
    let mut line_start = 0;
    loop {
        if let Some((from, to, token, name)) = image_at(&text[line_start..]) {
            len = len - (to - from) + name.len();
            if token.contains(['\\', '/']) {
                images.push(token);
            }
        }
        match text[line_start..].find(['\n', '\r']) {
            Some(i) => line_start += i + 1,
            None => break,
        }
    }
    let others = paths
        .iter()
        .filter(|p| !images.iter().any(|i| i.starts_with(p.as_str())))
        .count();
    (len, others)
}

/// The image at the start of `line` (after blanks): where it starts (a kernel path's
/// `\??\` included) and ends, the image as written, and its bare name.
fn image_at(line: &str) -> Option<(usize, usize, &str, &str)> {
    let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
    let mut at = lead;
    if line[at..].starts_with(r"\??\") {
        at += 4;
    }
    let rest = &line[at..];
    let (token, taken) = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find(['"', '\n', '\r'])?;
        if !quoted[end..].starts_with('"') {
            return None;
        }
        (&quoted[..end], end + 2)
    } else {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        (&rest[..end], end)
    };
    if token.is_empty() || token.len() > MAX_IMAGE {
        return None;
    }
    let name = bare_name(token)?;
    Some((lead, at + taken, token, name))
}

/// Directories a POSIX system's own programs run from: `/bin/sh -c …` is how cron and
/// `system()` start a shell, `/usr/sbin/sshd -D` how a service manager starts a daemon.
/// Programs in them are read by name; a program run from anywhere else (`/tmp/x`,
/// `./x`, `/opt/x`) keeps its path.
const POSIX_BIN: [&str; 6] = [
    "/bin/",
    "/sbin/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
];
/// Library directories, where helpers live in subdirectories (`/usr/lib/apt/methods/http`).
const POSIX_LIB: [&str; 5] = [
    "/lib/",
    "/lib64/",
    "/usr/lib/",
    "/usr/lib64/",
    "/usr/libexec/",
];

/// The program's name when `token` is written as an image: it ends in `.exe`, it is an
/// absolute Windows path (`C:\…`, `\\host\…`, `%windir%\…`) to a file without extension,
/// or a POSIX system program's path.
fn bare_name(token: &str) -> Option<&str> {
    if let Some(rest) = POSIX_BIN.iter().find_map(|d| token.strip_prefix(d)) {
        return (!rest.is_empty() && !rest.contains('/')).then_some(rest);
    }
    if POSIX_LIB.iter().any(|d| token.starts_with(d)) {
        let file = token.rsplit('/').next().unwrap_or("");
        return (!file.is_empty()).then_some(file);
    }
    let file = token.rsplit(['\\', '/']).next().unwrap_or(token);
    let ext = file
        .len()
        .checked_sub(4)
        .filter(|&i| file.is_char_boundary(i));
    if let Some(i) = ext
        && file[i..].eq_ignore_ascii_case(".exe")
    {
        return (i > 0).then(|| &file[..i]);
    }
    let absolute = token.starts_with(r"\\")
        || token.starts_with('%') && token[1..].contains(r"%\")
        || token.as_bytes().get(1..3) == Some(br":\".as_slice())
            && token.as_bytes()[0].is_ascii_alphabetic();
    (absolute && file != token && !file.is_empty() && !file.contains('.')).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_path_becomes_the_programs_name() {
        for (text, want) in [
            (
                r#""C:\Windows\System32\cmd.exe" /c whoami"#,
                "cmd /c whoami",
            ),
            (
                r"C:\Windows\system32\svchost.exe -k netsvcs -p -s gpsvc",
                "svchost -k netsvcs -p -s gpsvc",
            ),
            (
                r"\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1",
                "conhost 0xffffffff -ForceV1",
            ),
            (
                r"C:\Windows\System32\WindowsPowershell\v1.0\powershell -noP -enc AA",
                "powershell -noP -enc AA",
            ),
            (
                r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --type=renderer"#,
                "msedge --type=renderer",
            ),
            (
                "certutil.exe -urlcache -f http://x/a a",
                "certutil -urlcache -f http://x/a a",
            ),
            ("EXCEL.EXE", "EXCEL"),
            (r"%windir%\system32\rundll32 x.dll,y", "rundll32 x.dll,y"),
            (r"\\host\share\tool.exe /run", "tool /run"),
            (
                "/bin/sh -c run-parts --report /etc/cron.daily",
                "sh -c run-parts --report /etc/cron.daily",
            ),
            ("/usr/sbin/sshd -D", "sshd -D"),
            ("/usr/lib/apt/methods/http", "http"),
            ("/lib/systemd/systemd-journald", "systemd-journald"),
        ] {
            assert_eq!(launch_names(text), want, "{text}");
        }
    }

    #[test]
    fn every_line_is_a_statement_and_the_rest_of_a_line_stays() {
        assert_eq!(
            launch_names("cmd.exe /c copy a.exe b.exe\n  reg.exe save HKLM\\SAM s\r\nwhoami"),
            "cmd /c copy a.exe b.exe\n  reg save HKLM\\SAM s\r\nwhoami"
        );
    }

    #[test]
    fn what_is_not_an_image_is_left_as_written() {
        for text in [
            "whoami /all",
            "ls -la /tmp",
            "/tmp/.x/kworker -c 1",
            "./exploit",
            "/opt/app/bin/run",
            "/usr/bin/",
            "/usr/bin/x/y",
            "/usr/lib/",
            r"C:\AtomicRedTeam\atomics\T1218\src\T1218.txt",
            r#""C:\Program Files\x.exe"#,
            ".exe",
            r#""" /c"#,
            "",
            "ab\u{e9}xe",
        ] {
            assert!(matches!(launch_names(text), Cow::Borrowed(_)), "{text}");
        }
        assert_eq!(launch_names("é.exe arg"), "é arg");
    }

    #[test]
    fn the_size_and_paths_leave_out_the_images() {
        let text = r#""C:\Program Files\Edge\msedge.exe" --type=gpu C:\Users\a\x.log"#;
        let paths = vec![r"C:\Program".to_string(), r"C:\Users\a\x.log".to_string()];
        assert_eq!(
            measure(text, &paths),
            ("msedge --type=gpu C:\\Users\\a\\x.log".len(), 1)
        );
        assert_eq!(measure("whoami /all", &[]), (11, 0));
        let two = "cmd.exe /c a\nC:\\Windows\\reg.exe save x";
        assert_eq!(
            measure(two, &[r"C:\Windows\reg.exe".to_string()]),
            ("cmd /c a\nreg save x".len(), 0)
        );
    }
}
