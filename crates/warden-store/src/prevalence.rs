//! Each tenant's command-line prevalence (on how many hosts each command line was started),
//! saved whole in the engine's own format (opaque here) so that a line common before a
//! restart is still common after it.

use rusqlite::{OptionalExtension, params};

use crate::StoreError;
use crate::store::{Store, now, q};

impl Store {
    /// Replaces the tenant's saved prevalence table.
    pub fn save_prevalence(&mut self, tenant: &str, body: &[u8]) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO tenant_prevalence (tenant, body, saved_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant) DO UPDATE SET body = excluded.body,
                 saved_at = excluded.saved_at",
                params![tenant, body, now()],
            )
            .map_err(q("saving the prevalence table"))?;
        Ok(())
    }

    /// The tenant's saved prevalence table, if any.
    pub fn load_prevalence(&self, tenant: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn
            .query_row(
                "SELECT body FROM tenant_prevalence WHERE tenant = ?1",
                params![tenant],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading the prevalence table"))
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[test]
    fn each_tenant_has_its_own_table_replaced_on_save() {
        let mut s = Store::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.load_prevalence("acme").ok(), Some(None));
        s.save_prevalence("acme", b"one")
            .unwrap_or_else(|e| panic!("{e}"));
        s.save_prevalence("globex", b"other")
            .unwrap_or_else(|e| panic!("{e}"));
        s.save_prevalence("acme", b"two")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.load_prevalence("acme").ok(), Some(Some(b"two".to_vec())));
        assert_eq!(
            s.load_prevalence("globex").ok(),
            Some(Some(b"other".to_vec()))
        );
    }
}
