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
    use crate::Store;

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
