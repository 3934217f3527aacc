//! `warden graph stats|path|neighbours|new-edges|export`: questions to a saved graph.

use std::io::Write;

use anyhow::{Context, Result, bail};
use warden_event::Timestamp;
use warden_graph::EntityGraph;
use warden_graph::graph::EdgeKind;
use warden_graph::query;

use crate::cli::{
    GraphExportArgs, GraphExportFormat, GraphFileArg, GraphNeighboursArgs, GraphPathArgs,
    GraphWindowArgs,
};

fn time(flag: &str, s: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(s).with_context(|| format!("{flag} {s:?} is not an RFC 3339 time"))
}

fn entity(g: &EntityGraph, spec: &str) -> Result<warden_graph::NodeId> {
    query::resolve(g, spec).with_context(|| {
        format!("{spec}: no such entity in the graph (write host:NAME, account:NAME or ip:ADDRESS)")
    })
}

/// Node and edge counts by kind, memory and bytes per edge, on stderr.
pub fn print_counts(g: &EntityGraph) {
    let mut nodes = std::collections::BTreeMap::<&str, usize>::new();
    for (_, n) in g.nodes() {
        *nodes.entry(n.kind.as_str()).or_default() += 1;
    }
    let mut edges = std::collections::BTreeMap::<&str, usize>::new();
    for (_, e) in g.edges() {
        *edges.entry(e.key.kind.as_str()).or_default() += 1;
    }
    let fmt = |m: &std::collections::BTreeMap<&str, usize>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let bytes = g.bytes();
    eprintln!(
        "graph: {} nodes ({}); {} edges ({}); {:.1} MiB, {:.0} bytes per edge",
        g.node_count(),
        fmt(&nodes),
        g.edge_count(),
        fmt(&edges),
        bytes as f64 / 1048576.0,
        bytes as f64 / g.edge_count().max(1) as f64
    );
}

pub fn stats(a: &GraphFileArg) -> Result<()> {
    let (g, _) = super::load(&a.graph)?;
    let first = g.nodes().map(|(_, n)| n.first).min();
    let last = g.nodes().map(|(_, n)| n.last).max();
    println!(
        "{} events, {} nodes, {} edges, from {} to {}",
        g.event_count(),
        g.node_count(),
        g.edge_count(),
        first.map_or("-".into(), |t| t.to_rfc3339()),
        last.map_or("-".into(), |t| t.to_rfc3339())
    );
    print_counts(&g);
    Ok(())
}

pub fn path(a: &GraphPathArgs) -> Result<()> {
    let (g, _) = super::load(&a.file.graph)?;
    let from = entity(&g, &a.from)?;
    let targets: Vec<_> = a.to.iter().map(|t| entity(&g, t)).collect::<Result<_>>()?;
    let as_of = a.as_of.as_deref().map(|t| time("--as-of", t)).transpose()?;
    let paths = query::shortest_paths(&g, from, &targets, as_of, a.max_hops);
    if paths.is_empty() {
        eprintln!("no path within {} edges", a.max_hops);
    }
    let mut out = std::io::stdout().lock();
    for p in paths.iter().take(a.limit) {
        let edges: Vec<_> = p.edges.iter().map(|&e| query::edge_json(&g, e)).collect();
        let target = g.node(p.target);
        let line = serde_json::json!({
            "target": format!("{}:{}", target.kind.as_str(), target.name),
            "hops": p.edges.len(),
            "edges": edges,
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}

pub fn neighbours(a: &GraphNeighboursArgs) -> Result<()> {
    let (g, _) = super::load(&a.file.graph)?;
    let n = entity(&g, &a.entity)?;
    let mut out = std::io::stdout().lock();
    for e in query::neighbourhood(&g, n, a.depth.max(1), a.limit) {
        writeln!(out, "{}", query::edge_json(&g, e))?;
    }
    Ok(())
}

pub fn new_edges(a: &GraphWindowArgs) -> Result<()> {
    let (g, _) = super::load(&a.file.graph)?;
    let since = time("--since", &a.since)?;
    let until = a.until.as_deref().map(|t| time("--until", t)).transpose()?;
    if let Some(k) = &a.kind {
        let known = [
            EdgeKind::Logon,
            EdgeKind::RemoteLogon,
            EdgeKind::FailedLogon,
            EdgeKind::ExplicitCredentials,
            EdgeKind::Privileged,
            EdgeKind::MemberOf,
            EdgeKind::Ticket,
            EdgeKind::Spawn,
            EdgeKind::Access,
            EdgeKind::Connection,
        ];
        if !known.iter().any(|x| x.as_str() == k) {
            let names: Vec<_> = known.iter().map(|x| x.as_str()).collect();
            bail!("--kind {k}: not an edge kind (one of {})", names.join(", "));
        }
    }
    let mut out = std::io::stdout().lock();
    for e in query::first_seen(&g, since, until, a.kind.as_deref(), a.limit) {
        writeln!(out, "{}", query::edge_json(&g, e))?;
    }
    Ok(())
}

pub fn export(a: &GraphExportArgs) -> Result<()> {
    let (g, _) = super::load(&a.file.graph)?;
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    match a.format {
        GraphExportFormat::Graphml => query::write_graphml(&g, &mut out)?,
        GraphExportFormat::Json => query::write_json(&g, &mut out)?,
    }
    out.flush().context("cannot write the export")?;
    Ok(())
}
