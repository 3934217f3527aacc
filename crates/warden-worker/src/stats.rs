//! What a worker tells its operator: counters and gauges, shared between the consuming
//! thread and whoever serves `/metrics`, `/healthz` and `/readyz`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Reads one gauge of a partition.
type Gauge = fn(&PartitionGauges) -> f64;

/// One partition's gauges.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionGauges {
    /// Messages behind the end of the partition (summed over the input topics).
    pub lag: i64,
    /// Seconds since the partition's last checkpoint was written.
    pub checkpoint_age_secs: f64,
    /// Encoded size of that checkpoint.
    pub checkpoint_bytes: u64,
    /// Entities whose state the partition holds.
    pub entities: u64,
    /// Open Sigma correlation groups (rule and group-by value) the partition holds.
    pub correlation_groups: u64,
}

/// What a finished worker run did.
#[derive(Debug, Clone, Default)]
pub struct WorkerReport {
    pub events: u64,
    pub alerts: u64,
    pub bad_events: u64,
    pub rebalances: u64,
}

impl WorkerReport {
    pub fn of(stats: &WorkerStats) -> Self {
        WorkerReport {
            events: WorkerStats::get(&stats.events),
            alerts: WorkerStats::get(&stats.alerts),
            bad_events: WorkerStats::get(&stats.bad_events),
            rebalances: WorkerStats::get(&stats.rebalances),
        }
    }
}

/// What a shipment (`warden ship`) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipReport {
    pub sent: u64,
    /// Events without an entity (sent unkeyed, to partition 0).
    pub unkeyed: u64,
    pub partitions: usize,
}

/// A worker's counters.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub events: AtomicU64,
    pub bad_events: AtomicU64,
    pub replayed: AtomicU64,
    pub alerts: AtomicU64,
    pub delivery_retries: AtomicU64,
    /// Alerts the log already held (dropped by its duplicate detection, NATS).
    pub duplicate_alerts: AtomicU64,
    pub commits: AtomicU64,
    pub checkpoints: AtomicU64,
    pub checkpoint_bytes: AtomicU64,
    pub rebalances: AtomicU64,
    pub restores: AtomicU64,
    /// Checkpoints found and not restored: damaged on the log, another partition's, or
    /// whose content never came (the state was taken from an older one or rebuilt).
    pub unreadable_checkpoints: AtomicU64,
    /// Milliseconds the last restore of assigned partitions took.
    pub last_restore_ms: AtomicU64,
    pub broker_errors: AtomicU64,
    /// Every assigned partition is restored and consuming.
    pub ready: AtomicBool,
    /// Per partition, refreshed after each commit.
    pub partitions: Mutex<BTreeMap<i32, PartitionGauges>>,
}

/// The per-partition gauges: name, help and how each is read.
const PARTITION_GAUGES: [(&str, &str, Gauge); 5] = [
    (
        "warden_worker_partition_lag",
        "Messages behind the partition's end",
        |g| g.lag as f64,
    ),
    (
        "warden_worker_checkpoint_age_seconds",
        "Seconds since the partition's last checkpoint",
        |g| g.checkpoint_age_secs,
    ),
    (
        "warden_worker_checkpoint_size_bytes",
        "Size of the partition's last checkpoint",
        |g| g.checkpoint_bytes as f64,
    ),
    (
        "warden_worker_partition_entities",
        "Entities whose state the partition holds",
        |g| g.entities as f64,
    ),
    (
        "warden_worker_partition_correlation_groups",
        "Sigma correlation groups the partition holds",
        |g| g.correlation_groups as f64,
    ),
];

impl WorkerStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    /// The counters: name, help and value.
    fn counters(&self) -> [(&'static str, &'static str, &AtomicU64); 13] {
        [
            (
                "warden_worker_events_total",
                "Events read from the log",
                &self.events,
            ),
            (
                "warden_worker_bad_events_total",
                "Messages that were not events",
                &self.bad_events,
            ),
            (
                "warden_worker_replayed_total",
                "Events replayed into restored state (alerts already delivered)",
                &self.replayed,
            ),
            (
                "warden_worker_alerts_total",
                "Alerts delivered",
                &self.alerts,
            ),
            (
                "warden_worker_duplicate_alerts_total",
                "Alerts sent again and dropped by the log as duplicates",
                &self.duplicate_alerts,
            ),
            (
                "warden_worker_delivery_retries_total",
                "Alert deliveries retried",
                &self.delivery_retries,
            ),
            (
                "warden_worker_commits_total",
                "Offset commits",
                &self.commits,
            ),
            (
                "warden_worker_checkpoints_total",
                "Partition checkpoints written",
                &self.checkpoints,
            ),
            (
                "warden_worker_checkpoint_bytes_total",
                "Bytes of checkpoints written",
                &self.checkpoint_bytes,
            ),
            (
                "warden_worker_rebalances_total",
                "Rebalances of the group seen",
                &self.rebalances,
            ),
            (
                "warden_worker_restores_total",
                "Partitions restored from a checkpoint",
                &self.restores,
            ),
            (
                "warden_worker_unreadable_checkpoints_total",
                "Checkpoints that could not be read back (state taken from an older one or rebuilt)",
                &self.unreadable_checkpoints,
            ),
            (
                "warden_worker_broker_errors_total",
                "Errors reported by the broker client",
                &self.broker_errors,
            ),
        ]
    }

    /// The Prometheus text exposition of everything above.
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        for (name, help, c) in self.counters() {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                Self::get(c)
            ));
        }
        out.push_str(&format!(
            "# HELP warden_worker_restore_seconds Time the last restore of assigned partitions took\n# TYPE warden_worker_restore_seconds gauge\nwarden_worker_restore_seconds {}\n",
            Self::get(&self.last_restore_ms) as f64 / 1000.0
        ));
        out.push_str(&format!(
            "# HELP warden_worker_ready Every assigned partition is restored\n# TYPE warden_worker_ready gauge\nwarden_worker_ready {}\n",
            u8::from(self.is_ready())
        ));
        let parts = self
            .partitions
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default();
        for (name, help, f) in PARTITION_GAUGES {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (p, g) in &parts {
                out.push_str(&format!("{name}{{partition=\"{p}\"}} {}\n", f(g)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_counter_and_each_partitions_gauges() {
        let stats = WorkerStats::default();
        WorkerStats::add(&stats.events, 1200);
        WorkerStats::add(&stats.unreadable_checkpoints, 2);
        stats.last_restore_ms.store(1500, Ordering::Relaxed);
        stats.ready.store(true, Ordering::Relaxed);
        if let Ok(mut parts) = stats.partitions.lock() {
            for p in [0, 3] {
                let g = PartitionGauges {
                    lag: 7 * i64::from(p),
                    checkpoint_age_secs: 0.5,
                    checkpoint_bytes: 4096,
                    entities: 40 + p as u64,
                    correlation_groups: 1,
                };
                parts.insert(p, g);
            }
        }
        let text = stats.prometheus();
        let lines: Vec<&str> = text.lines().collect();
        for line in [
            "warden_worker_events_total 1200",
            "warden_worker_unreadable_checkpoints_total 2",
            "warden_worker_broker_errors_total 0",
            "warden_worker_restore_seconds 1.5",
            "warden_worker_ready 1",
            "warden_worker_partition_lag{partition=\"0\"} 0",
            "warden_worker_partition_lag{partition=\"3\"} 21",
            "warden_worker_partition_entities{partition=\"3\"} 43",
            "warden_worker_checkpoint_age_seconds{partition=\"0\"} 0.5",
        ] {
            assert!(lines.contains(&line), "{line} missing from:\n{text}");
        }
        // Each metric announced once, with its type, before its samples.
        let types = lines.iter().filter(|l| l.starts_with("# TYPE ")).count();
        assert_eq!(types, 13 + 2 + 5);
        let samples = lines.iter().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples, 13 + 2 + 5 * 2);
    }
}
