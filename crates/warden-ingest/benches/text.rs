//! Text-log reading speed on one core: lines parsed per second (syslog headers, the
//! authentication messages in them, CEF and LEEF), and a whole auth log read into
//! activities (attempts counted once). The lines are generated here: a mix of what an
//! internet-facing Linux host's `auth.log` holds — and, per format, lines of one kind
//! (`per_format`), and Zeek `conn` logs in TSV and JSON read into documents (`zeek`).

use divan::counter::ItemsCount;
use warden_ingest::text::{LineParser, SyslogOptions, TextActivities, TextLogReader};
use warden_ingest::zeek;

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

/// Every line through a fresh parser, timed.
fn bench_parse(bencher: divan::Bencher, input: &[String]) {
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
fn parse_line(bencher: divan::Bencher) {
    bench_parse(bencher, &lines(10_000));
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

/// Line `i` of one format.
fn line_of(format: &str, i: usize) -> String {
    let (m, s) = ((i / 60) % 60, i % 60);
    let t = format!("Dec  4 10:{m:02}:{s:02}");
    let ip = format!("203.0.{}.{}", (i * 7) % 250, (i * 13) % 250);
    match format {
        "rfc3164" => format!(
            "{t} web1 kernel: [12345.678] IPv4: martian source 10.0.0.1 from {ip}, on dev eth0"
        ),
        "rfc3164-sshd" => format!(
            "{t} web1 sshd[{}]: Failed password for invalid user admin{} from {ip} port {} ssh2",
            10_000 + i,
            i % 50,
            30_000 + i % 30_000
        ),
        "rfc5424" => format!(
            "<38>1 2026-12-04T10:{m:02}:{s:02}.123Z web1 app {} ID47 [meta sequenceId=\"{i}\" src=\"{ip}\"] job {i} finished in 12 ms",
            10_000 + i
        ),
        "cef" => format!(
            "<134>{t} fw01 CEF:0|Acme|FW|1.0|100|Connection denied|5|src={ip} spt={} dst=10.0.0.9 dpt=445 proto=TCP act=deny suser=ana msg=blocked by policy 7",
            40_000 + i % 20_000
        ),
        "leef" => format!(
            "<134>{t} fw01 LEEF:2.0|Acme|FW|1.0|denied|^|src={ip}^dst=10.0.0.9^dstPort=445^proto=TCP^usrName=ana^action=deny"
        ),
        "access" => format!(
            "{ip} - - [04/Dec/2026:10:{m:02}:{s:02} +0000] \"GET /shop/item?id={i}&ref=home HTTP/1.1\" 200 {} \"https://shop.example.com/\" \"Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\"",
            1000 + i % 9000
        ),
        "audit" => format!(
            "type=USER_LOGIN msg=audit(1764842400.{:03}:{i}): pid={} uid=0 auid=4294967295 ses=4294967295 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" hostname=? addr={ip} terminal=sshd res=failed'",
            i % 1000,
            10_000 + i
        ),
        _ => format!(
            "{t} app01 sysmon: <Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{{ff032593-a8d3-4f13-b0d6-01fc615a0f97}}\"/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime=\"2026-12-04T10:{m:02}:{s:02}.123456000Z\"/><EventRecordID>{i}</EventRecordID><Correlation/><Execution ProcessID=\"1120\" ThreadID=\"1120\"/><Channel>Linux-Sysmon/Operational</Channel><Computer>app01</Computer><Security UserId=\"0\"/></System><EventData><Data Name=\"RuleName\">-</Data><Data Name=\"UtcTime\">2026-12-04 10:{m:02}:{s:02}.123</Data><Data Name=\"ProcessId\">{}</Data><Data Name=\"Image\">/usr/bin/curl</Data><Data Name=\"CommandLine\">curl -s https://example.org/{i}</Data><Data Name=\"CurrentDirectory\">/tmp</Data><Data Name=\"User\">ana</Data><Data Name=\"ParentProcessId\">900</Data><Data Name=\"ParentImage\">/usr/bin/bash</Data><Data Name=\"ParentCommandLine\">bash</Data></EventData></Event>",
            10_000 + i
        ),
    }
}

#[divan::bench(args = ["rfc3164", "rfc3164-sshd", "rfc5424", "cef", "leef", "audit", "access", "sysmon-linux"])]
fn per_format(bencher: divan::Bencher, format: &str) {
    let input: Vec<String> = (0..10_000).map(|i| line_of(format, i)).collect();
    let mut p = LineParser::new(SyslogOptions::default());
    assert!(
        input.iter().all(|l| p.parse(l).is_ok()),
        "{format}: every line parses"
    );
    bench_parse(bencher, &input);
}

/// A Zeek `conn` log of `n` records, TSV (with its header) or JSON Lines.
fn conn_log(n: usize, json: bool) -> Vec<u8> {
    let mut out = String::new();
    if !json {
        out.push_str("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n");
        out.push_str("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n");
        out.push_str("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n");
    }
    for i in 0..n {
        let (ts, src, dst) = (
            1_764_842_400.0 + i as f64 * 0.37,
            format!("10.1.{}.{}", i % 4, i % 250 + 1),
            format!("203.0.{}.{}", i % 30, i % 250 + 1),
        );
        if json {
            out.push_str(&format!(
                "{{\"ts\":{ts:.6},\"uid\":\"C{i:017}\",\"id.orig_h\":\"{src}\",\"id.orig_p\":{},\"id.resp_h\":\"{dst}\",\"id.resp_p\":443,\"proto\":\"tcp\",\"service\":\"ssl\",\"duration\":1.25,\"orig_bytes\":{},\"resp_bytes\":{},\"conn_state\":\"SF\",\"local_orig\":true,\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":12,\"orig_ip_bytes\":1400,\"resp_pkts\":14,\"resp_ip_bytes\":9000,\"tunnel_parents\":[]}}\n",
                40_000 + i % 20_000,
                700 + i % 300,
                5_000 + i % 9_000
            ));
        } else {
            out.push_str(&format!(
                "{ts:.6}\tC{i:017}\t{src}\t{}\t{dst}\t443\ttcp\tssl\t1.25\t{}\t{}\tSF\tT\t0\tShADadFf\t12\t1400\t14\t9000\t(empty)\n",
                40_000 + i % 20_000,
                700 + i % 300,
                5_000 + i % 9_000
            ));
        }
    }
    out.into_bytes()
}

#[divan::bench(args = ["tsv", "json"])]
fn zeek_conn(bencher: divan::Bencher, format: &str) {
    let n = 10_000;
    let input = conn_log(n, format == "json");
    bencher.counter(ItemsCount::new(n)).bench_local(|| {
        let mut ok = 0usize;
        zeek::read(
            "conn.log",
            Box::new(std::io::Cursor::new(input.clone())),
            "plain",
            &mut |r| ok += usize::from(r.is_ok()),
        );
        assert_eq!(ok, n);
        ok
    });
}
