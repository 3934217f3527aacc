//! A synthetic company for the graph's benchmarks: `hosts` hosts (90% workstations with one
//! owner each, 9% servers, 1% domain controllers), a few admins through a jump host, and a
//! day's events in time order — logons to usual servers, Kerberos tickets, process starts
//! — produced one at a time so ten million need no memory.

use warden_event::{EventRef, Timestamp};
use warden_graph::GraphEvent;
use warden_graph::event::Action;

/// A small deterministic generator (xorshift), so runs compare.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const PROGRAMS: [&str; 12] = [
    "explorer.exe",
    "chrome.exe",
    "outlook.exe",
    "excel.exe",
    "winword.exe",
    "teams.exe",
    "notepad.exe",
    "code.exe",
    "acrobat.exe",
    "powerpnt.exe",
    "onenote.exe",
    "slack.exe",
];

/// The company and a cursor over its day.
pub struct Company {
    pub workstations: usize,
    pub servers: usize,
    pub dcs: usize,
    rng: Rng,
    start: i64,
    step_ms: f64,
    emitted: u64,
    total: u64,
}

impl Company {
    /// `hosts` hosts and `events` events spread over one day.
    pub fn new(hosts: usize, events: u64, seed: u64) -> Self {
        let dcs = (hosts / 100).max(1);
        let servers = (hosts * 9 / 100).max(1);
        Company {
            workstations: hosts.saturating_sub(dcs + servers).max(1),
            servers,
            dcs,
            rng: Rng::new(seed),
            start: 1_780_000_000_000,
            step_ms: 86_400_000.0 / events.max(1) as f64,
            emitted: 0,
            total: events,
        }
    }

    /// Spreads the events over `days` days instead of one.
    pub fn over_days(mut self, days: f64) -> Self {
        self.step_ms = days.max(0.0) * 86_400_000.0 / self.total.max(1) as f64;
        self
    }

    fn usual_server(&self, user: usize, k: usize) -> usize {
        (user * 7 + k * 13) % self.servers
    }
}

impl Iterator for Company {
    type Item = GraphEvent;

    fn next(&mut self) -> Option<GraphEvent> {
        if self.emitted >= self.total {
            return None;
        }
        let n = self.emitted;
        self.emitted += 1;
        let time = Timestamp(self.start + (n as f64 * self.step_ms) as i64);
        let user = self.rng.below(self.workstations);
        let ws = format!("WS-{user:05}");
        let reference = |host: &str| EventRef::Record {
            computer: Some(format!("{host}.corp.example")),
            record_id: n,
        };
        let roll = self.rng.below(100);
        let e = if roll < 30 {
            // A network logon to one of the user's three usual servers.
            let k = self.rng.below(3);
            let srv = format!("SRV-{:04}", self.usual_server(user, k));
            let mut e = GraphEvent::new(
                time,
                Action::Logon {
                    logon_type: 3,
                    ntlm: false,
                },
                reference(&srv),
            );
            e.account = Some(format!("user{user:05}"));
            e.source_host = Some(ws);
            e.host = Some(srv);
            e
        } else if roll < 55 {
            let k = self.rng.below(3);
            let srv = format!("SRV-{:04}", self.usual_server(user, k));
            let dc = format!("DC-{:02}", self.rng.below(self.dcs));
            let mut e = GraphEvent::new(
                time,
                Action::Ticket {
                    service_host: Some(srv),
                    tgt: false,
                },
                reference(&dc),
            );
            e.account = Some(format!("user{user:05}"));
            e.host = Some(dc);
            e
        } else if roll < 57 {
            let mut e = GraphEvent::new(
                time,
                Action::Logon {
                    logon_type: 2,
                    ntlm: false,
                },
                reference(&ws),
            );
            e.account = Some(format!("user{user:05}"));
            e.host = Some(ws);
            e
        } else if roll < 58 {
            // An admin through the jump host.
            let admin = user % 50;
            let srv = format!("SRV-{:04}", self.rng.below(self.servers));
            let mut e = GraphEvent::new(
                time,
                Action::Logon {
                    logon_type: 10,
                    ntlm: false,
                },
                reference(&srv),
            );
            e.account = Some(format!("adm{admin:02}"));
            e.source_host = Some("JUMP-01".into());
            e.host = Some(srv);
            e
        } else {
            let child = PROGRAMS[self.rng.below(PROGRAMS.len())];
            let parent = if child == "explorer.exe" {
                "userinit.exe"
            } else {
                "explorer.exe"
            };
            let mut e = GraphEvent::new(
                time,
                Action::ProcessStart {
                    image: format!("C:\\Program Files\\App\\{child}"),
                    parent: format!("C:\\Windows\\{parent}"),
                    command_line: child.to_owned(),
                },
                reference(&ws),
            );
            e.account = Some(format!("user{user:05}"));
            e.host = Some(ws);
            e
        };
        Some(e)
    }
}

/// A graph of `edges` random remote logons between `hosts` hosts, for path queries.
pub fn random_graph(hosts: usize, edges: usize, seed: u64) -> warden_graph::EntityGraph {
    let mut rng = Rng::new(seed);
    let mut g = warden_graph::EntityGraph::new();
    for i in 0..edges {
        let (a, b) = (rng.below(hosts), rng.below(hosts));
        let mut e = GraphEvent::new(
            Timestamp(i as i64),
            Action::Logon {
                logon_type: 3,
                ntlm: false,
            },
            EventRef::Record {
                computer: None,
                record_id: i as u64,
            },
        );
        e.account = Some(format!("u{}", rng.below(hosts / 4 + 1)));
        e.source_host = Some(format!("H{a}"));
        e.host = Some(format!("H{b}"));
        g.add(&e);
    }
    g
}
