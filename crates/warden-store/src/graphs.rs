//! Each tenant's entity graph, saved whole (the graph crate's own file format, opaque
//! here) so that the service's graph survives a restart.

use rusqlite::{OptionalExtension, params};

use crate::StoreError;
use crate::store::{Store, now, q};

impl Store {
    /// Replaces the tenant's saved graph.
    pub fn save_graph(&mut self, tenant: &str, body: &[u8], edges: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO tenant_graphs (tenant, body, edges, saved_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (tenant) DO UPDATE SET body = excluded.body, edges = excluded.edges,
                 saved_at = excluded.saved_at",
                params![
                    tenant,
                    body,
                    i64::try_from(edges).unwrap_or(i64::MAX),
                    now()
                ],
            )
            .map_err(q("saving the graph"))?;
        Ok(())
    }

    /// The tenant's saved graph, if any.
    pub fn load_graph(&self, tenant: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT body FROM tenant_graphs WHERE tenant = ?1",
                params![tenant],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading the graph"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{AlertQuery, Saved, Store};
    use warden_event::{Alert, AlertDetail, Detector, DetectorKind, GraphFinding, ThreatLevel};

    fn finding(explanation: &str, steps: usize) -> Alert {
        Alert {
            tenant: "acme".into(),
            key: "k1".into(),
            digest: None,
            timestamp: "2026-05-28T16:18:49Z".into(),
            subject: "adm1".into(),
            entities: vec![],
            detector: Detector {
                kind: DetectorKind::Graph,
                id: "lateral_movement".into(),
            },
            level: ThreatLevel::High,
            score: 60.0,
            confidence: 0.8,
            anomalies: vec![],
            explanation: explanation.into(),
            recommended_actions: vec![],
            evidence: vec![],
            attack: vec![],
            detail: AlertDetail::Graph(GraphFinding {
                finder: "lateral_movement".into(),
                steps: vec![Default::default(); steps],
            }),
        }
    }

    #[test]
    fn a_graph_alert_reported_again_under_its_key_takes_the_grown_path() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        let first = s
            .save_alerts(None, &[finding("two hops", 2)])
            .unwrap_or_else(|e| panic!("{e}"));
        let again = s
            .save_alerts(None, &[finding("three hops", 3)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first[0].1, again[0].1), (true, false));
        assert_eq!(first[0].0, again[0].0, "the same row");
        // Told apart in detail: the grown body replaced the row; a replay changes nothing.
        let grown = s
            .save_alerts_detailed(None, &[finding("four hops", 4)])
            .unwrap_or_else(|e| panic!("{e}"));
        let replay = s
            .save_alerts_detailed(None, &[finding("four hops", 4)])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((grown[0].1, replay[0].1), (Saved::Updated, Saved::Same));
        s.save_alerts(None, &[finding("three hops", 3)])
            .unwrap_or_else(|e| panic!("{e}"));
        let q = AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        };
        let rows = s.list_alerts(&q).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].explanation, "three hops");
        // Other detectors' alerts are never rewritten by a replay.
        let mut sigma = finding("rule", 0);
        sigma.detector.kind = DetectorKind::Sigma;
        sigma.key = "k2".into();
        s.save_alerts(None, &[sigma.clone()])
            .unwrap_or_else(|e| panic!("{e}"));
        sigma.explanation = "changed".into();
        s.save_alerts(None, &[sigma])
            .unwrap_or_else(|e| panic!("{e}"));
        let rows = s.list_alerts(&q).unwrap_or_else(|e| panic!("{e}"));
        assert!(rows.iter().any(|r| r.explanation == "rule"));
        assert!(!rows.iter().any(|r| r.explanation == "changed"));
    }

    #[test]
    fn a_graph_is_saved_per_tenant_and_replaced() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.load_graph("acme").ok(), Some(None));
        s.save_graph("acme", b"one", 1)
            .unwrap_or_else(|e| panic!("{e}"));
        s.save_graph("acme", b"two", 2)
            .unwrap_or_else(|e| panic!("{e}"));
        s.save_graph("other", b"x", 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.load_graph("acme").ok().flatten().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(
            s.load_graph("other").ok().flatten().as_deref(),
            Some(&b"x"[..])
        );
    }
}
