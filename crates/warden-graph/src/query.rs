//! Questions asked of a built graph: the shortest path from an entity to others (as of a
//! time), an entity's neighbourhood, the edges first seen in a window; and the whole
//! graph as GraphML (Gephi, Cytoscape) or JSON.

use std::collections::VecDeque;
use std::io::{self, Write};

use serde_json::{Value, json};
use warden_event::Timestamp;

use crate::event::{normalize_account, normalize_host, normalize_ip};
use crate::graph::{Edge, EdgeId, EdgeKind, EntityGraph, NO_NODE, NodeId, NodeKind};

/// Finds an entity named `host:WS-1`, `account:alice`, `ip:10.0.0.1`, `group:…`,
/// `process:…`, or by a bare name (tried as host, account, then address).
pub fn resolve(g: &EntityGraph, spec: &str) -> Option<NodeId> {
    if let Some((kind, name)) = spec.split_once(':')
        && let Some(kind) = NodeKind::parse(kind)
    {
        let name = match kind {
            NodeKind::Host => normalize_host(name)?,
            NodeKind::Account => normalize_account(name)?,
            NodeKind::Ip => normalize_ip(name)?,
            NodeKind::Group => name.to_ascii_lowercase(),
            NodeKind::Resource => crate::extract::activity::normalize_resource(name)?,
            NodeKind::Process => name.to_owned(),
        };
        return g.find(kind, &name);
    }
    normalize_host(spec)
        .and_then(|h| g.find(NodeKind::Host, &h))
        .or_else(|| normalize_account(spec).and_then(|a| g.find(NodeKind::Account, &a)))
        .or_else(|| normalize_ip(spec).and_then(|a| g.find(NodeKind::Ip, &a)))
}

/// A path: the edges from the start to one target, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub target: NodeId,
    pub edges: Vec<EdgeId>,
}

/// The shortest path (fewest edges, following edge direction) from `from` to each of
/// `targets` reachable within `max_hops`, nearest first, using only edges first seen by
/// `as_of`.
pub fn shortest_paths(
    g: &EntityGraph,
    from: NodeId,
    targets: &[NodeId],
    as_of: Option<Timestamp>,
    max_hops: usize,
) -> Vec<Path> {
    let n = g.node_count();
    let mut via: Vec<EdgeId> = vec![u32::MAX; n];
    let mut depth: Vec<u16> = vec![u16::MAX; n];
    let Some(d) = depth.get_mut(from as usize) else {
        return Vec::new();
    };
    *d = 0;
    let mut queue = VecDeque::from([from]);
    let mut left: Vec<NodeId> = targets.iter().copied().filter(|&t| t != from).collect();
    let mut found = Vec::new();
    while let Some(node) = queue.pop_front() {
        let d = depth[node as usize];
        if usize::from(d) >= max_hops || left.is_empty() {
            continue;
        }
        for (eid, e) in out_with_ids(g, node) {
            if as_of.is_some_and(|t| e.first > t) {
                continue;
            }
            let next = e.key.dst as usize;
            if depth[next] != u16::MAX {
                continue;
            }
            depth[next] = d + 1;
            via[next] = eid;
            queue.push_back(e.key.dst);
            if let Some(i) = left.iter().position(|&t| t == e.key.dst) {
                left.swap_remove(i);
                found.push(e.key.dst);
            }
        }
    }
    found
        .into_iter()
        .map(|target| {
            let mut edges = Vec::new();
            let mut at = target;
            while at != from {
                let eid = via[at as usize];
                edges.push(eid);
                at = g.edge(eid).key.src;
            }
            edges.reverse();
            Path { target, edges }
        })
        .collect()
}

fn out_with_ids(g: &EntityGraph, n: NodeId) -> impl Iterator<Item = (EdgeId, &Edge)> {
    g.out_ids(n).iter().map(move |&id| (id, g.edge(id)))
}

/// The edges around `node` — leaving it, arriving at it, and those it is the actor of (an
/// account's logons) — breadth first up to `depth`, at most `limit`.
pub fn neighbourhood(g: &EntityGraph, node: NodeId, depth: usize, limit: usize) -> Vec<EdgeId> {
    let mut seen_nodes = vec![false; g.node_count()];
    let mut out = Vec::new();
    let mut seen_edges = rustc_hash::FxHashSet::default();
    let mut frontier = vec![node];
    if let Some(s) = seen_nodes.get_mut(node as usize) {
        *s = true;
    }
    for _ in 0..depth {
        let mut next = Vec::new();
        for &n in &frontier {
            for &id in g.out_ids(n).iter().chain(g.in_ids(n)).chain(g.acted_ids(n)) {
                let e = g.edge(id);
                if out.len() >= limit {
                    return out;
                }
                if seen_edges.insert(id) {
                    out.push(id);
                }
                for other in [e.key.src, e.key.dst] {
                    if other != NO_NODE && !seen_nodes[other as usize] {
                        seen_nodes[other as usize] = true;
                        next.push(other);
                    }
                }
            }
        }
        frontier = next;
    }
    out
}

/// Edges first seen in `[since, until)`, oldest first, at most `limit`.
pub fn first_seen(
    g: &EntityGraph,
    since: Timestamp,
    until: Option<Timestamp>,
    kind: Option<&str>,
    limit: usize,
) -> Vec<EdgeId> {
    let mut v: Vec<(Timestamp, EdgeId)> = g
        .edges()
        .filter(|(_, e)| e.first >= since && until.is_none_or(|u| e.first < u))
        .filter(|(_, e)| kind.is_none_or(|k| e.key.kind.as_str() == k))
        .map(|(id, e)| (e.first, id))
        .collect();
    v.sort_unstable();
    v.into_iter().take(limit).map(|(_, id)| id).collect()
}

fn node_label(g: &EntityGraph, n: NodeId) -> String {
    let node = g.node(n);
    format!("{}:{}", node.kind.as_str(), node.name)
}

/// One edge as JSON: its ends, kind, logon type, actor, first/last seen, count, evidence.
pub fn edge_json(g: &EntityGraph, id: EdgeId) -> Value {
    let e = g.edge(id);
    let mut v = json!({
        "src": node_label(g, e.key.src),
        "dst": node_label(g, e.key.dst),
        "kind": e.key.kind.as_str(),
        "first_seen": e.first.to_rfc3339(),
        "last_seen": e.last.to_rfc3339(),
        "count": e.count,
        "evidence": [g.reference(e.first_ref), g.reference(e.last_ref)],
    });
    if e.key.actor != NO_NODE {
        v["actor"] = json!(node_label(g, e.key.actor));
    }
    if e.key.logon_type() != 0 {
        v["logon_type"] = json!(e.key.logon_type());
    }
    if e.key.ntlm() {
        v["ntlm"] = json!(true);
    }
    match e.key.kind {
        EdgeKind::ResourceUse => v["activity"] = json!(activity_name(e.key.detail)),
        EdgeKind::SignIn if e.key.detail != 0 => v["failed"] = json!(true),
        _ => {}
    }
    v
}

/// The user-activity kind a resource edge's detail stands for.
fn activity_name(detail: u8) -> &'static str {
    use warden_event::ActivityType as A;
    [
        A::Login,
        A::Logout,
        A::FileAccess,
        A::Download,
        A::Upload,
        A::ApiCall,
        A::VpnConnect,
    ]
    .into_iter()
    .find(|a| a.clone() as u8 == detail)
    .map_or("other", |a| a.as_str())
}

fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

/// The graph as GraphML: nodes with kind and name, edges with kind, actor, logon type,
/// first/last seen (RFC 3339) and count.
pub fn write_graphml(g: &EntityGraph, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<graphml xmlns="http://graphml.graphdrawing.org/xmlns">"#
    )?;
    for (id, for_, name) in [
        ("kind", "node", "kind"),
        ("name", "node", "name"),
        ("ekind", "edge", "kind"),
        ("actor", "edge", "actor"),
        ("logon_type", "edge", "logon_type"),
        ("first_seen", "edge", "first_seen"),
        ("last_seen", "edge", "last_seen"),
        ("count", "edge", "count"),
    ] {
        let ty = if id == "count" || id == "logon_type" {
            "int"
        } else {
            "string"
        };
        writeln!(
            w,
            r#"  <key id="{id}" for="{for_}" attr.name="{name}" attr.type="{ty}"/>"#
        )?;
    }
    writeln!(w, r#"  <graph id="warden" edgedefault="directed">"#)?;
    for (id, n) in g.nodes() {
        writeln!(
            w,
            r#"    <node id="n{id}"><data key="kind">{}</data><data key="name">{}</data></node>"#,
            n.kind.as_str(),
            xml_escape(&n.name)
        )?;
    }
    for (id, e) in g.edges() {
        let actor = if e.key.actor == NO_NODE {
            String::new()
        } else {
            format!(
                r#"<data key="actor">{}</data>"#,
                xml_escape(&g.node(e.key.actor).name)
            )
        };
        writeln!(
            w,
            r#"    <edge id="e{id}" source="n{}" target="n{}"><data key="ekind">{}</data>{actor}<data key="logon_type">{}</data><data key="first_seen">{}</data><data key="last_seen">{}</data><data key="count">{}</data></edge>"#,
            e.key.src,
            e.key.dst,
            e.key.kind.as_str(),
            e.key.logon_type(),
            e.first.to_rfc3339(),
            e.last.to_rfc3339(),
            e.count
        )?;
    }
    writeln!(w, "  </graph>\n</graphml>")
}

/// The graph as one JSON document: `{"nodes": [...], "edges": [...]}` (Cytoscape's
/// `elements` shape: `data.id`, `data.source`, `data.target`).
pub fn write_json(g: &EntityGraph, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "{{\"nodes\":[")?;
    for (i, (id, n)) in g.nodes().enumerate() {
        let sep = if i + 1 < g.node_count() { "," } else { "" };
        let v = json!({"data": {"id": format!("n{id}"), "kind": n.kind.as_str(), "name": n.name,
            "first_seen": n.first.to_rfc3339(), "last_seen": n.last.to_rfc3339()}});
        writeln!(w, "{v}{sep}")?;
    }
    writeln!(w, "],\"edges\":[")?;
    for (i, (id, e)) in g.edges().enumerate() {
        let sep = if i + 1 < g.edge_count() { "," } else { "" };
        let mut data = edge_json(g, id);
        data["id"] = json!(format!("e{id}"));
        data["source"] = json!(format!("n{}", e.key.src));
        data["target"] = json!(format!("n{}", e.key.dst));
        writeln!(w, "{}{sep}", json!({ "data": data }))?;
    }
    writeln!(w, "]}}")
}
