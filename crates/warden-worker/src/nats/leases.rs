//! Who owns which partition, on a JetStream key-value bucket (`<group>-leases`).
//!
//! Every entry of the bucket expires `ttl` after it was written (the bucket's max age), so
//! both kinds of key are leases that their holder renews:
//! - `member.<worker>`: the worker is alive; the members' count sets each one's fair share,
//!   `ceil(partitions / members)`;
//! - `lease.<p>`: partition `p` is owned; taken with a create (refused while another
//!   worker's lease lives), renewed with an update on the revision the holder last wrote
//!   (refused once somebody else has taken it: the holder has lost it and must stop).
//!
//! A worker that dies stops renewing: its member entry and leases expire after `ttl` and
//! the others take its partitions. A worker that joins makes the others' fair share
//! smaller; they release what exceeds it (after a checkpoint) and the newcomer claims it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures_util::StreamExt;

use super::{Context, NatsError, check_name};

const MEMBER: &str = "member.";
const LEASE: &str = "lease.";

/// A worker's view of the bucket and the leases it holds (partition → revision).
pub struct Leases {
    kv: kv::Store,
    me: String,
    held: BTreeMap<u32, u64>,
}

/// What the bucket said at one look.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Survey {
    /// Live members, by name.
    pub members: BTreeSet<String>,
    /// Partitions with a live lease (anyone's).
    pub leased: BTreeSet<u32>,
}

impl Survey {
    /// Counts one key of the bucket. A key may come more than once in one listing (the
    /// listing follows the bucket until it has caught up, and a heartbeat or a renewal
    /// written meanwhile is delivered again), so both are sets: counting deliveries made
    /// three workers look like six, and each one's share half of what it is.
    fn add(&mut self, key: &str) {
        if let Some(name) = key.strip_prefix(MEMBER) {
            self.members.insert(name.to_owned());
        } else if let Some(p) = key.strip_prefix(LEASE).and_then(|p| p.parse().ok()) {
            self.leased.insert(p);
        }
    }
}

impl Leases {
    /// Opens (or creates) the bucket of `group`; `me` names this worker.
    pub async fn open(
        js: &jetstream::Context,
        group: &str,
        me: &str,
        ttl: Duration,
        replicas: usize,
    ) -> Result<Self, NatsError> {
        check_name("group", group)?;
        check_name("worker id", me)?;
        let bucket = format!("{group}-leases");
        let kv = match js.get_key_value(&bucket).await {
            Ok(kv) => kv,
            Err(_) => {
                // The bucket's stream, laid out as every NATS client lays out a key-value
                // bucket, created directly: the client's own bucket creation first asks
                // for account details that servers before 2.10 do not send.
                js.get_or_create_stream(jetstream::stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some(format!("Warden worker leases of group {group}")),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: 1,
                    max_age: ttl,
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas.max(1),
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: jetstream::stream::DiscardPolicy::New,
                    ..Default::default()
                })
                .await
                .ctx(|| format!("lease bucket {bucket}"))?;
                js.get_key_value(&bucket)
                    .await
                    .ctx(|| format!("lease bucket {bucket}"))?
            }
        };
        Ok(Leases {
            kv,
            me: me.to_owned(),
            held: BTreeMap::new(),
        })
    }

    pub fn me(&self) -> &str {
        &self.me
    }

    pub fn held(&self) -> impl Iterator<Item = u32> + '_ {
        self.held.keys().copied()
    }

    pub fn holds(&self, p: u32) -> bool {
        self.held.contains_key(&p)
    }

    /// Says this worker is alive (again).
    pub async fn heartbeat(&self) -> Result<(), NatsError> {
        self.kv
            .put(format!("{MEMBER}{}", self.me), Bytes::from(self.me.clone()))
            .await
            .ctx(|| "membership heartbeat".into())?;
        Ok(())
    }

    /// Live members and leased partitions.
    pub async fn survey(&self) -> Result<Survey, NatsError> {
        let mut keys = self.kv.keys().await.ctx(|| "list leases".into())?;
        let mut out = Survey::default();
        while let Some(k) = keys.next().await {
            out.add(&k.ctx(|| "list leases".into())?);
        }
        Ok(out)
    }

    /// Takes partition `p` unless somebody holds it; true when it is now ours.
    pub async fn claim(&mut self, p: u32) -> Result<bool, NatsError> {
        match self
            .kv
            .create(format!("{LEASE}{p}"), Bytes::from(self.me.clone()))
            .await
        {
            Ok(rev) => {
                self.held.insert(p, rev);
                Ok(true)
            }
            Err(e) if matches!(e.kind(), kv::CreateErrorKind::AlreadyExists) => Ok(false),
            Err(e) => Err(NatsError::Broker {
                what: format!("claim partition {p}"),
                reason: e.to_string(),
            }),
        }
    }

    /// Renews every held lease; returns the partitions lost to another worker (they are no
    /// longer held). A lease that could not be renewed for another reason (the server is
    /// away) is kept: it is retried at the next renewal, and lost only if it expired.
    pub async fn renew(&mut self) -> Vec<u32> {
        // All at once: a round trip each, and a lease must not wait behind the others.
        let results = futures_util::future::join_all(self.held.iter().map(|(p, rev)| {
            let kv = &self.kv;
            let me = Bytes::from(self.me.clone());
            async move { (*p, kv.update(format!("{LEASE}{p}"), me, *rev).await) }
        }))
        .await;
        let mut lost = Vec::new();
        for (p, r) in results {
            match r {
                Ok(rev) => {
                    self.held.insert(p, rev);
                }
                Err(e) if matches!(e.kind(), kv::UpdateErrorKind::WrongLastRevision) => {
                    self.held.remove(&p);
                    lost.push(p);
                }
                Err(e) => tracing::warn!(partition = p, "lease not renewed (retrying): {e}"),
            }
        }
        lost
    }

    /// Gives partition `p` up (after its last checkpoint).
    pub async fn release(&mut self, p: u32) {
        if let Some(rev) = self.held.remove(&p)
            && let Err(e) = self
                .kv
                .delete_expect_revision(format!("{LEASE}{p}"), Some(rev))
                .await
        {
            tracing::warn!(partition = p, "lease not released (it expires): {e}");
        }
    }

    /// Leaves: every lease and the membership go.
    pub async fn leave(&mut self) {
        let held: Vec<u32> = self.held().collect();
        for p in held {
            self.release(p).await;
        }
        if let Err(e) = self.kv.delete(format!("{MEMBER}{}", self.me)).await {
            tracing::warn!("membership not withdrawn (it expires): {e}");
        }
    }
}

/// Each member's fair share of `partitions`.
pub fn fair_share(partitions: u32, members: usize) -> usize {
    (partitions as usize).div_ceil(members.max(1))
}

/// The share a worker keeps when it releases: the larger of this look's share and the
/// previous look's. One look that shows more members than there are (a stale listing, a
/// server that has just come back) must not make every worker give partitions up at
/// once and claim them again a moment later; a member that really joined is seen twice
/// in a row, one tick later.
#[derive(Debug, Default)]
pub struct SteadyShare {
    previous: Option<usize>,
}

impl SteadyShare {
    pub fn keep(&mut self, share: usize) -> usize {
        let kept = self.previous.map_or(share, |p| p.max(share));
        self.previous = Some(share);
        kept
    }
}

/// The order in which a worker tries free partitions: from a point that depends on its
/// name, so that workers starting together do not all race for partition 0.
pub fn claim_order(me: &str, partitions: u32) -> Vec<u32> {
    let start = crate::keys::murmur2(me.as_bytes()) % partitions.max(1);
    (0..partitions).map(|i| (start + i) % partitions).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_cover_every_partition() {
        for n in 1..40u32 {
            for m in 1..10usize {
                assert!(fair_share(n, m) * m >= n as usize, "{n} over {m}");
                assert!(fair_share(n, m) <= (n as usize).max(1));
            }
        }
        assert_eq!(fair_share(12, 3), 4);
        assert_eq!(fair_share(12, 5), 3);
        assert_eq!(fair_share(12, 0), 12);
    }

    #[test]
    fn a_smaller_share_is_kept_only_once_seen_twice() {
        let mut s = SteadyShare::default();
        assert_eq!(s.keep(4), 4);
        assert_eq!(s.keep(2), 4, "one look is not enough");
        assert_eq!(s.keep(4), 4);
        assert_eq!(s.keep(3), 4);
        assert_eq!(s.keep(3), 3, "seen twice: released");
        assert_eq!(s.keep(6), 6, "a larger share is taken at once");
    }

    #[test]
    fn a_key_listed_twice_counts_once() {
        let mut s = Survey::default();
        for k in [
            "member.w1",
            "lease.3",
            "member.w2",
            "member.w1",
            "lease.3",
            "lease.x",
            "other",
        ] {
            s.add(k);
        }
        assert_eq!(s.members.len(), 2);
        assert_eq!(s.leased, BTreeSet::from([3]));
        assert_eq!(fair_share(12, s.members.len()), 6);
    }

    #[test]
    fn claim_order_visits_each_partition_once() {
        for me in ["a", "worker-1", "worker-2"] {
            let mut o = claim_order(me, 12);
            o.sort_unstable();
            assert_eq!(o, (0..12).collect::<Vec<_>>());
        }
        assert_ne!(claim_order("w1", 12)[0], claim_order("w3", 12)[0]);
    }
}
