//! Text-log reading speed on one core: lines parsed per second (syslog headers, the
//! authentication messages in them, CEF and LEEF), and a whole auth log read into
//! activities (attempts counted once). The lines are generated here: a mix of what an
//! internet-facing Linux host's `auth.log` holds.

use divan::counter::ItemsCount;
use warden_ingest::text::{LineParser, SyslogOptions, TextActivities, TextLogReader};

fn main() {
    divan::main();
}

/// `n` lines: sshd failures with their PAM reports, invalid users, disconnects, logins,
/// sudo, cron sessions, kernel noise, and a CEF and a LEEF record now and then.
fn lines(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    let mut i = 0usize;
    while out.len() < n {
        let (m, s) = ((i / 60) % 60, i % 60);
        let t = format!("Dec  4 {:02}:{m:02}:{s:02}", 8 + (i / 3600) % 12);
        let ip = format!("203.0.{}.{}", (i * 7) % 250, (i * 13) % 250);
        let pid = 10_000 + i;
        let line = match i % 10 {
            0 => format!(
                "{t} web1 sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"
            ),
            1 => format!(
                "{t} web1 sshd[{}]: Failed password for root from {ip} port {} ssh2",
                pid - 1,
                30_000 + i % 30_000
            ),
            2 => format!(
                "{t} web1 sshd[{pid}]: Invalid user admin{} from {ip} port {}",
                i % 50,
                40_000 + i % 20_000
            ),
            3 => format!(
                "{t} web1 sshd[{pid}]: Received disconnect from {ip} port 51234:11: Bye Bye [preauth]"
            ),
            4 => format!(
                "{t} web1 sshd[{pid}]: Accepted publickey for ana from 10.0.0.{} port 50000 ssh2: RSA SHA256:Zm9vYmFy",
                i % 200
            ),
            5 => format!(
                "{t} web1 sudo:      ana : TTY=pts/0 ; PWD=/home/ana ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx"
            ),
            6 => format!(
                "{t} web1 CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
            ),
            7 => format!(
                "{t} web1 kernel: [12345.678] IPv4: martian source 10.0.0.1 from {ip}, on dev eth0"
            ),
            8 => format!(
                "<134>{t} fw01 CEF:0|Acme|FW|1.0|100|Connection denied|5|src={ip} dst=10.0.0.9 dpt=445 proto=TCP act=deny msg=blocked by policy 7"
            ),
            _ => format!(
                "<38>1 2026-12-04T{:02}:{m:02}:{s:02}Z web1 sshd {pid} - [meta sequenceId=\"{i}\"] Failed password for invalid user guest from {ip} port 2222 ssh2",
                8 + (i / 3600) % 12
            ),
        };
        out.push(line);
        i += 1;
    }
    out
}

#[divan::bench]
fn parse_line(bencher: divan::Bencher) {
    let input = lines(10_000);
    bencher
        .counter(ItemsCount::new(input.len()))
        .bench_local(|| {
            let mut p = LineParser::new(SyslogOptions::default());
            input
                .iter()
                .filter(|l| p.parse(divan::black_box(l)).is_ok())
                .count()
        });
}

#[divan::bench]
fn auth_log_to_activities(bencher: divan::Bencher) {
    let input = lines(10_000).join("\n").into_bytes();
    bencher
        .counter(ItemsCount::new(10_000usize))
        .bench_local(|| {
            let reader = TextLogReader::new(
                "bench.log".into(),
                Box::new(std::io::Cursor::new(input.clone())),
                "plain",
                1 << 20,
                SyslogOptions::default(),
            );
            TextActivities::new(reader).count()
        });
}
