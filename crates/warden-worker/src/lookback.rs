//! Finding a partition's newest readable checkpoint at the end of a changelog that can only
//! be read forward from an offset (a Kafka topic's partition): how far back to read, and
//! what to do when the newest complete checkpoint there cannot be decoded.
//!
//! A read takes the changelog's tail, `FIRST_LOOKBACK` messages, then twice as many while
//! it holds no complete checkpoint (a writer died mid-way). When the newest one found cannot
//! be decoded (damaged on the log, or another partition's state), the one before it is
//! fetched by its own chunks, whose places the first read noted, not by reading the tail
//! again; after [`MAX_UNREADABLE`] such checkpoints the partition is rebuilt from its input.
//! The log itself is a closure, so this logic is tested here without a broker.

use crate::checkpoint::{Assembled, Checkpoint, Placed};

/// Messages read back at first; doubled while no complete checkpoint is found.
const FIRST_LOOKBACK: i64 = 64;
/// Unreadable checkpoints passed over before a partition is rebuilt from its input instead.
pub const MAX_UNREADABLE: usize = 8;

/// What a read found.
#[derive(Debug, Default)]
pub struct Restored {
    pub checkpoint: Option<Checkpoint>,
    /// Encoded size of the checkpoint.
    pub bytes: usize,
    /// Messages read to find it.
    pub messages: u64,
    /// Newer complete checkpoints passed over because they could not be decoded (damaged,
    /// or another partition's), each with why.
    pub unreadable: Vec<String>,
}

impl Restored {
    /// Keeps `bytes` as the checkpoint when they decode as one of `partition`; otherwise
    /// notes why not and returns false.
    fn accept(&mut self, partition: i32, bytes: &[u8]) -> bool {
        match Checkpoint::decode(bytes) {
            Ok(c) if c.partition == partition => {
                self.checkpoint = Some(c);
                self.bytes = bytes.len();
                true
            }
            Ok(c) => {
                let why = format!("it holds partition {}'s state", c.partition);
                self.unreadable.push(why);
                false
            }
            Err(e) => {
                self.unreadable.push(e.to_string());
                false
            }
        }
    }
}

/// The newest checkpoint of `partition` that decodes, on a changelog partition whose
/// messages lie at offsets `low..high`. `read(from, until, ids)` reads the messages from
/// `from` up to `until` (exclusive; the partition's end when `None`) through an assembler
/// that passes over `ids`, and returns what it assembled and how many messages it read.
pub fn newest_readable<E>(
    partition: i32,
    (low, high): (i64, i64),
    mut read: impl FnMut(i64, Option<i64>, &[u64]) -> Result<(Assembled, u64), E>,
) -> Result<Restored, E> {
    let mut restored = Restored::default();
    let mut passed_over = Vec::new();
    let mut lookback = FIRST_LOOKBACK;
    loop {
        let from = (high - lookback).max(low);
        if from >= high {
            return Ok(restored);
        }
        let (found, messages) = read(from, None, &passed_over)?;
        restored.messages += messages;
        let mut older = found.older.into_iter();
        let mut candidate = found.newest;
        while let Some((placed, bytes)) = candidate.take() {
            if restored.accept(partition, &bytes) {
                return Ok(restored);
            }
            passed_over.push(placed.id);
            if restored.unreadable.len() >= MAX_UNREADABLE {
                return Ok(restored);
            }
            candidate = next_older(&mut older, &mut restored, &mut read)?;
        }
        // Every complete checkpoint in this range was passed over, or there was none.
        if from == low {
            return Ok(restored);
        }
        lookback = lookback.saturating_mul(2);
    }
}

/// The first of `older` still on the log, read by its own chunks (a compacted changelog
/// may have dropped one since the range was read).
fn next_older<E>(
    older: &mut impl Iterator<Item = Placed>,
    restored: &mut Restored,
    read: &mut impl FnMut(i64, Option<i64>, &[u64]) -> Result<(Assembled, u64), E>,
) -> Result<Option<(Placed, Vec<u8>)>, E> {
    for place in older {
        let (found, messages) = read(place.first, Some(place.last + 1), &[])?;
        restored.messages += messages;
        if let Some((again, bytes)) = found.newest
            && again.id == place.id
        {
            return Ok(Some((again, bytes)));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{Assembler, Chunk, split};
    use warden_engine::ueba::EngineSnapshot;

    fn checkpoint(partition: i32, events: u64) -> Checkpoint {
        Checkpoint {
            partition,
            offsets: vec![("activity".into(), events as i64)],
            events,
            taken_ms: 1_780_000_000_000,
            ueba: EngineSnapshot::default(),
            sigma: None,
        }
    }

    /// A changelog partition in memory, counting the messages every read returns.
    struct Log {
        messages: Vec<Vec<u8>>,
        read: u64,
        reads: u64,
    }

    impl Log {
        fn new() -> Log {
            Log {
                messages: Vec::new(),
                read: 0,
                reads: 0,
            }
        }

        fn write(&mut self, encoded: &[u8], id: u64) {
            self.messages
                .extend(split(encoded, id).iter().map(Chunk::to_bytes));
        }

        /// A checkpoint whose chunks all arrived but whose bytes were cut in half.
        fn write_damaged(&mut self, c: &Checkpoint, id: u64) {
            let mut bytes = c.encode();
            bytes.truncate(bytes.len() / 2);
            self.write(&bytes, id);
        }

        fn restore(&mut self, partition: i32) -> Restored {
            let high = self.messages.len() as i64;
            newest_readable::<()>(partition, (0, high), |from, until, ids| {
                self.reads += 1;
                let mut a = Assembler::passing_over(ids);
                let end = until.unwrap_or(high).min(high);
                for at in from..end {
                    a.push_at(at, &self.messages[at as usize]);
                }
                self.read += (end - from) as u64;
                Ok((a.finish(), (end - from) as u64))
            })
            .unwrap()
        }
    }

    #[test]
    fn the_newest_checkpoint_is_read_once() {
        let mut log = Log::new();
        for (id, events) in [(1, 10), (2, 20), (3, 30)] {
            log.write(&checkpoint(4, events).encode(), id);
        }
        let r = log.restore(4);
        assert_eq!(r.checkpoint.unwrap().events, 30);
        assert!(r.unreadable.is_empty());
        assert_eq!((r.messages, log.reads), (3, 1));
    }

    #[test]
    fn damaged_checkpoints_are_passed_over_reading_only_the_one_before() {
        let mut log = Log::new();
        for id in 1..=40 {
            log.write(&checkpoint(4, id * 10).encode(), id);
        }
        for id in 41..=43 {
            log.write_damaged(&checkpoint(4, id * 10), id);
        }
        let r = log.restore(4);
        assert_eq!(r.checkpoint.unwrap().events, 400, "the newest readable one");
        assert_eq!(r.unreadable.len(), 3, "{:?}", r.unreadable);
        // The tail once (43 messages), then one message for each older checkpoint tried
        // (the tail read again for each one passed over would be 4 × 43).
        assert_eq!(r.messages, 43 + 3);
        assert_eq!(log.read, r.messages);
    }

    #[test]
    fn another_partitions_checkpoint_is_passed_over_with_its_reason() {
        let mut log = Log::new();
        log.write(&checkpoint(4, 10).encode(), 1);
        log.write(&checkpoint(5, 20).encode(), 2);
        let r = log.restore(4);
        assert_eq!(r.checkpoint.unwrap().events, 10);
        assert_eq!(
            r.unreadable,
            vec!["it holds partition 5's state".to_string()]
        );
    }

    #[test]
    fn the_lookback_widens_until_a_complete_checkpoint_is_found() {
        let mut log = Log::new();
        log.write(&checkpoint(4, 10).encode(), 1);
        // 150 first chunks of checkpoints never finished (a writer that kept dying).
        let torn = split(&vec![1u8; crate::checkpoint::MAX_CHUNK + 1], 0);
        for id in 0..150 {
            let mut first = torn[0].clone();
            first.id = 1000 + id;
            log.messages.push(first.to_bytes());
        }
        let r = log.restore(4);
        assert_eq!(r.checkpoint.unwrap().events, 10);
        // 64, 128, then the whole partition (151).
        assert_eq!((log.reads, r.messages), (3, 64 + 128 + 151));
    }

    #[test]
    fn too_many_unreadable_checkpoints_rebuild_the_partition() {
        let mut log = Log::new();
        log.write(&checkpoint(4, 10).encode(), 1);
        for id in 2..=(MAX_UNREADABLE as u64 + 2) {
            log.write_damaged(&checkpoint(4, id * 10), id);
        }
        let r = log.restore(4);
        assert!(r.checkpoint.is_none(), "given up before the good one");
        assert_eq!(r.unreadable.len(), MAX_UNREADABLE);
    }

    #[test]
    fn damaged_checkpoints_beyond_the_first_range_are_found_further_back() {
        let mut log = Log::new();
        log.write(&checkpoint(4, 10).encode(), 1);
        // More damaged checkpoints than the first read holds, but fewer than the limit,
        // each with filler between them (messages that are not chunks).
        for id in 2..=8 {
            log.write_damaged(&checkpoint(4, id * 10), id);
            log.messages
                .extend((0..10).map(|_| b"not a chunk".to_vec()));
        }
        let r = log.restore(4);
        assert_eq!(r.checkpoint.unwrap().events, 10);
        assert_eq!(r.unreadable.len(), 7);
    }

    #[test]
    fn an_empty_changelog_has_no_checkpoint() {
        let mut log = Log::new();
        let r = log.restore(4);
        assert!(r.checkpoint.is_none() && r.unreadable.is_empty());
        assert_eq!(log.reads, 0);
    }
}
