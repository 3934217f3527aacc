//! The UserActivity schema: one action of one user. Its field names are a contract.

use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// What the user did. Unknown kinds are kept as [`ActivityType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ActivityType {
    Login,
    Logout,
    FileAccess,
    Download,
    Upload,
    ApiCall,
    VpnConnect,
    #[default]
    Other,
}

impl ActivityType {
    /// Parses the names used by the schema and common synonyms, case-insensitively.
    pub fn parse(s: &str) -> Self {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "login" | "logon" | "sign_in" | "signin" | "authentication" | "auth" => Self::Login,
            "logout" | "logoff" | "sign_out" | "signout" => Self::Logout,
            "file_access" | "file_read" | "read" | "access" | "file" => Self::FileAccess,
            "download" | "export" => Self::Download,
            "upload" | "import" => Self::Upload,
            "api_call" | "api" => Self::ApiCall,
            "vpn_connect" | "vpn" => Self::VpnConnect,
            _ => Self::Other,
        }
    }

    /// The schema's name for this kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::Logout => "logout",
            Self::FileAccess => "file_access",
            Self::Download => "download",
            Self::Upload => "upload",
            Self::ApiCall => "api_call",
            Self::VpnConnect => "vpn_connect",
            Self::Other => "other",
        }
    }

    /// Kinds that authenticate a session: a success of one of these right after a burst of
    /// failures is the signature of credential stuffing. (Failures of any kind count towards
    /// the burst itself.)
    pub fn is_authentication(&self) -> bool {
        matches!(self, Self::Login | Self::VpnConnect)
    }

    /// Kinds that move data out of the organisation's systems towards the user.
    pub fn is_outbound_data(&self) -> bool {
        matches!(
            self,
            Self::Download | Self::FileAccess | Self::ApiCall | Self::Other
        )
    }
}

/// One user action. `user_id` and `timestamp` are required; everything else is optional
/// because real feeds omit fields, and detectors skip the checks they cannot make.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct UserActivity {
    /// Passed through to every output so results can be joined back to the source.
    pub event_id: Option<String>,
    pub user_id: String,
    pub activity_type: ActivityType,
    pub timestamp: Timestamp,
    /// "City, CC" as in the schema.
    pub location: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub device_fingerprint: Option<String>,
    pub device_name: Option<String>,
    pub ip_address: Option<String>,
    pub resource_accessed: Option<String>,
    /// Gigabytes moved by this action (0 when absent).
    pub data_transferred_gb: f64,
    pub duration_seconds: f64,
    /// Whether the action succeeded (true when absent).
    pub success: bool,
    pub user_agent: Option<String>,
}

impl UserActivity {
    /// A minimal successful activity, handy for tests and builders.
    pub fn new(user_id: impl Into<String>, activity_type: ActivityType, ts: Timestamp) -> Self {
        Self {
            user_id: user_id.into(),
            activity_type,
            timestamp: ts,
            success: true,
            ..Self::default()
        }
    }

    /// How to find this activity again: its `event_id`, else a hash of who and when.
    pub fn reference(&self) -> crate::EventRef {
        match &self.event_id {
            Some(id) => crate::EventRef::EventId {
                event_id: id.clone(),
            },
            None => crate::EventRef::Hash {
                hash: crate::content_hash(&[&self.user_id, &self.timestamp.to_rfc3339()]),
            },
        }
    }

    /// Coordinates when both are present, finite and in range.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        match (self.latitude, self.longitude) {
            (Some(lat), Some(lon))
                if lat.is_finite()
                    && lon.is_finite()
                    && (-90.0..=90.0).contains(&lat)
                    && (-180.0..=180.0).contains(&lon) =>
            {
                Some((lat, lon))
            }
            _ => None,
        }
    }

    /// The country code of `location` ("Lagos, NG" → "NG"), when it has one.
    pub fn country(&self) -> Option<&str> {
        let loc = self.location.as_deref()?;
        let (_, cc) = loc.rsplit_once(',')?;
        let cc = cc.trim();
        (!cc.is_empty()).then_some(cc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activity_type_synonyms() {
        assert_eq!(ActivityType::parse("LOGON"), ActivityType::Login);
        assert_eq!(ActivityType::parse("download"), ActivityType::Download);
        assert_eq!(ActivityType::parse("teleport"), ActivityType::Other);
        assert_eq!(ActivityType::parse("vpn_connect").as_str(), "vpn_connect");
    }

    #[test]
    fn coordinates_must_be_valid() {
        let mut a = UserActivity::new("u", ActivityType::Login, Timestamp(0));
        assert!(a.coordinates().is_none());
        a.latitude = Some(51.5);
        a.longitude = Some(-0.12);
        assert_eq!(a.coordinates(), Some((51.5, -0.12)));
        a.latitude = Some(91.0);
        assert!(a.coordinates().is_none());
        a.latitude = Some(f64::NAN);
        assert!(a.coordinates().is_none());
    }

    #[test]
    fn country_from_location() {
        let mut a = UserActivity::new("u", ActivityType::Login, Timestamp(0));
        a.location = Some("Lagos, NG".into());
        assert_eq!(a.country(), Some("NG"));
        a.location = Some("Lagos".into());
        assert_eq!(a.country(), None);
    }
}
