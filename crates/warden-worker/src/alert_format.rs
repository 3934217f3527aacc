//! How an alert is written as one message of an alert topic: Warden's JSON, an ECS
//! document, or a CEF line — the same renderings the outputs use.

use std::sync::Arc;

use warden_event::Alert;
use warden_outputs::Delivery;

/// The shape of each alert message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// `warden_event::Alert` as JSON (what the store, the API and `--send` carry).
    #[default]
    Json,
    /// An Elastic Common Schema document (as the Elasticsearch output writes).
    Ecs,
    /// A CEF line (as the syslog output writes, without the syslog header).
    Cef,
}

impl std::str::FromStr for AlertFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Ok(AlertFormat::Json),
            "ecs" => Ok(AlertFormat::Ecs),
            "cef" => Ok(AlertFormat::Cef),
            other => Err(format!("unknown alert format {other:?} (json, ecs or cef)")),
        }
    }
}

/// One alert as a message body.
pub fn format_alert(a: &Alert, format: AlertFormat) -> Vec<u8> {
    match format {
        AlertFormat::Json => serde_json::to_vec(a).unwrap_or_default(),
        AlertFormat::Ecs | AlertFormat::Cef => {
            let d = Delivery::new(None, Arc::new(a.clone()));
            match format {
                AlertFormat::Cef => warden_outputs::format::cef(&d).into_bytes(),
                _ => serde_json::to_vec(&warden_outputs::http::ecs_document(&d, &host()))
                    .unwrap_or_default(),
            }
        }
    }
}

/// This machine's name, for the ECS `observer`.
fn host() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "warden-worker".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_engine::ueba::UebaEngine;
    use warden_event::{ActivityType, ThreatLevel, Timestamp, UserActivity};

    #[test]
    fn each_format_is_one_message_naming_the_subject() {
        let mut e = UebaEngine::new(Default::default()).unwrap();
        let t = Timestamp::parse_rfc3339("2026-04-02T09:00:00Z").unwrap();
        let mut s = e.score(&UserActivity::new("ana", ActivityType::Login, t), false);
        s.threat_level = ThreatLevel::High;
        let a = Alert::from_threat_score("default", &s);
        let json: Alert = serde_json::from_slice(&format_alert(&a, AlertFormat::Json)).unwrap();
        assert_eq!(json, a);
        let ecs: serde_json::Value =
            serde_json::from_slice(&format_alert(&a, AlertFormat::Ecs)).unwrap();
        assert!(ecs.to_string().contains("ana"), "{ecs}");
        let cef = String::from_utf8(format_alert(&a, AlertFormat::Cef)).unwrap();
        assert!(cef.starts_with("CEF:0|"), "{cef}");
        assert!(!cef.contains('\n'));
        assert_eq!("CEF".parse::<AlertFormat>(), Ok(AlertFormat::Cef));
        assert!("xml".parse::<AlertFormat>().is_err());
    }
}
