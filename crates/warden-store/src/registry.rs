//! The model registry: named slots ("flows", …), numbered versions, one active version per
//! name, and the history of activations (what `rollback` goes back along).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, now, q};

/// A model version in the registry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StoredModel {
    pub name: String,
    pub version: i64,
    pub kind: String,
    pub format: String,
    pub body_hash: String,
    /// JSON summary (training rows, figures) given at registration.
    pub summary: serde_json::Value,
    pub created_at: String,
    pub active: bool,
}

impl Store {
    /// Adds a model file as the next version of `name`; returns the version number.
    pub fn register_model(
        &self,
        name: &str,
        kind: &str,
        format: &str,
        body: &[u8],
        summary: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        if name.is_empty() || name.len() > 128 {
            return Err(StoreError::Registry(
                "a model name is 1 to 128 characters".into(),
            ));
        }
        let next: i64 = self
            .conn
            .query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .map_err(q("numbering a model version"))?;
        let hash = format!("{:016x}", warden_models::stats::stable_hash_bytes(body));
        self.conn
            .execute(
                "INSERT INTO models (name, version, kind, format, body, body_hash, summary, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![name, next, kind, format, body, hash, summary.to_string(), now()],
            )
            .map_err(q("registering a model"))?;
        Ok(next)
    }

    /// The active version of `name`, if any.
    pub fn active_model_version(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(
                "SELECT version FROM model_activations WHERE name = ?1 ORDER BY id DESC LIMIT 1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(q("reading the active model"))
    }

    /// Every registered version (of `name`, or of all names), newest first.
    pub fn list_models(&self, name: Option<&str>) -> Result<Vec<StoredModel>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, version, kind, format, body_hash, summary, created_at FROM models
                 WHERE ?1 IS NULL OR name = ?1 ORDER BY name, version DESC",
            )
            .map_err(q("listing models"))?;
        let rows = stmt
            .query_map(params![name], |r| {
                Ok(StoredModel {
                    name: r.get(0)?,
                    version: r.get(1)?,
                    kind: r.get(2)?,
                    format: r.get(3)?,
                    body_hash: r.get(4)?,
                    summary: serde_json::from_str(&r.get::<_, String>(5)?)
                        .unwrap_or(serde_json::Value::Null),
                    created_at: r.get(6)?,
                    active: false,
                })
            })
            .map_err(q("listing models"))?;
        let mut out = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(q("listing models"))?;
        for m in &mut out {
            m.active = self.active_model_version(&m.name)? == Some(m.version);
        }
        Ok(out)
    }

    /// Makes `version` of `name` the active one.
    pub fn activate_model(&self, name: &str, version: i64) -> Result<(), StoreError> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM models WHERE name = ?1 AND version = ?2)",
                params![name, version],
                |r| r.get(0),
            )
            .map_err(q("finding a model"))?;
        if !exists {
            return Err(StoreError::Registry(format!(
                "no model `{name}` version {version} in the registry"
            )));
        }
        self.conn
            .execute(
                "INSERT INTO model_activations (name, version, activated_at) VALUES (?1, ?2, ?3)",
                params![name, version, now()],
            )
            .map_err(q("activating a model"))?;
        Ok(())
    }

    /// Goes back to the version that was active before the current one; returns it.
    pub fn rollback_model(&self, name: &str) -> Result<i64, StoreError> {
        let history: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT version FROM model_activations WHERE name = ?1 ORDER BY id DESC")
                .map_err(q("reading activations"))?;
            let rows = stmt
                .query_map(params![name], |r| r.get(0))
                .map_err(q("reading activations"))?;
            rows.collect::<Result<_, _>>()
                .map_err(q("reading activations"))?
        };
        let Some(&current) = history.first() else {
            return Err(StoreError::Registry(format!(
                "model `{name}` was never activated"
            )));
        };
        let Some(&previous) = history.iter().find(|&&v| v != current) else {
            return Err(StoreError::Registry(format!(
                "model `{name}` has no earlier active version to go back to"
            )));
        };
        self.activate_model(name, previous)?;
        Ok(previous)
    }

    /// The model file of `version` of `name` (the active one when `version` is `None`).
    pub fn model_body(
        &self,
        name: &str,
        version: Option<i64>,
    ) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
        let version = match version {
            Some(v) => v,
            None => match self.active_model_version(name)? {
                Some(v) => v,
                None => return Ok(None),
            },
        };
        self.conn
            .query_row(
                "SELECT body FROM models WHERE name = ?1 AND version = ?2",
                params![name, version],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("reading a model"))
            .map(|b| b.map(|b| (version, b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_versions_activation_and_rollback() {
        let s = Store::open_in_memory().unwrap();
        let summary = serde_json::json!({"rows": 10});
        assert_eq!(
            s.register_model("flows", "iforest", "nsl-kdd", b"one", &summary)
                .unwrap(),
            1
        );
        assert_eq!(
            s.register_model("flows", "gbdt", "nsl-kdd", b"two", &summary)
                .unwrap(),
            2
        );
        assert_eq!(
            s.register_model("zeek", "iforest", "zeek-conn", b"z", &summary)
                .unwrap(),
            1
        );
        assert_eq!(s.model_body("flows", None).unwrap(), None);
        assert!(s.rollback_model("flows").is_err());
        s.activate_model("flows", 1).unwrap();
        s.activate_model("flows", 2).unwrap();
        assert_eq!(
            s.model_body("flows", None).unwrap(),
            Some((2, b"two".to_vec()))
        );
        let listed = s.list_models(Some("flows")).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|m| (m.version, m.active))
                .collect::<Vec<_>>(),
            [(2, true), (1, false)]
        );
        assert_eq!(listed[0].summary["rows"], 10);
        assert_eq!(s.rollback_model("flows").unwrap(), 1);
        assert_eq!(s.active_model_version("flows").unwrap(), Some(1));
        // Rolling back again returns to 2 (the one active before 1).
        assert_eq!(s.rollback_model("flows").unwrap(), 2);
        assert!(s.activate_model("flows", 9).is_err());
        assert!(s.register_model("", "k", "f", b"", &summary).is_err());
    }
}
