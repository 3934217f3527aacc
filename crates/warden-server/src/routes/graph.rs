//! `/v1/graph/...`: questions to the tenant's entity graph — its size, an entity's
//! neighbourhood, shortest paths (as of a time), edges first seen in a window, and the
//! whole graph as GraphML or JSON. Every answer is bounded (depth, hops, targets, rows).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::QueryRejection;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_event::Timestamp;
use warden_graph::{EntityGraph, NodeId, query};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::state::AppState;
use crate::tenants::with_graph;

/// Most rows one answer lists.
const MAX_LIMIT: usize = 5_000;
/// Deepest neighbourhood.
const MAX_DEPTH: usize = 3;
/// Longest path.
const MAX_HOPS: usize = 10;
/// Most targets of one path query.
pub(crate) const MAX_TARGETS: usize = 50;
/// Largest graph exported whole over the API (the tenant's pipeline waits while it is
/// written; about 300 bytes of GraphML per edge).
const MAX_EXPORT_EDGES: usize = 250_000;

type Q<T> = Result<axum::extract::Query<T>, QueryRejection>;

fn query_of<T>(q: Q<T>) -> Result<T, ApiError> {
    q.map(|axum::extract::Query(v)| v)
        .map_err(|e| ApiError::invalid("query", e.body_text()))
}

fn time(field: &str, s: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    s.map(|s| {
        Timestamp::parse_rfc3339(s).ok_or_else(|| ApiError::invalid(field, "an RFC 3339 time"))
    })
    .transpose()
}

/// An entity of the graph: a 400 for a spec too long to be one, a 404 naming it when the
/// graph holds none.
fn entity(g: &EntityGraph, field: &str, spec: &str) -> Result<NodeId, ApiError> {
    if !super::within_chars(spec, 512) {
        return Err(ApiError::invalid(field, "at most 512 characters"));
    }
    query::resolve(g, spec).ok_or_else(|| {
        ApiError::NoSuchEntity(format!(
            "{field}: `{spec}`: no such entity (host:NAME, account:NAME, ip:ADDRESS, group:NAME)"
        ))
    })
}

fn limit(v: Option<usize>, default: usize) -> Result<usize, ApiError> {
    let l = v.unwrap_or(default);
    if (1..=MAX_LIMIT).contains(&l) {
        Ok(l)
    } else {
        Err(ApiError::invalid(
            "limit",
            format!("between 1 and {MAX_LIMIT}"),
        ))
    }
}

/// Runs a graph question on a blocking thread (a large graph takes a while to walk), in
/// the tenant's read turn.
async fn blocking<T: Send + 'static>(
    st: &AppState,
    tenant: String,
    f: impl FnOnce(&warden_graph::Hunter) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let key = tenant.clone();
    st.in_read_turn(&key, move |st| with_graph(st, &tenant, f))
        .await?
        .and_then(|r| r)
}

#[utoipa::path(get, path = "/v1/graph/stats", tag = "graph", responses((status = 200, description = "Nodes and edges by kind, events read, edges dropped at the limit, learning", body = serde_json::Value), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn stats(State(st): State<AppState>, who: Principal) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let v = blocking(&st, who.tenant.clone(), |h| {
        let g = &h.graph;
        let mut nodes = serde_json::Map::new();
        for (_, n) in g.nodes() {
            let e = nodes.entry(n.kind.as_str()).or_insert(json!(0));
            *e = json!(e.as_u64().unwrap_or(0) + 1);
        }
        let mut edges = serde_json::Map::new();
        for (_, e) in g.edges() {
            let c = edges.entry(e.key.kind.as_str()).or_insert(json!(0));
            *c = json!(c.as_u64().unwrap_or(0) + 1);
        }
        Ok(json!({
            "events": g.event_count(),
            "nodes": g.node_count(),
            "edges": g.edge_count(),
            "nodes_by_kind": nodes,
            "edges_by_kind": edges,
            "dropped_edges": g.dropped_edges(),
            "bytes": g.bytes(),
            "learning_until": h.learning_until().map(|t| t.to_rfc3339()),
        }))
    })
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NeighboursQuery {
    /// `host:NAME`, `account:NAME`, `ip:ADDRESS`, `group:NAME`, or a bare name (at most
    /// 512 characters); one the graph does not hold is a 404.
    #[param(min_length = 1, max_length = 512)]
    pub entity: String,
    /// 1 (default) to 3.
    #[param(minimum = 1, maximum = 3)]
    pub depth: Option<usize>,
    /// At most this many edges (≤ 5000, default 200).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/graph/neighbours", tag = "graph", params(NeighboursQuery), responses((status = 200, description = "The entity's edges (leaving, arriving, acted), breadth first", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, (status = 404, description = "The graph holds no such entity", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn neighbours(
    State(st): State<AppState>,
    who: Principal,
    q: Q<NeighboursQuery>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let q = query_of(q)?;
    let depth = q.depth.unwrap_or(1);
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(ApiError::invalid(
            "depth",
            format!("between 1 and {MAX_DEPTH}"),
        ));
    }
    let limit = limit(q.limit, 200)?;
    let v = blocking(&st, who.tenant.clone(), move |h| {
        let g = &h.graph;
        let n = entity(g, "entity", &q.entity)?;
        let edges: Vec<Value> = query::neighbourhood(g, n, depth, limit)
            .into_iter()
            .map(|e| query::edge_json(g, e))
            .collect();
        Ok(json!({ "entity": q.entity, "edges": edges }))
    })
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PathQuery {
    /// An entity, as for the neighbours (at most 512 bytes); one the graph does not hold
    /// is a 404.
    #[param(min_length = 1, max_length = 512)]
    pub from: String,
    /// Targets, comma-separated (at most 50): the nearest first; one the graph does not
    /// hold is a 404.
    #[param(value_type = crate::openapi::Targets, inline)]
    pub to: String,
    /// Only edges first seen by this time (RFC 3339).
    #[param(format = DateTime)]
    pub as_of: Option<String>,
    /// Longest path in edges (≤ 10, default 6).
    #[param(minimum = 1, maximum = 10)]
    pub max_hops: Option<usize>,
}

#[utoipa::path(get, path = "/v1/graph/path", tag = "graph", params(PathQuery), responses((status = 200, description = "The shortest path to each reachable target", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, (status = 404, description = "The graph holds no such entity (`from` or one of `to`)", body = crate::openapi::ErrorBody)), security(("bearer" = [])))]
pub async fn path(
    State(st): State<AppState>,
    who: Principal,
    q: Q<PathQuery>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let q = query_of(q)?;
    let as_of = time("as_of", q.as_of.as_deref())?;
    let hops = q.max_hops.unwrap_or(6);
    if !(1..=MAX_HOPS).contains(&hops) {
        return Err(ApiError::invalid(
            "max_hops",
            format!("between 1 and {MAX_HOPS}"),
        ));
    }
    let targets: Vec<String> = q.to.split(',').map(|s| s.trim().to_owned()).collect();
    if targets.len() > MAX_TARGETS {
        return Err(ApiError::invalid(
            "to",
            format!("at most {MAX_TARGETS} targets"),
        ));
    }
    let v = blocking(&st, who.tenant.clone(), move |h| {
        let g = &h.graph;
        let from = entity(g, "from", &q.from)?;
        let to: Vec<NodeId> = targets
            .iter()
            .map(|t| entity(g, "to", t))
            .collect::<Result<_, _>>()?;
        let paths: Vec<Value> = query::shortest_paths(g, from, &to, as_of, hops)
            .into_iter()
            .map(|p| {
                let t = g.node(p.target);
                json!({
                    "target": format!("{}:{}", t.kind.as_str(), t.name),
                    "hops": p.edges.len(),
                    "edges": p.edges.iter().map(|&e| query::edge_json(g, e)).collect::<Vec<_>>(),
                })
            })
            .collect();
        Ok(json!({ "from": q.from, "paths": paths }))
    })
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NewEdgesQuery {
    /// Start of the window (RFC 3339).
    #[param(format = DateTime)]
    pub since: String,
    /// End of the window (RFC 3339).
    #[param(format = DateTime)]
    pub until: Option<String>,
    /// Only edges of this kind (`remote_logon`, `logon`, `member_of`, `spawn`…).
    #[param(max_length = 64)]
    pub kind: Option<String>,
    /// At most this many edges (≤ 5000, default 500).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/v1/graph/new-edges", tag = "graph", params(NewEdgesQuery), responses((status = 200, description = "Edges first seen in the window, oldest first", body = serde_json::Value), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn new_edges(
    State(st): State<AppState>,
    who: Principal,
    q: Q<NewEdgesQuery>,
) -> Result<Json<Value>, ApiError> {
    who.require(Scope::Read)?;
    let q = query_of(q)?;
    let since = time("since", Some(&q.since))?.unwrap_or_default();
    let until = time("until", q.until.as_deref())?;
    let limit = limit(q.limit, 500)?;
    if q.kind.as_ref().is_some_and(|k| !super::within_chars(k, 64)) {
        return Err(ApiError::invalid("kind", "an edge kind"));
    }
    let v = blocking(&st, who.tenant.clone(), move |h| {
        let g = &h.graph;
        let edges: Vec<Value> = query::first_seen(g, since, until, q.kind.as_deref(), limit)
            .into_iter()
            .map(|e| query::edge_json(g, e))
            .collect();
        Ok(json!({ "edges": edges }))
    })
    .await?;
    Ok(Json(v))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `graphml` (default) or `json`.
    #[param(value_type = Option<crate::openapi::GraphFormat>, inline)]
    pub format: Option<String>,
}

#[utoipa::path(get, path = "/v1/graph/export", tag = "graph", params(ExportQuery), responses((status = 200, description = "The tenant's graph as GraphML (the default) or JSON (Cytoscape elements, `format=json`), up to 250,000 edges", content((String = "application/graphml+xml"), (serde_json::Value = "application/json"))), (status = 400, description = "Invalid input, naming the field; or a graph over 250,000 edges", body = crate::openapi::ErrorBody), crate::openapi::Unauthorized, crate::openapi::Forbidden), security(("bearer" = [])))]
pub async fn export(
    State(st): State<AppState>,
    who: Principal,
    q: Q<ExportQuery>,
) -> Result<Response, ApiError> {
    who.require(Scope::Read)?;
    let q = query_of(q)?;
    let json_format = match q.format.as_deref() {
        None | Some("graphml") => false,
        Some("json") => true,
        Some(_) => return Err(ApiError::invalid("format", "graphml or json")),
    };
    let body = blocking(&st, who.tenant.clone(), move |h| {
        let edges = h.graph.edge_count();
        if edges > MAX_EXPORT_EDGES {
            return Err(ApiError::invalid(
                "format",
                format!(
                    "the graph has {edges} edges, more than the {MAX_EXPORT_EDGES} exported over \
                     the API: ask for neighbourhoods, paths or new edges instead"
                ),
            ));
        }
        let mut out = Vec::new();
        let r = if json_format {
            query::write_json(&h.graph, &mut out)
        } else {
            query::write_graphml(&h.graph, &mut out)
        };
        r.map_err(ApiError::internal)?;
        Ok(out)
    })
    .await?;
    let ct = if json_format {
        "application/json"
    } else {
        "application/graphml+xml"
    };
    Ok(([(header::CONTENT_TYPE, ct)], body).into_response())
}
