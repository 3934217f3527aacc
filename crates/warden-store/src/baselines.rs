//! Behavioural baselines in the store: each user's state and the population, saved and
//! loaded whole (the models crate's codec), per tenant for the service.

use rusqlite::{OptionalExtension, params};
use warden_models::baseline::{Population, UserState, codec};

use crate::StoreError;
use crate::store::{Store, now, q};

/// Decodes stored baselines, naming the user whose blob does not decode.
fn decode_users(rows: Vec<(String, Vec<u8>)>) -> Result<Vec<(String, UserState)>, StoreError> {
    rows.into_iter()
        .map(|(user, blob)| {
            codec::decode(&blob, "baseline")
                .map(|state| (user.clone(), state))
                .map_err(|source| StoreError::Baseline { user, source })
        })
        .collect()
}

/// Decodes a stored population (a fresh one when none was saved).
fn decode_population(blob: Option<Vec<u8>>) -> Result<Population, StoreError> {
    match blob {
        Some(blob) => codec::decode(&blob, "population").map_err(|source| StoreError::Baseline {
            user: "(population)".into(),
            source,
        }),
        None => Ok(Population::default()),
    }
}

impl Store {
    /// Replaces the stored baselines of the given users and the population, atomically.
    pub fn save_baselines<'a>(
        &mut self,
        users: impl IntoIterator<Item = (&'a String, &'a UserState)>,
        population: &Population,
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction().map_err(q("saving baselines"))?;
        let mut n = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO baselines (user_id, state, events, last_seen, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, events = excluded.events,
                     last_seen = excluded.last_seen, updated_at = excluded.updated_at",
                )
                .map_err(q("saving baselines"))?;
            let updated = now();
            for (user, state) in users {
                stmt.execute(params![
                    user,
                    codec::encode(state),
                    i64::from(state.profile.events),
                    state.profile.last_seen.to_rfc3339(),
                    updated,
                ])
                .map_err(q("saving baselines"))?;
                n += 1;
            }
            tx.execute(
                "INSERT INTO population (id, state, updated_at) VALUES (1, ?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![codec::encode(population), updated],
            )
            .map_err(q("saving baselines"))?;
        }
        tx.commit().map_err(q("saving baselines"))?;
        Ok(n)
    }

    /// Loads every baseline and the population.
    pub fn load_baselines(&self) -> Result<(Vec<(String, UserState)>, Population), StoreError> {
        let rows = self.baseline_rows("SELECT user_id, state FROM baselines", [])?;
        let population = self
            .conn
            .query_row("SELECT state FROM population WHERE id = 1", [], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .optional()
            .map_err(q("loading the population"))?;
        Ok((decode_users(rows)?, decode_population(population)?))
    }

    /// Saves some of a tenant's baselines (those that changed) and its population, in one
    /// transaction: the service's counterpart of [`Store::save_baselines`].
    pub fn save_tenant_baselines(
        &mut self,
        tenant: &str,
        users: &[(String, Vec<u8>, u32, String)],
        population: &[u8],
    ) -> Result<usize, StoreError> {
        let tx = self.conn.transaction().map_err(q("saving baselines"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO tenant_baselines (tenant, user_id, state, events, last_seen, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant, user_id) DO UPDATE SET state = excluded.state,
                     events = excluded.events, last_seen = excluded.last_seen,
                     updated_at = excluded.updated_at",
                )
                .map_err(q("saving baselines"))?;
            let updated = now();
            for (user, state, events, last_seen) in users {
                stmt.execute(params![
                    tenant,
                    user,
                    state,
                    i64::from(*events),
                    last_seen,
                    updated
                ])
                .map_err(q("saving baselines"))?;
            }
            tx.execute(
                "INSERT INTO tenant_population (tenant, state, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (tenant) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                params![tenant, population, updated],
            )
            .map_err(q("saving baselines"))?;
        }
        tx.commit().map_err(q("saving baselines"))?;
        Ok(users.len())
    }

    /// A tenant's baselines and population, as saved by [`Store::save_tenant_baselines`].
    pub fn load_tenant_baselines(
        &self,
        tenant: &str,
    ) -> Result<(Vec<(String, UserState)>, Population), StoreError> {
        let rows = self.baseline_rows(
            "SELECT user_id, state FROM tenant_baselines WHERE tenant = ?1",
            params![tenant],
        )?;
        let population = self
            .conn
            .query_row(
                "SELECT state FROM tenant_population WHERE tenant = ?1",
                params![tenant],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading the population"))?;
        Ok((decode_users(rows)?, decode_population(population)?))
    }

    /// One user's stored baseline.
    pub fn baseline(&self, user: &str) -> Result<Option<UserState>, StoreError> {
        let blob = self
            .conn
            .query_row(
                "SELECT state FROM baselines WHERE user_id = ?1",
                [user],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
            .map_err(q("loading a baseline"))?;
        blob.map(|b| {
            codec::decode(&b, "baseline").map_err(|source| StoreError::Baseline {
                user: user.into(),
                source,
            })
        })
        .transpose()
    }

    pub fn baseline_count(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM baselines", [], |r| r.get(0))
            .map_err(q("counting baselines"))
    }
}

impl Store {
    /// The (user, encoded state) rows a baseline query returns.
    fn baseline_rows(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(q("loading baselines"))?;
        stmt.query_map(args, |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(q("loading baselines"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(q("loading baselines"))
    }
}
