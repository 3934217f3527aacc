//! Small, bounded statistics: running moments, capped frequency sets, stable hashing.

use serde::{Deserialize, Serialize};

/// FNV-1a, 64-bit: stable across builds and platforms, so hashes can be persisted.
pub fn stable_hash(s: &str) -> u64 {
    stable_hash_bytes(s.as_bytes())
}

/// [`stable_hash`] of raw bytes.
pub fn stable_hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Running mean and variance (Welford), numerically stable, O(1) memory. The moments are
/// always finite: a value that would overflow them is not counted, and moments read back
/// from a damaged blob that are not numbers start over (see [`StoredStats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "StoredStats")]
pub struct RunningStats {
    pub n: u32,
    pub mean: f64,
    m2: f64,
}

/// [`RunningStats`] as persisted, before its moments are checked.
#[derive(Deserialize)]
struct StoredStats {
    n: u32,
    mean: f64,
    m2: f64,
}

impl From<StoredStats> for RunningStats {
    fn from(s: StoredStats) -> Self {
        if s.mean.is_finite() && s.m2.is_finite() && s.m2 >= 0.0 {
            RunningStats {
                n: s.n,
                mean: s.mean,
                m2: s.m2,
            }
        } else {
            RunningStats::default()
        }
    }
}

impl RunningStats {
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let n = self.n.saturating_add(1);
        let delta = x - self.mean;
        let mean = self.mean + delta / f64::from(n);
        let m2 = self.m2 + delta * (x - mean);
        // Values near f64::MAX overflow the moments: such a value is not counted.
        if mean.is_finite() && m2.is_finite() {
            (self.n, self.mean, self.m2) = (n, mean, m2);
        }
    }

    /// Population standard deviation (0 with fewer than two values).
    pub fn std(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / f64::from(self.n)).max(0.0).sqrt()
        }
    }

    /// Standard score of `x`, with the deviation floored at `min_std` so that a user whose
    /// values never varied does not get an infinite score for a tiny change.
    pub fn zscore(&self, x: f64, min_std: f64) -> f64 {
        (x - self.mean) / self.std().max(min_std).max(f64::MIN_POSITIVE)
    }
}

/// What [`BoundedCounter::observe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// The key was already known; its count was incremented.
    Known,
    /// The key is new and was added.
    Added,
    /// The key is new, the set was full, and `evicted` (the rarest key) made room.
    Replaced { evicted: u64 },
}

/// One key of a [`BoundedCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Counted {
    pub key: u64,
    pub count: u32,
}

/// A frequency set of at most `cap` keys. When full, a new key replaces the rarest one, so
/// memory per user is fixed however much history it has. Linear scans are faster than
/// hashing at these sizes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoundedCounter {
    entries: Vec<Counted>,
    total: u32,
}

impl BoundedCounter {
    pub fn get(&self, key: u64) -> Option<u32> {
        self.entries.iter().find(|e| e.key == key).map(|e| e.count)
    }

    pub fn contains(&self, key: u64) -> bool {
        self.entries.iter().any(|e| e.key == key)
    }

    /// Total observations, including those of evicted keys.
    pub fn total(&self) -> u32 {
        self.total
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Counted> {
        self.entries.iter()
    }

    /// The most frequent key.
    pub fn top(&self) -> Option<Counted> {
        self.entries.iter().copied().max_by_key(|e| e.count)
    }

    /// Counts one observation of `key`, keeping at most `cap` keys.
    pub fn observe(&mut self, key: u64, cap: usize) -> Observed {
        self.total = self.total.saturating_add(1);
        if let Some(e) = self.entries.iter_mut().find(|e| e.key == key) {
            e.count = e.count.saturating_add(1);
            return Observed::Known;
        }
        if self.entries.len() < cap.max(1) {
            if self.entries.len() == self.entries.capacity() {
                // Grow in small exact steps: these sets live in every user's baseline.
                self.entries
                    .reserve_exact(4.min(cap - self.entries.len()).max(1));
            }
            self.entries.push(Counted { key, count: 1 });
            return Observed::Added;
        }
        let (idx, _) = self
            .entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.count)
            .unwrap_or((0, &Counted { key: 0, count: 0 }));
        let evicted = self.entries[idx].key;
        self.entries[idx] = Counted { key, count: 1 };
        Observed::Replaced { evicted }
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Counted>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn welford_matches_direct_computation() {
        let xs = [1.0, 2.0, 4.0, 8.0, 16.0];
        let mut s = RunningStats::default();
        xs.iter().for_each(|x| s.push(*x));
        let mean = xs.iter().sum::<f64>() / 5.0;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 5.0;
        assert!((s.mean - mean).abs() < 1e-12);
        assert!((s.std() - var.sqrt()).abs() < 1e-12);
        s.push(f64::NAN);
        assert_eq!(s.n, 5);
    }

    #[test]
    fn moments_stay_finite_near_the_largest_values() {
        let mut s = RunningStats::default();
        s.push(1.0);
        s.push(1e150);
        s.push(1e300);
        s.push(-1e300);
        assert!(s.mean.is_finite() && s.std().is_finite(), "{s:?}");
        assert_eq!(
            s.n, 2,
            "the values that overflowed the moments are not counted"
        );
    }

    #[test]
    fn damaged_moments_read_back_start_over() {
        let mut s = RunningStats::default();
        [1.0, 2.0, 3.0].iter().for_each(|x| s.push(*x));
        let bytes = postcard::to_allocvec(&s).unwrap();
        assert_eq!(postcard::from_bytes::<RunningStats>(&bytes).unwrap(), s);
        for (mean, m2) in [(f64::NAN, 1.0), (1.0, f64::INFINITY), (1.0, -2.0)] {
            let mut bad = s;
            (bad.mean, bad.m2) = (mean, m2);
            let bytes = postcard::to_allocvec(&bad).unwrap();
            let read = postcard::from_bytes::<RunningStats>(&bytes).unwrap();
            assert_eq!(read, RunningStats::default(), "mean {mean}, m2 {m2}");
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<RunningStats>(&json).unwrap(), s);
    }

    #[test]
    fn zero_variance_uses_floor() {
        let mut s = RunningStats::default();
        (0..10).for_each(|_| s.push(0.5));
        assert_eq!(s.std(), 0.0);
        assert!((s.zscore(0.6, 0.05) - 2.0).abs() < 1e-9);
        assert_eq!(s.zscore(0.5, 0.0), 0.0);
    }

    #[test]
    fn counter_evicts_rarest() {
        let mut c = BoundedCounter::default();
        assert_eq!(c.observe(1, 2), Observed::Added);
        assert_eq!(c.observe(1, 2), Observed::Known);
        assert_eq!(c.observe(2, 2), Observed::Added);
        assert_eq!(c.observe(3, 2), Observed::Replaced { evicted: 2 });
        assert!(c.contains(1) && c.contains(3) && !c.contains(2));
        assert_eq!(c.total(), 4);
        assert_eq!(c.top().unwrap().key, 1);
    }

    #[test]
    fn hash_is_stable() {
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    proptest! {
        #[test]
        fn counter_never_exceeds_cap(keys in proptest::collection::vec(0u64..50, 0..300), cap in 1usize..20) {
            let mut c = BoundedCounter::default();
            for k in &keys { c.observe(*k, cap); }
            prop_assert!(c.len() <= cap);
            prop_assert!(c.heap_bytes() <= (cap + 4) * std::mem::size_of::<Counted>());
            prop_assert_eq!(c.total() as usize, keys.len());
        }
    }
}
