//! A graph saved with what was learned from it, so a later hunt starts from the baseline
//! and queries run without the logs: a magic line, then the graph and the profile in
//! postcard. Everything read back is checked (node ids in range) before use.

use crate::finders::Profile;
use crate::graph::EntityGraph;

const MAGIC: &[u8] = b"WARDEN-GRAPH 1\n";

/// Why a saved graph could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a Warden graph file (no `WARDEN-GRAPH 1` header)")]
    NotAGraph,
    #[error("the graph file is damaged: {0}")]
    Damaged(String),
    #[error("cannot encode the graph: {0}")]
    Encode(String),
}

/// Serialises a graph and its profile.
pub fn save(graph: &EntityGraph, profile: &Profile) -> Result<Vec<u8>, SnapshotError> {
    let mut out = MAGIC.to_vec();
    let g = graph
        .to_bytes()
        .map_err(|e| SnapshotError::Encode(e.to_string()))?;
    let p = postcard::to_stdvec(profile).map_err(|e| SnapshotError::Encode(e.to_string()))?;
    out.extend_from_slice(&(g.len() as u64).to_le_bytes());
    out.extend_from_slice(&g);
    out.extend_from_slice(&p);
    Ok(out)
}

/// Reads what [`save`] wrote.
pub fn load(bytes: &[u8]) -> Result<(EntityGraph, Profile), SnapshotError> {
    let rest = bytes.strip_prefix(MAGIC).ok_or(SnapshotError::NotAGraph)?;
    let damaged = |m: &str| SnapshotError::Damaged(m.to_owned());
    let (len, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| damaged("truncated header"))?;
    let len = usize::try_from(u64::from_le_bytes(*len)).map_err(|_| damaged("length"))?;
    if len > rest.len() {
        return Err(damaged("truncated graph"));
    }
    let (g, p) = rest.split_at(len);
    let graph = EntityGraph::from_bytes(g).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
    let mut profile: Profile =
        postcard::from_bytes(p).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
    let n = graph.node_count() as u32;
    let ok = |id: &u32| *id < n;
    let valid = profile.hosts.keys().all(ok)
        && profile.accounts.keys().all(ok)
        && profile.hosts.values().all(|h| h.owners.iter().all(ok))
        && profile.account_sources.iter().all(|(a, b)| ok(a) && ok(b))
        && profile
            .account_destinations
            .iter()
            .all(|(a, b)| ok(a) && ok(b))
        && profile
            .privileged_entries
            .iter()
            .all(|(a, b)| ok(a) && ok(b));
    if !valid {
        return Err(damaged("the profile names nodes the graph does not have"));
    }
    profile.reindex();
    Ok((graph, profile))
}
