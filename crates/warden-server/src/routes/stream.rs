//! `GET /v1/stream` (Server-Sent Events, or a WebSocket when the request asks to upgrade):
//! a tenant's alerts as they are stored, with the
//! alert id as the sequence number — strictly increasing, the same in the store and on the
//! wire. A client resumes after a disconnect with `Last-Event-ID` (or `?after=`): it first
//! receives what it missed, from the store, in order, then the live feed, with nothing
//! twice and nothing skipped.
//!
//! Slow consumers: each connection reads the live feed from a bounded broadcast buffer; a
//! client that falls more than [`LIVE_BUFFER`] messages behind is not waited for — it is
//! caught up from the store instead, so ingestion and other clients never slow down and the
//! client still loses nothing.
//!
//! Channels: `behavior` (the behavioural detector's alerts), `network` (flow models'),
//! `payload`, and `threat` (every alert, rule matches included); the
//! filters `min_level`, `user` and `anomaly_type` apply on the server.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use warden_event::{Alert, ThreatLevel};
use warden_store::{AlertFilter, AlertRecord};

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::routes::{anomaly_param, level_param};
use crate::state::AppState;
use crate::stream_slots::{Full, StreamLimits, StreamSlot};
use crate::token_cache::CredentialWatch;

/// The stream's channels.
pub const CHANNELS: [&str; 4] = ["behavior", "threat", "network", "payload"];

/// Live messages buffered per connection before it is caught up from the store instead.
pub const LIVE_BUFFER: usize = 1024;
/// Alerts read from the store per step while catching up.
const BACKLOG_PAGE: usize = 500;

/// An alert just stored, as published to the live feed.
#[derive(Debug, Clone)]
pub struct Published {
    pub tenant: String,
    pub id: i64,
    pub level: ThreatLevel,
    /// Who the alert is about (`user_id` on the wire).
    pub user_id: String,
    /// The stream channel (`behavior`, `threat`, `network`, …).
    pub channel: &'static str,
    pub primary: Vec<String>,
    /// The stream message, serialised once and shared by every client.
    pub text: Arc<str>,
    /// The whole alert, for outputs and webhooks.
    pub alert: Arc<Alert>,
    /// An alert stored before whose body changed (a graph finding that grew): sent to
    /// the clients that already have it as `alert.updated`, without moving their resume
    /// point.
    pub updated: bool,
}

/// One message on its way to a client: its sequence number and its JSON text (shared).
#[derive(Debug, Clone)]
pub struct Wire {
    pub seq: i64,
    pub text: Arc<str>,
    /// Aggregated messages: whether this one ends its window (only that one moves the
    /// resume point).
    pub window_end: Option<bool>,
    /// A new version of an alert sent before (`alert.updated`).
    pub updated: bool,
}

impl Wire {
    fn of(v: &Value) -> Wire {
        Wire {
            seq: v["seq"].as_i64().unwrap_or(0),
            text: v.to_string().into(),
            window_end: v["window_end"].as_bool(),
            updated: v["updated"] == true,
        }
    }

    /// The message as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl Published {
    /// A new version of the stored alert `id`, for the clients that have it already.
    pub fn updated(id: i64, alert: Arc<Alert>) -> Self {
        let mut p = Self::of(id, alert);
        let mut message: Value = serde_json::from_str(&p.text).unwrap_or(Value::Null);
        message["updated"] = json!(true);
        p.text = message.to_string().into();
        p.updated = true;
        p
    }

    pub fn of(id: i64, alert: Arc<Alert>) -> Self {
        let primary: Vec<String> = alert
            .primary_anomalies()
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect();
        let message = message(
            &Head {
                id,
                channel: alert.channel(),
                detector: alert.detector.kind.as_str(),
                user: &alert.subject,
                ts: &alert.timestamp,
                level: alert.level.as_str(),
                score: (f64::from(alert.score) * 10.0).round() / 10.0,
            },
            &primary,
            &alert.explanation,
        );
        Published {
            tenant: alert.tenant.clone(),
            id,
            level: alert.level,
            user_id: alert.subject.clone(),
            channel: alert.channel(),
            text: message.to_string().into(),
            primary,
            alert,
            updated: false,
        }
    }
}

/// What a stream message says of its alert besides the anomalies and explanation.
struct Head<'a> {
    id: i64,
    channel: &'a str,
    detector: &'a str,
    user: &'a str,
    ts: &'a str,
    level: &'a str,
    score: f64,
}

fn message(h: &Head<'_>, primary: &[String], explanation: &str) -> Value {
    json!({
        "seq": h.id,
        "channel": h.channel,
        "detector": h.detector,
        "alert_id": h.id,
        "user_id": h.user,
        "timestamp": h.ts,
        "threat_level": h.level,
        "threat_score": h.score,
        "primary_anomalies": primary,
        "explanation": explanation,
    })
}

fn message_of_record(r: &AlertRecord) -> Value {
    message(
        &Head {
            id: r.id,
            channel: &r.channel,
            detector: &r.detector,
            user: &r.user_id,
            ts: &r.timestamp,
            level: &r.threat_level,
            score: r.threat_score,
        },
        &r.primary_anomalies,
        &r.explanation,
    )
}

/// The live feed: a bounded broadcast.
pub fn feed() -> broadcast::Sender<Arc<Published>> {
    broadcast::channel(LIVE_BUFFER).0
}

#[derive(Debug, Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Comma-separated: behavior, threat, network, payload.
    #[param(value_type = Option<crate::openapi::Channels>, inline)]
    pub channels: Option<String>,
    /// Minimum level.
    #[param(value_type = Option<crate::openapi::Level>, inline)]
    pub min_level: Option<String>,
    pub user: Option<String>,
    #[param(value_type = Option<crate::openapi::AnomalyTypeName>, inline)]
    pub anomaly_type: Option<String>,
    /// Resume after this sequence number (as `Last-Event-ID`).
    pub after: Option<i64>,
    /// WebSocket: messages in flight before an ack is needed (1..=1000, default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub window: Option<i64>,
    /// Collapse repeats of one user and anomaly type arriving within this many seconds
    /// (1..=60; 5 is usual) into one message with a `count`.
    #[param(minimum = 1, maximum = 60)]
    pub aggregate: Option<u64>,
}

/// The `channels` parameter: `None` for every alert (no channel, or `threat` among them),
/// else the detectors' channels asked for.
fn channels_param(channels: Option<&str>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(c) = channels else {
        return Ok(None);
    };
    let list: Vec<String> = c
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(ch) = list.iter().find(|ch| !CHANNELS.contains(&ch.as_str())) {
        return Err(ApiError::invalid(
            "channels",
            format!("`{ch}`: expected behavior, threat, network or payload"),
        ));
    }
    // `threat` is every alert; other channels are the alerts of their detectors.
    Ok((!list.is_empty() && !list.iter().any(|c| c == "threat")).then_some(list))
}

/// A stream slot of the caller's token and tenant, or 429 when either has all its streams.
fn take_slot(st: &AppState, who: &Principal) -> Result<StreamSlot, ApiError> {
    let limits = StreamLimits {
        per_token: st.config.server.max_streams_per_token,
        per_tenant: st.config.server.max_streams_per_tenant,
    };
    st.stream_slots
        .take(&who.credential, &who.tenant, limits, &st.metrics)
        .map_err(|full| {
            st.metrics
                .rate_limited
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            ApiError::TooManyStreams(match full {
                Full::Token(n) => {
                    format!("this token already has {n} streams open; close one first")
                }
                Full::Tenant(n) => {
                    format!("this tenant already has {n} streams open; close one first")
                }
            })
        })
}

#[utoipa::path(get, path = "/v1/stream", tag = "stream", params(StreamQuery, ("Last-Event-ID" = Option<i64>, Header, nullable = false, description = "Resume after this sequence number (the `id` of the last event received)")), responses((status = 200, description = "Alerts as Server-Sent Events (or 101 Switching Protocols to a WebSocket)", content_type = "text/event-stream", body = crate::openapi::StreamEvent), crate::openapi::Invalid, crate::openapi::Unauthorized, crate::openapi::Forbidden, crate::openapi::TooManyStreams), security(("bearer" = [])))]
pub async fn stream(
    State(st): State<AppState>,
    who: Principal,
    headers: HeaderMap,
    q: Result<Query<StreamQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    who.require(Scope::Read)?;
    let Query(q) = q.map_err(|e| ApiError::invalid("query", e.body_text()))?;
    let channels = channels_param(q.channels.as_deref())?;
    let min_level = level_param("min_level", q.min_level.as_deref())?;
    anomaly_param("anomaly_type", q.anomaly_type.as_deref())?;
    if q.aggregate.is_some_and(|a| !(1..=60).contains(&a)) {
        return Err(ApiError::invalid("aggregate", "between 1 and 60 seconds"));
    }
    // The WebSocket's ack window, checked for both flavours (SSE has no acks).
    let window = q.window.unwrap_or(ACK_WINDOW);
    if !(1..=ACK_WINDOW).contains(&window) {
        return Err(ApiError::invalid(
            "window",
            format!("between 1 and {ACK_WINDOW}"),
        ));
    }
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid("Last-Event-ID", "expected a sequence number"))
        })
        .transpose()?;
    // Subscribe before reading the backlog, so nothing stored in between is missed.
    let rx = st.feed.subscribe();
    let cursor = Cursor {
        st: st.clone(),
        filter: AlertFilter {
            tenant: who.tenant.clone(),
            min_level,
            user: q.user,
            anomaly: q.anomaly_type,
            limit: BACKLOG_PAGE,
            channels,
            ..AlertFilter::default()
        },
        rx,
        last: last_event_id.or(q.after).unwrap_or(0).max(0),
        pending: VecDeque::new(),
        catching_up: true,
        closing: st.closing.subscribe(),
        credential: Some(st.tokens.watch(&who)),
        aggregate: q.aggregate.map(Duration::from_secs),
        ready: VecDeque::new(),
    };
    let guard = take_slot(&st, &who)?;
    if let Ok(ws) = ws {
        return Ok(ws
            .max_message_size(64 * 1024)
            .on_upgrade(move |socket| websocket(socket, cursor, guard, window)));
    }
    let events = futures_util::stream::unfold((cursor, guard), |(mut c, g)| async move {
        let ev = c.next().await?;
        Some((Ok::<_, Infallible>(ev), (c, g)))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Messages sent but not acknowledged, at most, before a WebSocket client must ack.
pub const ACK_WINDOW: i64 = 1000;

/// The WebSocket flavour: the same messages as JSON text frames; the client acknowledges
/// with `{"ack": seq}`. At most `window` (≤ [`ACK_WINDOW`]) messages are in flight: a client that stops
/// acknowledging stops receiving (its backlog waits in the store, not in memory) and resumes
/// where it left off. After a disconnect, reconnect with `?after=<last acked seq>`.
async fn websocket(mut socket: WebSocket, mut c: Cursor, _slot: StreamSlot, window: i64) {
    let mut acked = c.last;
    let mut sent = c.last;
    let mut closing = c.closing.clone();
    // Watched here rather than by the cursor, to say why the stream ends.
    let mut credential = c.credential.take();
    // Whether to end with a closing handshake (the server is stopping, or the token may no
    // longer be used), rather than because the client left.
    let mut goodbye = false;
    let mut close: Option<CloseFrame> = None;
    loop {
        let can_send = sent - acked < window;
        tokio::select! {
            m = c.next_message(), if can_send => {
                // No message means the server is stopping.
                let Some(m) = m else { goodbye = true; break };
                // An update is of an alert sent before: not a new sequence number.
                if !m.updated {
                    sent = m.seq;
                }
                if socket.send(Message::Text((*m.text).into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    match serde_json::from_str::<Value>(t.as_str()).ok().and_then(|v| v["ack"].as_i64()) {
                        Some(a) if a <= sent => acked = acked.max(a),
                        _ => {
                            let err = json!({"error": {"code": "invalid", "field": "ack", "message": "send {\"ack\": <seq received>}"}});
                            let _ = socket.send(Message::Text(err.to_string().into())).await;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            () = async { let _ = closing.wait_for(|c| *c).await; } => {
                goodbye = true;
                break;
            }
            reason = credential_ended(&mut credential) => {
                // 1008: policy violation — the credential was withdrawn.
                close = Some(CloseFrame { code: 1008, reason: reason.into() });
                goodbye = true;
                break;
            }
        }
    }
    if goodbye {
        let _ = socket.send(Message::Close(close)).await;
        // Wait (briefly) for the client's close frame: a clean closing handshake.
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// Resolves when the stream's token is revoked or expires (never without a watch).
async fn credential_ended(w: &mut Option<CredentialWatch>) -> &'static str {
    match w {
        Some(w) => w.ended().await,
        None => std::future::pending().await,
    }
}

struct Cursor {
    st: AppState,
    filter: AlertFilter,
    rx: broadcast::Receiver<Arc<Published>>,
    /// The last sequence number sent (or skipped as not matching).
    last: i64,
    pending: VecDeque<Wire>,
    /// Reading from the store rather than the live feed.
    catching_up: bool,
    /// Becomes true when the server shuts down: the stream ends so the shutdown can finish.
    closing: tokio::sync::watch::Receiver<bool>,
    /// Ends the stream when its token is revoked or expires.
    credential: Option<CredentialWatch>,
    /// Aggregation window, when asked for.
    aggregate: Option<Duration>,
    /// Aggregated messages of the last window, not yet sent.
    ready: VecDeque<Wire>,
}

/// Most alerts gathered into one aggregation window (a larger backlog makes several).
const AGGREGATE_MAX: usize = 1000;

/// Collapses a window's messages: one per (user, strongest anomaly type), carrying the
/// latest alert of the group, `count`, `first_seq` and up to 100 `alert_ids`; ordered by
/// their `seq` (the group's last), so sequence numbers still increase. The last message of
/// the window has `window_end: true`: resuming after its `seq` loses nothing.
fn aggregate(window: Vec<Value>) -> VecDeque<Wire> {
    let mut groups: Vec<Vec<Value>> = Vec::new();
    let mut index: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for m in window {
        let user = m["user_id"].as_str().unwrap_or("").to_owned();
        let kind = m["primary_anomalies"][0].as_str().unwrap_or("").to_owned();
        let i = *index.entry((user, kind)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(m);
    }
    let mut out: Vec<Value> = groups
        .into_iter()
        .filter_map(|ms| {
            let first = ms.first()?["seq"].clone();
            let ids: Vec<Value> = ms.iter().take(100).map(|m| m["seq"].clone()).collect();
            let top = ms
                .iter()
                .filter_map(|m| m["threat_score"].as_f64())
                .fold(0.0_f64, f64::max);
            let mut last = ms.last()?.clone();
            last["count"] = json!(ms.len());
            last["first_seq"] = first;
            last["alert_ids"] = json!(ids);
            last["max_threat_score"] = json!(top);
            last["window_end"] = json!(false);
            Some(last)
        })
        .collect();
    out.sort_by_key(|m| m["seq"].as_i64().unwrap_or(0));
    if let Some(end) = out.last_mut() {
        end["window_end"] = json!(true);
    }
    out.iter().map(Wire::of).collect()
}

impl Cursor {
    fn matches(&self, p: &Published) -> bool {
        let f = &self.filter;
        p.tenant == f.tenant
            && f.min_level.is_none_or(|l| p.level >= l)
            && f.user.as_ref().is_none_or(|u| *u == p.user_id)
            && f.anomaly.as_ref().is_none_or(|a| p.primary.contains(a))
            && f.channels
                .as_ref()
                .is_none_or(|c| c.iter().any(|c| c == p.channel))
    }

    async fn next(&mut self) -> Option<Event> {
        let m = self.next_message().await?;
        if m.updated {
            // Not a new sequence number: the resume point stays where it is.
            return Some(Event::default().event("alert.updated").data(&*m.text));
        }
        let ev = Event::default().event("alert").data(&*m.text);
        // Aggregated: only a window's last message moves the resume point.
        Some(if m.window_end == Some(false) {
            ev
        } else {
            ev.id(m.seq.to_string())
        })
    }

    /// The next message to send: one alert, or with aggregation one group of a window.
    async fn next_message(&mut self) -> Option<Wire> {
        let Some(window) = self.aggregate else {
            return self.next_alert().await;
        };
        if let Some(m) = self.ready.pop_front() {
            return Some(m);
        }
        let first = self.next_alert().await?;
        let deadline = tokio::time::Instant::now() + window;
        let mut gathered = vec![first.json()];
        while gathered.len() < AGGREGATE_MAX {
            match tokio::time::timeout_at(deadline, self.next_alert()).await {
                // A summary of a window carries no updates of alerts it summarised.
                Ok(Some(m)) if m.updated => {}
                Ok(Some(m)) => gathered.push(m.json()),
                // The window is over, or the server is stopping: send what there is.
                Ok(None) | Err(_) => break,
            }
        }
        self.ready = aggregate(gathered);
        self.ready.pop_front()
    }

    /// The next alert to send, in sequence order.
    async fn next_alert(&mut self) -> Option<Wire> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Some(m);
            }
            if self.catching_up {
                let (st, filter, after) = (self.st.clone(), self.filter.clone(), self.last);
                let tenant = filter.tenant.clone();
                let page = st
                    .read(&tenant, move |s| Ok(s.alerts_after(&filter, after)?))
                    .await
                    .ok()?;
                if page.len() < BACKLOG_PAGE {
                    self.catching_up = false;
                }
                for r in &page {
                    self.last = r.id;
                    self.pending.push_back(Wire::of(&message_of_record(r)));
                }
                continue;
            }
            let received = tokio::select! {
                r = self.rx.recv() => r,
                _ = self.closing.wait_for(|c| *c) => return None,
                _ = credential_ended(&mut self.credential) => return None,
            };
            match received {
                // A new version of an alert this client has had (a later one reaches it
                // from the store in its latest form anyway).
                Ok(p) if p.updated => {
                    if p.id <= self.last && self.matches(&p) {
                        self.pending.push_back(Wire {
                            seq: p.id,
                            text: p.text.clone(),
                            window_end: None,
                            updated: true,
                        });
                    }
                }
                Ok(p) if p.id > self.last && p.tenant == self.filter.tenant => {
                    self.last = p.id;
                    if self.matches(&p) {
                        self.pending.push_back(Wire {
                            seq: p.id,
                            text: p.text.clone(),
                            window_end: None,
                            updated: false,
                        });
                    }
                }
                Ok(_) => {}
                // Fell behind the live buffer: catch up from the store, losing nothing.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catching_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceConfig;
    use warden_event::{ActivityType, Timestamp, UserActivity};

    fn score(i: i64) -> warden_event::ThreatScore {
        let mut engine = warden_engine::ueba::UebaEngine::new(warden_engine::UebaConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut a = UserActivity::new("u", ActivityType::Login, Timestamp(1_775_000_000_000 + i));
        a.event_id = Some(format!("e{i}"));
        let mut s = engine.score(&a, false);
        s.threat_level = ThreatLevel::High;
        s
    }

    #[tokio::test]
    async fn a_consumer_that_falls_behind_is_caught_up_from_the_store() {
        let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let st = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
        let mut c = Cursor {
            st: st.clone(),
            filter: AlertFilter {
                tenant: "acme".into(),
                limit: BACKLOG_PAGE,
                ..AlertFilter::default()
            },
            rx: st.feed.subscribe(),
            last: 0,
            pending: VecDeque::new(),
            catching_up: false,
            closing: st.closing.subscribe(),
            credential: None,
            aggregate: None,
            ready: VecDeque::new(),
        };
        // Far more than the live buffer holds, while the consumer reads nothing.
        let n = (LIVE_BUFFER * 2 + 100) as i64;
        for i in 0..n {
            let s = score(i);
            let saved = st
                .store
                .lock()
                .map(|mut store| store.save_scores("acme", None, std::slice::from_ref(&s)))
                .unwrap_or_else(|_| panic!("lock"))
                .unwrap_or_else(|e| panic!("{e}"));
            let alert = Arc::new(Alert::from_threat_score("acme", &s));
            let _ = st.feed.send(Arc::new(Published::of(saved[0].0, alert)));
        }
        let mut ids = Vec::new();
        while ids.len() < n as usize {
            let m = tokio::time::timeout(Duration::from_secs(10), c.next_message())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("stream ended after {}", ids.len()));
            ids.push(m.seq);
        }
        // Every id once, in order: nothing lost to the overflow.
        let expected: Vec<i64> = (1..=n).collect();
        assert!(
            ids == expected,
            "first difference at {:?}",
            ids.iter().zip(&expected).position(|(a, b)| a != b)
        );
    }

    fn msg(seq: i64, user: &str, kind: &str, score: f64) -> Value {
        let primary = [kind.to_owned()];
        message(
            &Head {
                id: seq,
                channel: "behavior",
                detector: "ueba",
                user,
                ts: "2026-04-01T00:00:00Z",
                level: "HIGH",
                score,
            },
            &primary,
            "x",
        )
    }

    #[test]
    fn a_window_collapses_per_user_and_type_with_increasing_sequence_numbers() {
        let window = vec![
            msg(1, "ana", "new_location", 60.0),
            msg(2, "bob", "unusual_time", 50.0),
            msg(3, "ana", "new_location", 70.0),
            msg(4, "ana", "unusual_volume", 55.0),
            msg(5, "ana", "new_location", 65.0),
        ];
        let out: Vec<Value> = aggregate(window).iter().map(Wire::json).collect();
        let seqs: Vec<i64> = out.iter().filter_map(|m| m["seq"].as_i64()).collect();
        assert_eq!(seqs, [2, 4, 5], "one per group, ordered by its last alert");
        let ana = &out[2];
        assert_eq!(ana["count"], 3);
        assert_eq!(ana["first_seq"], 1);
        assert_eq!(ana["alert_ids"], json!([1, 3, 5]));
        assert_eq!(ana["max_threat_score"], 70.0);
        assert_eq!(ana["threat_score"], 65.0, "the latest alert of the group");
        let ends: Vec<bool> = out.iter().map(|m| m["window_end"] == json!(true)).collect();
        assert_eq!(ends, [false, false, true]);
    }

    #[tokio::test]
    async fn an_aggregating_cursor_sends_one_message_per_window_group() {
        let store = warden_store::Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let st = AppState::new(ServiceConfig::default(), store).unwrap_or_else(|e| panic!("{e}"));
        let n = 40;
        for i in 0..n {
            let s = score(i);
            let _ = st
                .store
                .lock()
                .map(|mut store| store.save_scores("acme", None, std::slice::from_ref(&s)));
        }
        let mut c = Cursor {
            st: st.clone(),
            filter: AlertFilter {
                tenant: "acme".into(),
                limit: BACKLOG_PAGE,
                ..AlertFilter::default()
            },
            rx: st.feed.subscribe(),
            last: 0,
            pending: VecDeque::new(),
            catching_up: true,
            closing: st.closing.subscribe(),
            credential: None,
            aggregate: Some(Duration::from_millis(300)),
            ready: VecDeque::new(),
        };
        let m = tokio::time::timeout(Duration::from_secs(10), c.next_message())
            .await
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("no message"))
            .json();
        assert_eq!(m["count"], json!(n), "{m}");
        assert_eq!(m["seq"], json!(n));
        assert_eq!(m["window_end"], true);
        // Nothing more within the next window.
        assert!(
            tokio::time::timeout(Duration::from_millis(500), c.next_message())
                .await
                .is_err()
        );
    }
}
