//! The OpenAPI 3 document of the service, generated from the route handlers' annotations and
//! the request types, served at `/v1/openapi.json`.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::routes;

/// The error body of every 4xx and 5xx answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `invalid`, `too_large`, `rate_limited`,
    /// `unavailable`, `internal`.
    pub code: String,
    pub message: String,
    /// The field or parameter at fault, for `invalid`.
    pub field: Option<String>,
}

/// A batch of user activities (the UserActivity schema: `user_id`, `timestamp`,
/// `activity_type`, `location`, `latitude`, `longitude`, `device_fingerprint`,
/// `ip_address`, `resource_accessed`, `data_transferred_gb`, `success`, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectBody {
    pub events: Vec<serde_json::Value>,
}

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
                        "A token from `warden token create`; its scope (read, write, admin) and tenant apply.",
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
    components(schemas(ErrorBody, ErrorDetail, DetectBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The document as JSON.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
