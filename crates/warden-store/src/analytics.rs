//! Aggregates over a tenant's alerts for the service's analytics: counts per time bucket by
//! level and by anomaly type, and the dashboard's tallies. Computed by SQLite over the
//! indexed table, never by loading alerts into memory.

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use crate::StoreError;
use crate::store::{Store, q};

/// Time buckets of a trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granularity {
    Hour,
    Day,
    Week,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            "week" => Some(Self::Week),
            _ => None,
        }
    }

    /// SQL for the bucket of `ts` (RFC 3339, UTC).
    fn bucket_sql(self) -> &'static str {
        match self {
            Self::Hour => "substr(ts, 1, 13) || ':00:00Z'",
            Self::Day => "substr(ts, 1, 10)",
            // ISO-like week label: the year and the week number (Monday first).
            Self::Week => "strftime('%Y-W%W', substr(ts, 1, 19))",
        }
    }
}

/// One bucket of a trend.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TrendBucket {
    pub bucket: String,
    pub total: u64,
    pub by_level: BTreeMap<String, u64>,
    /// Primary anomaly types (an alert with two counts for both).
    pub by_type: BTreeMap<String, u64>,
}

/// The dashboard's tallies.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DashboardCounts {
    pub total: u64,
    pub by_level: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
    /// Alerts since the given time, by level.
    pub recent_by_level: BTreeMap<String, u64>,
    /// The users with the most alerts, with their highest score.
    pub top_entities: Vec<(String, u64, f64)>,
    pub top_types: Vec<(String, u64)>,
}

impl Store {
    /// Alert counts per bucket between `from` and `to` (RFC 3339, inclusive, optional),
    /// oldest first: the latest `max_buckets` buckets, and whether older ones were left out.
    pub fn alert_trend(
        &self,
        tenant: &str,
        granularity: Granularity,
        from: Option<&str>,
        to: Option<&str>,
        max_buckets: usize,
    ) -> Result<(Vec<TrendBucket>, bool), StoreError> {
        // Newest first, so that reading stops at the bucket past the limit.
        let sql = format!(
            "SELECT {b} AS bucket, level, primary_anomalies, COUNT(*) FROM alerts
             WHERE tenant = ?1 AND (?2 IS NULL OR ts >= ?2) AND (?3 IS NULL OR ts <= ?3)
             GROUP BY bucket, level, primary_anomalies ORDER BY bucket DESC",
            b = granularity.bucket_sql()
        );
        let mut stmt = self
            .conn
            .prepare_cached(&sql)
            .map_err(q("computing a trend"))?;
        let rows = stmt
            .query_map(params![tenant, from, to], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(q("computing a trend"))?;
        let mut out: Vec<TrendBucket> = Vec::new();
        let mut more = false;
        for row in rows {
            let (bucket, level, primary, n) = row.map_err(q("computing a trend"))?;
            let n = n.max(0) as u64;
            if out.last().is_none_or(|b| b.bucket != bucket) {
                if out.len() == max_buckets {
                    more = true;
                    break;
                }
                out.push(TrendBucket {
                    bucket,
                    ..TrendBucket::default()
                });
            }
            if let Some(b) = out.last_mut() {
                b.total += n;
                *b.by_level.entry(level).or_default() += n;
                for t in primary.split(',').filter(|t| !t.is_empty()) {
                    *b.by_type.entry(t.to_owned()).or_default() += n;
                }
            }
        }
        out.reverse();
        Ok((out, more))
    }

    /// Tallies for the dashboard; `since` bounds the "recent" counts.
    pub fn dashboard_counts(
        &self,
        tenant: &str,
        since: &str,
        top: usize,
    ) -> Result<DashboardCounts, StoreError> {
        let mut d = DashboardCounts::default();
        let count_by =
            |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<BTreeMap<String, u64>, StoreError> {
                let mut stmt = self
                    .conn
                    .prepare_cached(sql)
                    .map_err(q("computing the dashboard"))?;
                let rows = stmt
                    .query_map(p, |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(q("computing the dashboard"))?;
                let mut m = BTreeMap::new();
                for row in rows {
                    let (k, n) = row.map_err(q("computing the dashboard"))?;
                    m.insert(k, n.max(0) as u64);
                }
                Ok(m)
            };
        d.by_level = count_by(
            "SELECT level, COUNT(*) FROM alerts WHERE tenant = ?1 GROUP BY level",
            &[&tenant],
        )?;
        d.total = d.by_level.values().sum();
        d.by_status = count_by(
            "SELECT status, COUNT(*) FROM alerts WHERE tenant = ?1 GROUP BY status",
            &[&tenant],
        )?;
        d.recent_by_level = count_by(
            "SELECT level, COUNT(*) FROM alerts WHERE tenant = ?1 AND ts >= ?2 GROUP BY level",
            &[&tenant, &since],
        )?;
        let mut types: BTreeMap<String, u64> = BTreeMap::new();
        for (primary, n) in count_by(
            "SELECT primary_anomalies, COUNT(*) FROM alerts WHERE tenant = ?1 GROUP BY primary_anomalies",
            &[&tenant],
        )? {
            for t in primary.split(',').filter(|t| !t.is_empty()) {
                *types.entry(t.to_owned()).or_default() += n;
            }
        }
        let mut types: Vec<(String, u64)> = types.into_iter().collect();
        types.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        types.truncate(top);
        d.top_types = types;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT user_id, COUNT(*) AS n, MAX(score) FROM alerts WHERE tenant = ?1
                 GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?2",
            )
            .map_err(q("computing the dashboard"))?;
        let rows = stmt
            .query_map(params![tenant, top as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })
            .map_err(q("computing the dashboard"))?;
        for row in rows {
            let (u, n, max) = row.map_err(q("computing the dashboard"))?;
            d.top_entities.push((u, n.max(0) as u64, max));
        }
        Ok(d)
    }
}
