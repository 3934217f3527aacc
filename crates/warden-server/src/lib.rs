//! `warden serve`: the detection service on the embedded store.
//!
//! [`app`] builds the whole HTTP surface as an axum `Router` (tested with `oneshot`, no
//! socket); [`run`] serves it on a listener until the shutdown future resolves, finishing
//! the requests in flight. Routes under `/v1` need a bearer token ([`auth`]); health and
//! metrics do not. Every failure is a JSON error ([`error`]).
//!
//! | route | scope | what |
//! |---|---|---|
//! | `POST /v1/detect/realtime` | write | score a batch of activities; alerts stored before the answer |
//! | `GET /v1/alerts` | read | the tenant's alerts, filtered, newest first, with a cursor |
//! | `GET /v1/alerts/{id}` | read | one alert, its explanation, the user's related alerts |
//! | `PATCH /v1/alerts/{id}` | write | status, assignee, classification (audited) |
//! | `POST /v1/alerts/bulk` | write | `update_status`, `assign`, `classify` on many ids |
//! | `GET /v1/incidents`, `GET`/`PATCH /v1/incidents/{id}` | read / write | alerts grouped per user and time window; status changes apply to every alert |
//! | `GET /v1/audit` | admin | the tenant's append-only audit log |
//! | `GET /v1/alerts/export?format=csv\|json` | read | every matching alert, streamed |
//! | `GET /v1/analytics/trends` | read | alert counts per hour/day/week, by level and type |
//! | `GET /v1/analytics/dashboard` | read | totals, last 24 h, top users and types, system |
//! | `POST /v1/analyze/behavior` | read | a user's baseline, recent alerts and risk by day |
//! | `POST /v1/monitor/network` | write | flows scored by the network model, anomalies explained |
//! | `POST /v1/payload/analyze` | write | a command line or script: decoded, scored, explained (static); an alert at `[payload] alert_level` |
//! | `POST /v1/payload/jobs`, `GET /v1/payload/jobs/{id}` | write / read | the same as a queued job, with a sandboxed run when asked; the verdict kept |
//! | `GET /v1/models` | read | the models in use: version, training figures, drift, calls |
//! | `GET /v1/whoami` | read | the caller's tenant and scope |
//! | `/v1/tokens` (+ `DELETE /{id}`, `POST /{id}/rotate`) | admin | the tenant's tokens: list, create, revoke (streams closed at once), rotate |
//! | `GET /v1/rules` | read | the Sigma rules loaded (paged, searchable) and those skipped, with why |
//! | `/v1/webhooks` (+ `/{id}`, `/{id}/test`, `/dead-letters`, `/dead-letters/{id}/replay`) | admin | register, list, delete, test; dead letters and replay |
//! | `GET /v1/stream` | read | alerts live over SSE or a WebSocket (acks), resumable by sequence number |
//! | `GET /v1/openapi.json` | none | this API as an OpenAPI 3 document, generated from the code |
//! | `GET /healthz`, `/readyz` | none | liveness, readiness (its checks for operators only) |
//! | `GET /metrics` | operator ([`operator`]) | Prometheus |
//! | `GET /ui/` | none (the pages call the API with the analyst's token) | the dashboard, built into the binary ([`dashboard`]) |
//!
//! Beside the HTTP surface, [`listeners`] receive syslog over UDP, TCP and TLS for the
//! tenants the configuration names, scored as `/v1/detect/realtime` scores a batch
//! ([`scoring`]).
//!
//! ```
//! use warden_server::{app, AppState, ServiceConfig};
//! let store = warden_store::Store::open_in_memory().unwrap();
//! let state = AppState::new(ServiceConfig::default(), store).unwrap();
//! let _router = app(state);
//! ```

pub mod auth;
pub mod baselines;
pub mod config;
pub mod connections;
pub mod dashboard;
pub mod delivery;
pub mod destinations;
pub mod error;
pub mod forward;
pub mod jwt;
pub mod listeners;
pub mod models;
pub mod openapi;
pub mod operator;
pub mod output_feed;
pub mod payload;
pub mod publish;
pub mod reads;
pub mod routes;
pub mod rules;
pub mod scoring;
pub mod state;
pub mod stream_slots;
pub mod tenants;
pub mod tls;
pub mod token_cache;
pub mod turns;
pub mod webhooks;

pub use config::ServiceConfig;
pub use state::AppState;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};

use crate::error::ApiError;

/// The service's routes with their limits.
pub fn app(state: AppState) -> Router {
    let limits = &state.config.server;
    let expensive = Router::new()
        .route("/v1/detect/realtime", post(routes::detect::realtime))
        .route("/v1/alerts/export", get(routes::analytics::export))
        .route("/v1/graph/export", get(routes::graph::export))
        .route("/v1/monitor/network", post(routes::network::monitor))
        .route("/v1/payload/analyze", post(routes::payload::analyze))
        .route("/v1/payload/jobs", post(routes::payload::submit))
        .layer(DefaultBodyLimit::max(limits.batch_limit_bytes))
        .route_layer(middleware::from_fn_with_state(state.clone(), rate_limit));
    let api = api_routes().layer(DefaultBodyLimit::max(limits.body_limit_bytes));
    Router::new()
        .merge(expensive)
        .merge(api)
        .route("/v1/openapi.json", get(openapi::document))
        .route("/", get(dashboard::root))
        .route("/ui", get(dashboard::root))
        .route("/ui/", get(dashboard::index))
        .route("/ui/{*path}", get(dashboard::asset))
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn_with_state(
            std::time::Duration::from_secs(limits.body_read_timeout_secs),
            connections::body_timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_responses,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// The API's routes that are neither rate-limited nor take large bodies.
fn api_routes() -> Router<AppState> {
    Router::new()
        .route("/v1/alerts", get(routes::alerts::list))
        .route(
            "/v1/alerts/{id}",
            get(routes::alerts::get_one).patch(routes::alerts::patch),
        )
        .route("/v1/alerts/bulk", post(routes::alerts::bulk))
        .route("/v1/audit", get(routes::alerts::audit))
        .route("/v1/incidents", get(routes::incidents::list))
        .route(
            "/v1/incidents/{id}",
            get(routes::incidents::get_one).patch(routes::incidents::patch),
        )
        .route("/v1/stream", get(routes::stream::stream))
        .route("/v1/analytics/trends", get(routes::analytics::trends))
        .route("/v1/analytics/dashboard", get(routes::analytics::dashboard))
        .route("/v1/analyze/behavior", post(routes::analytics::behavior))
        .route("/v1/models", get(routes::network::models))
        .route("/v1/rules", get(routes::network::rules))
        .route("/v1/graph/stats", get(routes::graph::stats))
        .route("/v1/graph/neighbours", get(routes::graph::neighbours))
        .route("/v1/graph/path", get(routes::graph::path))
        .route("/v1/graph/new-edges", get(routes::graph::new_edges))
        .route("/v1/payload/jobs/{id}", get(routes::payload::job))
        .route("/v1/whoami", get(routes::ops::whoami))
        .route(
            "/v1/tokens",
            get(routes::tokens::list).post(routes::tokens::create),
        )
        .route("/v1/tokens/{id}", delete(routes::tokens::revoke))
        .route("/v1/tokens/{id}/rotate", post(routes::tokens::rotate))
        .route(
            "/v1/webhooks",
            get(routes::webhooks::list).post(routes::webhooks::create),
        )
        .route("/v1/webhooks/{id}", delete(routes::webhooks::delete))
        .route("/v1/webhooks/{id}/test", post(routes::webhooks::test))
        .route(
            "/v1/webhooks/dead-letters",
            get(routes::webhooks::dead_letters),
        )
        .route(
            "/v1/webhooks/dead-letters/{id}/replay",
            post(routes::webhooks::replay),
        )
}

/// Refuses a request when its token's or its client address's bucket is empty (429 with
/// `Retry-After`). Keys are the token's hash prefix (no store lookup) and the address.
async fn rate_limit(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|t| format!("token:{}", &auth::hash_token(t)[..16]));
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| format!("addr:{}", c.0.ip()));
    for key in [token, addr].into_iter().flatten() {
        if let Err(retry_after) = st.limiter.check(&key) {
            st.metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return ApiError::RateLimited { retry_after }.into_response();
        }
    }
    next.run(req).await
}

async fn count_responses(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    st.metrics.response(resp.status().as_u16());
    resp
}

/// Policy of every answer that is not a dashboard file (those set their own): nothing in
/// it may run, load or be framed.
const API_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Headers every answer gets: never sniffed as another type, never framed; API answers
/// (alerts, verdicts, tokens) never cached; over TLS, browsers told to use nothing else.
async fn security_headers(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/v1/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CONTENT_SECURITY_POLICY));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if st.config.server.tls_cert.is_some() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    resp
}

/// Serves `app` on `listener` until `shutdown` resolves, over TLS when `server.tls_cert`
/// and `server.tls_key` are set, under the connection caps and time limits of
/// [`connections`]; requests in flight finish first and open streams end.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = state.with_outputs();
    let closing = state.closing.clone();
    let tls = match (&state.config.server.tls_cert, &state.config.server.tls_key) {
        (Some(c), Some(k)) => Some(tls::server_config(c, k).map_err(std::io::Error::other)?),
        _ => None,
    };
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        // Streams first, with a moment to say goodbye (a WebSocket close handshake), then
        // the connections.
        let _ = closing.send(true);
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let _ = stop.send(true);
    });
    let saver = state.clone();
    let serving = connections::Serving {
        config: state.config.server.clone(),
        stats: state.connections.clone(),
        open_files: connections::raise_open_file_limit(),
        tls,
        router: app(state),
    };
    let listeners = listeners::start(&saver, stopping.clone()).await?;
    let served = connections::serve(listener, serving, stopping).await;
    // What the listeners hold is scored before the baselines are saved.
    listeners.finish().await;
    // Everything learnt since the last save, before the process ends.
    if let Err(e) = tokio::task::spawn_blocking(move || baselines::flush(&saver))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
    {
        tracing::error!("saving baselines at shutdown: {e}");
    }
    served
}
