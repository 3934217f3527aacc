//! The OpenAPI 3 document of the service, generated from the route handlers' annotations and
//! the request types, served at `/v1/openapi.json`.
//!
//! The document states what the server enforces, so that a request valid under it is never
//! refused as invalid: enums, patterns, formats, lengths and ranges of every parameter and
//! body field the server checks (the schema types below), and every status an operation
//! answers (the response sets below: 400, 401, 403, 404, 413, 429).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::content::Content;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, AnyOfBuilder, ArrayBuilder, KnownFormat, Object, ObjectBuilder,
    OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi, PartialSchema, ToSchema};

use crate::config::ServerConfig;
use crate::routes;

/// The error body of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `invalid`, `too_large`, `rate_limited`,
    /// `quota_exceeded`, `too_many_streams`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// The field or parameter at fault, for `invalid`.
    pub field: Option<String>,
}

/// Network flows as text, in the network model's format: at least one non-blank line.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = String, min_length = 1, pattern = r"\S")]
pub struct FlowsBody(pub String);

/// A batch of user activities (the UserActivity schema: `user_id`, `timestamp`,
/// `activity_type`, `location`, `latitude`, `longitude`, `device_fingerprint`,
/// `ip_address`, `resource_accessed`, `data_transferred_gb`, `success`, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectBody {
    /// At least one event, at most `server.max_batch_events` (10,000 by default).
    #[schema(min_items = 1, max_items = 10000)]
    pub events: Vec<serde_json::Value>,
}

// ---------------------------------------------------------------------------------------
// Responses shared by the operations, each with the JSON error body.

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
        .into()
}

macro_rules! error_responses {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl IntoResponses for $name {
                fn responses() -> BTreeMap<String, RefOr<Response>> {
                    BTreeMap::from([($status.to_owned(), error_response($description))])
                }
            }
        )*
    };
}

error_responses! {
    /// 400 `invalid`: a parameter or body the server refuses, named in `field`.
    Invalid => "400", "Invalid input, naming the field or parameter (`invalid`)";
    /// 401 `unauthorized`.
    Unauthorized => "401", "No token, or an unknown, revoked or expired one (`unauthorized`)";
    /// 403 `forbidden`.
    Forbidden => "403", "The token's scope is too small (`forbidden`)";
    /// 404 `not_found`.
    NotFound => "404", "Not found (or another tenant's)";
    /// 413 `too_large`.
    TooLarge => "413", "Body too large (`too_large`)";
    /// 429 on the rate-limited routes.
    RateLimited => "429", "Rate limited (`rate_limited`, see Retry-After); on detection, also a batch only of users beyond the tenant's quota (`quota_exceeded`)";
    /// 429 on the stream.
    TooManyStreams => "429", "This token already holds `server.max_streams_per_token` streams, or its tenant `server.max_streams_per_tenant` (`too_many_streams`)";
}

// ---------------------------------------------------------------------------------------
// Parameter and field schemas: what the server accepts, as it checks it.

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn one_of_strings<'a>(values: impl IntoIterator<Item = &'a str>) -> ObjectBuilder {
    string().enum_values(Some(values.into_iter().map(str::to_owned)))
}

/// `A|B|C`, for a pattern.
fn alternatives<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    values.into_iter().collect::<Vec<_>>().join("|")
}

/// No control characters (what `char::is_control` refuses: C0, DEL and C1).
const NO_CONTROLS: &str = r"^[^\u0000-\u001f\u007f-\u009f]*$";

/// The threat levels, for `level`, `min_level` (the server reads any case).
const LEVELS: [&str; 4] = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

macro_rules! schemas {
    ($($(#[$doc:meta])* $name:ident => $schema:expr;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema.into()
                }
            }

            impl ToSchema for $name {
                fn name() -> Cow<'static, str> {
                    Cow::Borrowed(stringify!($name))
                }
            }
        )*
    };
}

schemas! {
    /// A shell, as the API names it.
    ShellName => one_of_strings(routes::payload::SHELLS).description(Some("sh, bash, cmd or powershell"));
    /// A threat level.
    Level => one_of_strings(LEVELS).description(Some("LOW, MEDIUM, HIGH or CRITICAL (any case is read)"));
    /// Threat levels, comma-separated.
    Levels => string()
        .pattern(Some(format!("^({0})(,({0}))*$", alternatives(LEVELS))))
        .description(Some("Levels, comma-separated (`HIGH,CRITICAL`)"));
    /// A triage status.
    AlertStatus => one_of_strings(routes::alerts::STATUSES);
    /// An anomaly type.
    AnomalyTypeName => one_of_strings(warden_event::AnomalyType::ALL.map(warden_event::AnomalyType::as_str));
    /// The sort of an alert listing.
    AlertSortKey => one_of_strings(["id", "score", "time"])
        .description(Some("`id` (default: the order stored), `score` or `time` (event time)"));
    /// A listing's order.
    SortOrder => one_of_strings(["desc", "asc"]).description(Some("`desc` (default) or `asc`"));
    /// The format of an alert export.
    AlertExportFormat => one_of_strings(["json", "csv"]).description(Some("`json` (default) or `csv`"));
    /// The format of a graph export.
    GraphFormat => one_of_strings(["graphml", "json"]).description(Some("`graphml` (default) or `json`"));
    /// The buckets of a trend.
    Granularity => one_of_strings(["hour", "day", "week"]).description(Some("`hour`, `day` (default) or `week`"));
    /// Stream channels, comma-separated.
    Channels => string()
        .pattern(Some(format!("^({0})(,({0}))*$", alternatives(routes::stream::CHANNELS))))
        .description(Some("Channels, comma-separated: behavior, threat, network, payload"));
    /// An alert listing's cursor, as `next_cursor` gives it: an id, or a sort value and an id
    /// (`<value>~<id>`) for a score or time sort.
    Cursor => string()
        .pattern(Some(r"^-?[0-9]{1,18}$|^[0-9A-Za-z:.+-]{1,40}~-?[0-9]{1,18}$"))
        .description(Some("`next_cursor` of the previous page, with the same sort (opaque)"));
    /// The states a token listing can ask for.
    TokenListState => one_of_strings(["live", "ended"])
        .description(Some("`live` (neither revoked nor expired) or `ended` (revoked or expired)"));
    /// A token scope.
    TokenScope => one_of_strings(["read", "write", "admin"]).description(Some("`read`, `write` or `admin`"));
    /// A token lifetime: a number and a unit, up to ten years.
    Lifetime => string()
        .pattern(Some(routes::tokens::LIFETIME_PATTERN))
        .description(Some("A number and a unit (s, m, h, d, w), up to 10 years: `90d`, `12h`, `30m`, `45s`, `2w`"));
    /// A webhook's destination.
    HookUrl => string()
        .min_length(Some(8))
        .max_length(Some(2048))
        .pattern(Some(r"^https?://\S+$"))
        .description(Some("An http:// or https:// URL of at most 2048 characters; its host must resolve to a public address (or one allowed by the configuration)"));
    /// A webhook's signing secret.
    HookSecret => string()
        .min_length(Some(16))
        .max_length(Some(256))
        .description(Some("16 to 256 characters; generated when not given"));
    /// The events a webhook receives.
    HookEvents => ArrayBuilder::new()
        .items(one_of_strings(routes::webhooks::EVENTS))
        .min_items(Some(1))
        .description(Some("`[\"alert.created\"]` (the default)"));
    /// Path targets: entities, comma-separated.
    Targets => string()
        .pattern(Some(format!(
            "^[^,]+(,[^,]+){{0,{}}}$",
            routes::graph::MAX_TARGETS - 1
        )))
        .description(Some("Targets, comma-separated (at most 50): the nearest first"));
    /// One Server-Sent Event of the stream.
    StreamEvent => ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "`alert` (a new alert; `id`: its sequence number) or `alert.updated` (a new version \
             of an alert sent before); `data`: the message as JSON",
        ))
        .property("event", one_of_strings(["alert", "alert.updated"]))
        .property("data", string().content_media_type("application/json"))
        .property("id", string().pattern(Some("^[0-9]+$")))
        .property("retry", ObjectBuilder::new().schema_type(Type::Integer))
        .required("event")
        .required("data");
    /// A triage change: at least one of status, assignee (null clears it), classification.
    Patch => patch_schema();
    /// A bulk triage change: the action and the field it needs.
    Bulk => bulk_schema();
}

fn nullable(schema: ObjectBuilder) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(schema)
        .into()
}

/// An analyst's note on an alert: `assignee`, `classification`.
fn note() -> ObjectBuilder {
    string()
        .max_length(Some(200))
        .pattern(Some(NO_CONTROLS))
        .description(Some("At most 200 characters, no control characters"))
}

/// The fields of a triage change, with `required` and the fields that may not be null.
fn patch_variant(required: &str) -> Object {
    let field = |name: &str, schema: ObjectBuilder| {
        if name == required && name != "assignee" {
            schema.into()
        } else {
            nullable(schema)
        }
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "status",
            field("status", one_of_strings(routes::alerts::STATUSES)),
        )
        .property("assignee", field("assignee", note()))
        .property("classification", field("classification", note()))
        .required(required)
        .min_properties(Some(1))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

fn patch_schema() -> AnyOfBuilder {
    AnyOfBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "At least one change: `status`, `assignee` (`null` clears it) or `classification` \
             (`null` for status or classification is no change)",
        ))
        .item(patch_variant("status"))
        .item(patch_variant("assignee"))
        .item(patch_variant("classification"))
}

fn bulk_variant(action: &str, needs: &str, schema: fn() -> ObjectBuilder) -> Object {
    let loose = || nullable(string());
    let mut o = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("action", one_of_strings([action]))
        .property(
            "ids",
            ArrayBuilder::new()
                .items(
                    // Alert ids are positive; bounded where a JSON number written as a float
                    // (`12.0`, which JSON Schema counts as an integer) still reads exactly.
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                        .minimum(Some(1.0))
                        .maximum(Some(routes::alerts::MAX_ALERT_ID as f64)),
                )
                .min_items(Some(1))
                .max_items(Some(routes::alerts::MAX_BULK)),
        );
    for f in ["status", "assignee", "classification"] {
        o = if f == needs {
            o.property(f, schema())
        } else {
            o.property(f, loose())
        };
    }
    o.required("action")
        .required("ids")
        .required(needs)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .build()
}

fn bulk_schema() -> OneOfBuilder {
    OneOfBuilder::new()
        .schema_type(Type::Object)
        .description(Some(
            "`update_status` with `status`, `assign` with `assignee`, or `classify` with \
             `classification`, on 1 to 1000 alert ids",
        ))
        .item(bulk_variant("update_status", "status", || {
            one_of_strings(routes::alerts::STATUSES)
        }))
        .item(bulk_variant("assign", "assignee", note))
        .item(bulk_variant("classify", "classification", note))
}

// ---------------------------------------------------------------------------------------

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `warden token create`, or — with `[jwt]` configured — a JWT of the identity provider; its scope (read, write, admin) and tenant apply.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden",
        description = "The detection service: score activity, triage alerts, follow them live."
    ),
    paths(
        routes::detect::realtime,
        routes::network::monitor,
        routes::network::models,
        routes::network::rules,
        routes::graph::stats,
        routes::graph::neighbours,
        routes::graph::path,
        routes::graph::new_edges,
        routes::graph::export,
        routes::ops::whoami,
        routes::payload::analyze,
        routes::payload::submit,
        routes::payload::job,
        routes::alerts::list,
        routes::alerts::get_one,
        routes::alerts::patch,
        routes::alerts::bulk,
        routes::alerts::audit,
        routes::incidents::list,
        routes::incidents::get_one,
        routes::incidents::patch,
        routes::analytics::export,
        routes::analytics::trends,
        routes::analytics::dashboard,
        routes::analytics::behavior,
        routes::stream::stream,
        routes::tokens::list,
        routes::tokens::create,
        routes::tokens::revoke,
        routes::tokens::rotate,
        routes::webhooks::create,
        routes::webhooks::list,
        routes::webhooks::delete,
        routes::webhooks::test,
        routes::webhooks::dead_letters,
        routes::webhooks::replay,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
    ),
    components(schemas(ErrorBody, ErrorDetail, DetectBody, FlowsBody, Patch, Bulk, routes::payload::Submission, routes::payload::JobSubmission)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

impl ApiDoc {
    /// The document for a service with this configuration: the limits it sets (the most
    /// events in a batch) as the schemas state them.
    pub fn for_config(config: &ServerConfig) -> utoipa::openapi::OpenApi {
        let mut doc = ApiDoc::openapi();
        if let Some(RefOr::T(Schema::Object(body))) = doc
            .components
            .as_mut()
            .and_then(|c| c.schemas.get_mut("DetectBody"))
            && let Some(RefOr::T(Schema::Array(events))) = body.properties.get_mut("events")
        {
            events.max_items = Some(config.max_batch_events);
        }
        doc
    }
}

/// The document as JSON.
pub async fn document(
    axum::extract::State(st): axum::extract::State<crate::AppState>,
) -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::for_config(&st.config.server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_limit_follows_the_configuration() {
        let config = ServerConfig {
            max_batch_events: 25,
            ..ServerConfig::default()
        };
        let doc = serde_json::to_value(ApiDoc::for_config(&config)).unwrap_or_default();
        let events = &doc["components"]["schemas"]["DetectBody"]["properties"]["events"];
        assert_eq!(events["maxItems"], 25, "{events}");
        assert_eq!(events["minItems"], 1, "{events}");
    }
}
