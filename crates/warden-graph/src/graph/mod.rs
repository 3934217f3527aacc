//! The temporal entity graph: accounts, hosts, IP addresses, processes and groups as
//! nodes; logons, privilege use, group changes, tickets, process spawns and accesses,
//! and connections as edges, each with when it was first and last seen, how often, and
//! the first and last events that showed it.
//!
//! Compact by construction: names are interned once; an edge is a fixed-size record
//! (see [`EntityGraph::bytes`]); evidence is two references per edge, interned. Built in
//! one pass by [`EntityGraph::add`], which also serves a live stream (events may arrive
//! out of order: first/last seen are minima and maxima, not arrival order).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use warden_event::{EventRef, Timestamp};

/// Index of a node.
pub type NodeId = u32;
/// Index of an edge.
pub type EdgeId = u32;
mod events;

/// "No node" in an edge's actor slot.
pub const NO_NODE: NodeId = u32::MAX;
/// How close a management connection and a logon without a source must be to be joined.
const INBOUND_WINDOW_MS: i64 = 30_000;
/// Most SIDs remembered (one per account of a large domain).
const MAX_SIDS: usize = 4_000_000;
/// Ports of remote management: SMB, RPC, WinRM, RDP, SSH.
const MANAGEMENT_PORTS: [u16; 6] = [445, 135, 5985, 5986, 3389, 22];

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Account,
    Host,
    Ip,
    /// A program on a host, named `image@HOST`.
    Process,
    Group,
    /// What a user activity used: an application, a share, a data set.
    Resource,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Account => "account",
            NodeKind::Host => "host",
            NodeKind::Ip => "ip",
            NodeKind::Process => "process",
            NodeKind::Group => "group",
            NodeKind::Resource => "resource",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Account,
            Self::Host,
            Self::Ip,
            Self::Process,
            Self::Group,
            Self::Resource,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What an edge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// account → host, a logon on the host itself (type in the edge's detail).
    Logon,
    /// source host (or IP) → destination host, `actor` the account (type, NTLM bit in detail).
    RemoteLogon,
    /// account → host, or source → destination with `actor`, a failed logon.
    FailedLogon,
    /// acting account → account whose credentials it used, `actor` the host it ran on.
    ExplicitCredentials,
    /// account → host: special privileges at logon.
    Privileged,
    /// account → group, `actor` who added it.
    MemberOf,
    /// account → service host, `actor` the domain controller that issued the ticket.
    Ticket,
    /// parent process → child process, `actor` the account.
    Spawn,
    /// process → process it opened, `actor` the account.
    Access,
    /// host or IP → IP, `actor` the account.
    Connection,
    /// account → address it signed in from (user activity; detail: 1 when it failed).
    SignIn,
    /// account → resource it used (user activity; detail: the activity's kind).
    ResourceUse,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Logon => "logon",
            EdgeKind::RemoteLogon => "remote_logon",
            EdgeKind::FailedLogon => "failed_logon",
            EdgeKind::ExplicitCredentials => "explicit_credentials",
            EdgeKind::Privileged => "privileged",
            EdgeKind::MemberOf => "member_of",
            EdgeKind::Ticket => "ticket",
            EdgeKind::Spawn => "spawn",
            EdgeKind::Access => "access",
            EdgeKind::Connection => "connection",
            EdgeKind::SignIn => "sign_in",
            EdgeKind::ResourceUse => "resource_use",
        }
    }
}

/// The identity of an edge: one per (source, destination, actor, kind, detail).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeKey {
    pub src: NodeId,
    pub dst: NodeId,
    pub actor: NodeId,
    pub kind: EdgeKind,
    /// Logon type (low 7 bits) and NTLM (bit 7) for logons; 0 otherwise.
    pub detail: u8,
}

/// One well-mixed word per key: node ids are small and dense, and a weak combination of
/// them makes long probe sequences in the edge table.
impl std::hash::Hash for EdgeKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let a = (u64::from(self.src) << 32) | u64::from(self.dst);
        let b = (u64::from(self.actor) << 16) | ((self.kind as u64) << 8) | u64::from(self.detail);
        let mut x = a ^ b.rotate_left(29).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x >> 31;
        x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^= x >> 31;
        state.write_u64(x);
    }
}

impl EdgeKey {
    /// The logon type of a logon edge (0 for other kinds, whose detail means otherwise).
    pub fn logon_type(&self) -> u8 {
        if self.is_logon() {
            self.detail & 0x7f
        } else {
            0
        }
    }
    pub fn ntlm(&self) -> bool {
        self.is_logon() && self.detail & 0x80 != 0
    }
    fn is_logon(&self) -> bool {
        matches!(
            self.kind,
            EdgeKind::Logon | EdgeKind::RemoteLogon | EdgeKind::FailedLogon
        )
    }
}

/// One edge with its history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub key: EdgeKey,
    pub first: Timestamp,
    pub last: Timestamp,
    pub count: u32,
    /// The events that showed it first and last (indexes into the graph's references).
    pub first_ref: u32,
    pub last_ref: u32,
}

/// One node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub kind: NodeKind,
    pub name: Box<str>,
    pub first: Timestamp,
    pub last: Timestamp,
}

/// An interned event reference: the computer or source name interned, and the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct CompactRef {
    /// Index into `ref_names`, or `NO_NODE` when the record has no computer.
    name: u32,
    /// Record id, or line.
    number: u64,
    /// `EventRef::Line` rather than `EventRef::Record`; `Hash`/`EventId` keep their text
    /// in `ref_names` and number 0.
    kind: u8,
}

/// The graph.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EntityGraph {
    nodes: Vec<Node>,
    /// Name → node, one table per kind (looked up by `&str`, without allocating).
    #[serde(skip)]
    index: [FxHashMap<Box<str>, NodeId>; 6],
    edges: Vec<Edge>,
    #[serde(skip)]
    edge_index: FxHashMap<EdgeKey, EdgeId>,
    #[serde(skip)]
    out: Vec<Vec<EdgeId>>,
    #[serde(skip)]
    inc: Vec<Vec<EdgeId>>,
    /// Edges by their actor (an account's remote logons, its process spawns).
    #[serde(skip)]
    acted: Vec<Vec<EdgeId>>,
    refs: Vec<CompactRef>,
    ref_names: Vec<Box<str>>,
    #[serde(skip)]
    ref_name_index: FxHashMap<Box<str>, u32>,
    #[serde(skip)]
    scratch: String,
    /// IP address node → the host node it was last seen as.
    ip_host: FxHashMap<NodeId, NodeId>,
    /// Host node → its address last seen.
    #[serde(skip)]
    host_ip: FxHashMap<NodeId, NodeId>,
    /// Address → the host that last connected to it on a remote-management port, and when:
    /// the source of a network logon whose event names none (WinRM, SMB, RPC, RDP).
    #[serde(skip)]
    inbound: FxHashMap<NodeId, (NodeId, Timestamp)>,
    /// Domain SID → account node, learned from logons: a group change names its member by
    /// SID (its distinguished name carries a display name, not the account name).
    #[serde(default)]
    sid_account: FxHashMap<Box<str>, NodeId>,
    events: u64,
    /// Most edges kept (0: no limit); new edges past it are counted in `dropped_edges`.
    #[serde(default)]
    max_edges: usize,
    #[serde(default)]
    dropped_edges: u64,
}

/// The edges one event touched: the main one, and whether it was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub edge: EdgeId,
    pub new: bool,
}

impl EntityGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the lookup tables after deserialising (they are not stored).
    pub fn reindex(&mut self) {
        self.index = Default::default();
        for (i, n) in self.nodes.iter().enumerate() {
            self.index[n.kind as usize].insert(n.name.clone(), i as NodeId);
        }
        self.edge_index = self
            .edges
            .iter()
            .enumerate()
            .map(|(i, e)| (e.key, i as EdgeId))
            .collect();
        self.out = vec![Vec::new(); self.nodes.len()];
        self.inc = vec![Vec::new(); self.nodes.len()];
        self.acted = vec![Vec::new(); self.nodes.len()];
        for (i, e) in self.edges.iter().enumerate() {
            self.out[e.key.src as usize].push(i as EdgeId);
            self.inc[e.key.dst as usize].push(i as EdgeId);
            if e.key.actor != NO_NODE {
                self.acted[e.key.actor as usize].push(i as EdgeId);
            }
        }
        self.host_ip = self.ip_host.iter().map(|(&ip, &h)| (h, ip)).collect();
        self.ref_name_index = self
            .ref_names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as u32))
            .collect();
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
    pub fn edge_count(&self) -> usize {
        self.edges.len()
    }
    /// Events added.
    pub fn event_count(&self) -> u64 {
        self.events
    }

    /// Keeps at most `max` edges (0: no limit): past it, edges already known are still
    /// updated and new ones are counted in [`EntityGraph::dropped_edges`], not kept.
    pub fn set_max_edges(&mut self, max: usize) {
        self.max_edges = max;
    }

    /// New edges not kept because of the limit.
    pub fn dropped_edges(&self) -> u64 {
        self.dropped_edges
    }

    /// Approximate heap bytes held, for the bytes-per-edge figure.
    pub fn bytes(&self) -> usize {
        let names: usize = self.nodes.iter().map(|n| n.name.len() * 2).sum();
        let ref_names: usize = self.ref_names.iter().map(|n| n.len() * 2).sum();
        let adjacency: usize = self
            .out
            .iter()
            .chain(self.inc.iter())
            .chain(self.acted.iter())
            .map(|v| v.capacity() * 4 + 24)
            .sum();
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self
                .index
                .iter()
                .map(|m| m.capacity() * (std::mem::size_of::<(Box<str>, NodeId)>() + 1))
                .sum::<usize>()
            + self.edges.capacity() * std::mem::size_of::<Edge>()
            + self.edge_index.capacity() * (std::mem::size_of::<EdgeKey>() + 5)
            + self.refs.capacity() * std::mem::size_of::<CompactRef>()
            + self.ip_host.capacity() * 9
            + names
            + ref_names
            + adjacency
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes.iter().enumerate().map(|(i, n)| (i as NodeId, n))
    }

    pub fn edge(&self, id: EdgeId) -> &Edge {
        &self.edges[id as usize]
    }

    pub fn edges(&self) -> impl Iterator<Item = (EdgeId, &Edge)> {
        self.edges.iter().enumerate().map(|(i, e)| (i as EdgeId, e))
    }

    /// The node of that kind and (normalised) name.
    pub fn find(&self, kind: NodeKind, name: &str) -> Option<NodeId> {
        self.index[kind as usize].get(name).copied()
    }

    /// The edge with that key.
    pub fn find_edge(&self, key: &EdgeKey) -> Option<EdgeId> {
        self.edge_index.get(key).copied()
    }

    /// The ids of the edges leaving `n`.
    pub fn out_ids(&self, n: NodeId) -> &[EdgeId] {
        self.out.get(n as usize).map_or(&[], Vec::as_slice)
    }

    /// The ids of the edges `n` is the actor of.
    pub fn acted_ids(&self, n: NodeId) -> &[EdgeId] {
        self.acted.get(n as usize).map_or(&[], Vec::as_slice)
    }

    /// The ids of the edges arriving at `n`.
    pub fn in_ids(&self, n: NodeId) -> &[EdgeId] {
        self.inc.get(n as usize).map_or(&[], Vec::as_slice)
    }

    pub fn out_edges(&self, n: NodeId) -> impl Iterator<Item = &Edge> {
        self.out
            .get(n as usize)
            .into_iter()
            .flatten()
            .map(|&e| &self.edges[e as usize])
    }

    pub fn in_edges(&self, n: NodeId) -> impl Iterator<Item = &Edge> {
        self.inc
            .get(n as usize)
            .into_iter()
            .flatten()
            .map(|&e| &self.edges[e as usize])
    }

    /// The host an IP address was last seen as, if any.
    pub fn host_of_ip(&self, ip: NodeId) -> Option<NodeId> {
        self.ip_host.get(&ip).copied()
    }

    /// The event reference `i` (an edge's `first_ref`/`last_ref`) as an [`EventRef`].
    pub fn reference(&self, i: u32) -> Option<EventRef> {
        let r = self.refs.get(i as usize)?;
        let name = || self.ref_names.get(r.name as usize).map(|n| n.to_string());
        Some(match r.kind {
            0 => EventRef::Record {
                computer: name(),
                record_id: r.number,
            },
            1 => EventRef::Line {
                source: name().unwrap_or_default(),
                line: r.number,
            },
            2 => EventRef::EventId {
                event_id: name().unwrap_or_default(),
            },
            4 => EventRef::Connection {
                uid: name().unwrap_or_default(),
            },
            _ => EventRef::Hash {
                hash: name().unwrap_or_default(),
            },
        })
    }

    /// Interns a node, widening its first/last seen.
    pub fn intern(&mut self, kind: NodeKind, name: &str, t: Timestamp) -> NodeId {
        if let Some(&id) = self.index[kind as usize].get(name) {
            let n = &mut self.nodes[id as usize];
            n.first = n.first.min(t);
            n.last = n.last.max(t);
            return id;
        }
        let id = self.nodes.len() as NodeId;
        let name: Box<str> = name.into();
        self.nodes.push(Node {
            kind,
            name: name.clone(),
            first: t,
            last: t,
        });
        self.index[kind as usize].insert(name, id);
        self.out.push(Vec::new());
        self.inc.push(Vec::new());
        self.acted.push(Vec::new());
        id
    }

    fn intern_ref(&mut self, r: &EventRef) -> u32 {
        let c = self.compact_ref(r);
        self.refs.push(c);
        (self.refs.len() - 1) as u32
    }

    fn compact_ref(&mut self, r: &EventRef) -> CompactRef {
        let (kind, text, number) = match r {
            EventRef::Record {
                computer,
                record_id,
            } => (0u8, computer.as_deref(), *record_id),
            EventRef::Line { source, line } => (1, Some(source.as_str()), *line),
            EventRef::EventId { event_id } => (2, Some(event_id.as_str()), 0),
            EventRef::Hash { hash } => (3, Some(hash.as_str()), 0),
            EventRef::Connection { uid } => (4, Some(uid.as_str()), 0),
        };
        let name = match text {
            None => NO_NODE,
            Some(t) => match self.ref_name_index.get(t) {
                Some(&i) => i,
                None => {
                    let i = self.ref_names.len() as u32;
                    self.ref_names.push(t.into());
                    self.ref_name_index.insert(t.into(), i);
                    i
                }
            },
        };
        CompactRef { name, number, kind }
    }

    /// Adds one occurrence of an edge; says whether the edge is new. `None` when it is new
    /// and the graph is full.
    pub fn touch(&mut self, key: EdgeKey, t: Timestamp, r: &EventRef) -> Option<Touched> {
        if let Some(&id) = self.edge_index.get(&key) {
            let e = self.edges[id as usize];
            let (mut first_ref, mut last_ref) = (e.first_ref, e.last_ref);
            if t < e.first {
                first_ref = self.intern_ref(r);
            } else if t >= e.last {
                // Keep the last reference current without growing the arena on every
                // repeat: overwrite it when it is the edge's own.
                if e.last_ref != e.first_ref {
                    self.overwrite_ref(e.last_ref, r);
                } else {
                    last_ref = self.intern_ref(r);
                }
            }
            let edge = &mut self.edges[id as usize];
            edge.first = edge.first.min(t);
            edge.last = edge.last.max(t);
            edge.count = edge.count.saturating_add(1);
            edge.first_ref = first_ref;
            edge.last_ref = last_ref;
            return Some(Touched {
                edge: id,
                new: false,
            });
        }
        if self.max_edges > 0 && self.edges.len() >= self.max_edges {
            self.dropped_edges += 1;
            return None;
        }
        let rid = self.intern_ref(r);
        let id = self.edges.len() as EdgeId;
        self.edges.push(Edge {
            key,
            first: t,
            last: t,
            count: 1,
            first_ref: rid,
            last_ref: rid,
        });
        self.edge_index.insert(key, id);
        self.out[key.src as usize].push(id);
        self.inc[key.dst as usize].push(id);
        if key.actor != NO_NODE {
            self.acted[key.actor as usize].push(id);
        }
        Some(Touched {
            edge: id,
            new: true,
        })
    }

    fn overwrite_ref(&mut self, slot: u32, r: &EventRef) {
        // The common case — the same computer, a later record — needs no name lookup.
        if let (
            EventRef::Record {
                computer,
                record_id,
            },
            Some(old),
        ) = (r, self.refs.get(slot as usize))
            && old.kind == 0
        {
            let same = match computer.as_deref() {
                None => old.name == NO_NODE,
                Some(c) => self
                    .ref_names
                    .get(old.name as usize)
                    .is_some_and(|n| **n == *c),
            };
            if same {
                if let Some(old) = self.refs.get_mut(slot as usize) {
                    old.number = *record_id;
                }
                return;
            }
        }
        let c = self.compact_ref(r);
        if let Some(old) = self.refs.get_mut(slot as usize) {
            *old = c;
        }
    }

    /// Serialises the graph (postcard).
    pub fn to_bytes(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_stdvec(self)
    }

    /// Reads a graph written by [`EntityGraph::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        let mut g: EntityGraph = postcard::from_bytes(bytes)?;
        if g.nodes.len() > u32::MAX as usize / 2 {
            return Err(postcard::Error::DeserializeBadEncoding);
        }
        let n = g.nodes.len() as u32;
        let refs = g.refs.len() as u32;
        let names = g.ref_names.len() as u32;
        let bad_edge = g.edges.iter().any(|e| {
            e.key.src >= n
                || e.key.dst >= n
                || (e.key.actor != NO_NODE && e.key.actor >= n)
                || e.first_ref >= refs
                || e.last_ref >= refs
        });
        let bad_ref = g.refs.iter().any(|r| r.name != NO_NODE && r.name >= names);
        let bad_ip = g.ip_host.iter().any(|(a, b)| *a >= n || *b >= n)
            || g.sid_account.values().any(|a| *a >= n);
        if bad_edge || bad_ref || bad_ip {
            return Err(postcard::Error::DeserializeBadEncoding);
        }
        g.reindex();
        Ok(g)
    }
}
