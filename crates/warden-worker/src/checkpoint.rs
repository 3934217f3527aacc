//! A partition's checkpoint: the detectors' state together with the offsets it reflects,
//! encoded with a version header, compressed, and cut into chunks small enough for one
//! message each of a changelog topic or a key-value bucket.
//!
//! Chunks of one checkpoint share its id (the event count it was taken at, then a random
//! part, so a checkpoint of a later worker never shares one) and are written in order; the
//! last chunk of a complete checkpoint is its `count - 1`th. A reader keeps the newest
//! checkpoint whose chunks all arrived, so a checkpoint cut short by a crash is skipped and
//! the one before it used.

use serde::{Deserialize, Serialize};
use warden_engine::ueba::{EngineSnapshot, EngineSnapshotV1};
use warden_sigma::correlation::CorrelationState;

/// First bytes of an encoded checkpoint.
const MAGIC: &[u8; 4] = b"WCKP";
/// Version of the encoded body; a change of shape needs a new one. Older versions are
/// still read: 1 (the behavioural engine only, baselines in format 1) and 2 (with the
/// rules' state, baselines in format 1). Version 3 holds baselines in format 2.
pub const VERSION: u16 = 3;
/// First bytes of a chunk message.
const CHUNK_MAGIC: &[u8; 4] = b"WCKC";
/// Largest chunk body, below the 1 MB message limit brokers have by default.
pub const MAX_CHUNK: usize = 512 * 1024;
/// Largest checkpoint a reader assembles (compressed), against a corrupt chunk count.
pub const MAX_CHECKPOINT: usize = 1 << 30;

/// What a checkpoint could not be read as.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    #[error("not a Warden checkpoint (bad magic)")]
    NotACheckpoint,
    #[error("checkpoint version {found} is not readable by this build (expected {expected})")]
    Incompatible { expected: u16, found: u16 },
    #[error("corrupt checkpoint: {0}")]
    Corrupt(String),
}

/// One partition's state and where in its topics that state stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub partition: i32,
    /// Per input topic, the offset of the next message the state has not seen.
    pub offsets: Vec<(String, i64)>,
    /// Events the partition's pipeline has read since it began.
    pub events: u64,
    /// When it was taken, ms since the epoch (wall clock).
    pub taken_ms: i64,
    /// The behavioural engine's state.
    pub ueba: EngineSnapshot,
    /// The Sigma correlation windows, when the pipeline runs rules.
    pub sigma: Option<CorrelationState>,
}

/// A version 1 checkpoint's body: no rules' state, baselines in format 1.
#[derive(Deserialize)]
struct CheckpointV1 {
    partition: i32,
    offsets: Vec<(String, i64)>,
    events: u64,
    taken_ms: i64,
    ueba: EngineSnapshotV1,
}

/// A version 2 checkpoint's body: today's shape with baselines in format 1.
#[derive(Deserialize)]
struct CheckpointV2 {
    partition: i32,
    offsets: Vec<(String, i64)>,
    events: u64,
    taken_ms: i64,
    ueba: EngineSnapshotV1,
    sigma: Option<CorrelationState>,
}

impl From<CheckpointV1> for Checkpoint {
    fn from(c: CheckpointV1) -> Self {
        CheckpointV2 {
            partition: c.partition,
            offsets: c.offsets,
            events: c.events,
            taken_ms: c.taken_ms,
            ueba: c.ueba,
            sigma: None,
        }
        .into()
    }
}

impl From<CheckpointV2> for Checkpoint {
    fn from(c: CheckpointV2) -> Self {
        Checkpoint {
            partition: c.partition,
            offsets: c.offsets,
            events: c.events,
            taken_ms: c.taken_ms,
            ueba: c.ueba.into(),
            sigma: c.sigma,
        }
    }
}

impl Checkpoint {
    /// The next offset of `topic`, when the checkpoint has seen it.
    pub fn offset(&self, topic: &str) -> Option<i64> {
        self.offsets
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, o)| *o)
    }

    /// Header, version, then the body in postcard, zstd-compressed with the frame's content
    /// checksum: a checkpoint damaged on the log is refused as corrupt when it is read back,
    /// rather than restored as different state (checkpoints written without the checksum
    /// still read).
    pub fn encode(&self) -> Vec<u8> {
        let body = postcard::to_allocvec(self).unwrap_or_default();
        let packed = zstd::bulk::Compressor::new(3)
            .and_then(|mut c| {
                c.include_checksum(true)?;
                c.compress(&body)
            })
            .unwrap_or_default();
        let mut out = Vec::with_capacity(packed.len() + 14);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&packed);
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, CheckpointError> {
        if bytes.len() < 14 || &bytes[..4] != MAGIC {
            return Err(CheckpointError::NotACheckpoint);
        }
        let found = u16::from_le_bytes([bytes[4], bytes[5]]);
        if !(1..=VERSION).contains(&found) {
            return Err(CheckpointError::Incompatible {
                expected: VERSION,
                found,
            });
        }
        let mut len = [0u8; 8];
        len.copy_from_slice(&bytes[6..14]);
        let len = usize::try_from(u64::from_le_bytes(len))
            .ok()
            .filter(|n| *n <= MAX_CHECKPOINT * 8)
            .ok_or_else(|| CheckpointError::Corrupt("body length out of range".into()))?;
        let body = inflate(&bytes[14..], len)?;
        let corrupt = |e: postcard::Error| CheckpointError::Corrupt(e.to_string());
        match found {
            1 => postcard::from_bytes::<CheckpointV1>(&body).map(Checkpoint::from),
            2 => postcard::from_bytes::<CheckpointV2>(&body).map(Checkpoint::from),
            _ => postcard::from_bytes(&body),
        }
        .map_err(corrupt)
    }
}

/// The body of `len` bytes the header announces. Decoded as a stream that grows with what
/// the frame really holds: a header announcing gigabytes before a few bytes of frame
/// reserves nothing (a one-shot decode reserves the announced length up front).
fn inflate(frame: &[u8], len: usize) -> Result<Vec<u8>, CheckpointError> {
    use std::io::Read;
    let corrupt = |e: std::io::Error| CheckpointError::Corrupt(e.to_string());
    let mut body = Vec::new();
    zstd::stream::read::Decoder::new(frame)
        .map_err(corrupt)?
        .take(len as u64 + 1)
        .read_to_end(&mut body)
        .map_err(corrupt)?;
    if body.len() != len {
        return Err(CheckpointError::Corrupt(format!(
            "the body holds {} bytes, the header says {len}",
            body.len()
        )));
    }
    Ok(body)
}

/// One piece of an encoded checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub id: u64,
    pub index: u32,
    pub count: u32,
    pub body: Vec<u8>,
}

impl Chunk {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 20);
        out.extend_from_slice(CHUNK_MAGIC);
        out.extend_from_slice(&self.id.to_le_bytes());
        out.extend_from_slice(&self.index.to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.body);
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Self, CheckpointError> {
        if b.len() < 20 || &b[..4] != CHUNK_MAGIC {
            return Err(CheckpointError::NotACheckpoint);
        }
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&b[4..12]);
        let (index, count) = (u32_at(12), u32_at(16));
        if count == 0 || index >= count || count as usize > MAX_CHECKPOINT / MAX_CHUNK {
            return Err(CheckpointError::Corrupt(format!(
                "chunk {index} of {count}"
            )));
        }
        Ok(Chunk {
            id: u64::from_le_bytes(id),
            index,
            count,
            body: b[20..].to_vec(),
        })
    }
}

/// An encoded checkpoint cut into chunks of at most [`MAX_CHUNK`] bytes.
pub fn split(encoded: &[u8], id: u64) -> Vec<Chunk> {
    let pieces: Vec<&[u8]> = if encoded.is_empty() {
        vec![&[]]
    } else {
        encoded.chunks(MAX_CHUNK).collect()
    };
    let count = pieces.len() as u32;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, body)| Chunk {
            id,
            index: i as u32,
            count,
            body: body.to_vec(),
        })
        .collect()
}

/// Where a complete checkpoint lies on a log: its id and the positions of its first and
/// last chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    pub id: u64,
    pub first: i64,
    pub last: i64,
}

/// Places of older complete checkpoints an assembler remembers (a few bytes each; a reader
/// gives up long before it has tried this many).
const OLDER_KEPT: usize = 64;

/// A checkpoint being assembled: its id, its first chunk's position, the next chunk's
/// index and the bytes so far.
#[derive(Debug)]
struct Partial {
    id: u64,
    first: i64,
    next: u32,
    bytes: Vec<u8>,
}

/// Rebuilds the newest complete checkpoint from chunk messages read in order, and
/// remembers where the complete ones before it lie, so that a reader that finds the newest
/// unreadable can fetch the one before by its own chunks.
#[derive(Debug, Default)]
pub struct Assembler {
    current: Option<Partial>,
    newest: Option<(Placed, Vec<u8>)>,
    /// Complete checkpoints before the newest, newest first (at most [`OLDER_KEPT`]).
    older: Vec<Placed>,
    /// Checkpoints (by id) not to be kept: found unreadable by an earlier read.
    passed_over: Vec<u64>,
    /// Position of the next message pushed without one.
    position: i64,
    /// Messages that were not chunks, or chunks out of place.
    pub skipped: u64,
}

/// What an assembler found: the newest complete checkpoint with its bytes, and the places
/// of the complete ones before it, newest first.
#[derive(Debug, Default)]
pub struct Assembled {
    pub newest: Option<(Placed, Vec<u8>)>,
    pub older: Vec<Placed>,
}

impl Assembler {
    /// An assembler that keeps no checkpoint whose id is in `ids`.
    pub fn passing_over(ids: &[u64]) -> Assembler {
        Assembler {
            passed_over: ids.to_vec(),
            ..Assembler::default()
        }
    }

    /// Takes the next message of the changelog (its value), counting positions from 0.
    pub fn push(&mut self, message: &[u8]) {
        self.push_at(self.position, message);
    }

    /// Takes the message at `position` of the changelog (its offset).
    pub fn push_at(&mut self, position: i64, message: &[u8]) {
        self.position = position + 1;
        let Ok(c) = Chunk::from_bytes(message) else {
            self.skipped += 1;
            return;
        };
        if c.index == 0 {
            if self.current.is_some() {
                self.skipped += 1; // a checkpoint cut short
            }
            self.current = Some(Partial {
                id: c.id,
                first: position,
                next: 1,
                bytes: c.body,
            });
        } else {
            match self.current.as_mut() {
                Some(p)
                    if p.id == c.id
                        && p.next == c.index
                        && p.bytes.len() + c.body.len() <= MAX_CHECKPOINT =>
                {
                    p.bytes.extend_from_slice(&c.body);
                    p.next += 1;
                }
                _ => {
                    self.skipped += 1;
                    self.current = None;
                    return;
                }
            }
        }
        if self.current.as_ref().is_some_and(|p| p.next == c.count)
            && let Some(p) = self.current.take()
            && !self.passed_over.contains(&p.id)
        {
            let placed = Placed {
                id: p.id,
                first: p.first,
                last: position,
            };
            if let Some((before, _)) = self.newest.replace((placed, p.bytes)) {
                self.older.insert(0, before);
                self.older.truncate(OLDER_KEPT);
            }
        }
    }

    /// The newest complete checkpoint's encoded bytes.
    pub fn newest(self) -> Option<Vec<u8>> {
        self.newest.map(|(_, b)| b)
    }

    /// The newest complete checkpoint and the places of those before it.
    pub fn finish(self) -> Assembled {
        Assembled {
            newest: self.newest,
            older: self.older,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_sigma::correlation::{CorrelationWindows, GroupWindow};

    fn sample(events: u64) -> Checkpoint {
        Checkpoint {
            partition: 3,
            offsets: vec![("activity".into(), 1234), ("winlog".into(), 7)],
            events,
            taken_ms: 1_780_000_000_000,
            ueba: EngineSnapshot::default(),
            sigma: Some(CorrelationState {
                correlations: vec![CorrelationWindows {
                    rule: "spray".into(),
                    sources: 1,
                    group_by: vec!["IpAddress".into()],
                    groups: vec![GroupWindow {
                        key: vec!["10.0.0.9".into()],
                        start: 1_780_000_000_000,
                        items: vec![(1_780_000_000_000, 0, Some("ana".into()))],
                    }],
                }],
            }),
        }
    }

    #[test]
    fn round_trips_through_chunks() {
        let c = sample(99);
        let bytes = c.encode();
        let mut a = Assembler::default();
        for ch in split(&bytes, 5) {
            a.push(&ch.to_bytes());
        }
        let back = Checkpoint::decode(&a.newest().unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.offset("winlog"), Some(7));
        assert_eq!(back.offset("other"), None);
    }

    #[test]
    fn an_assembler_passes_over_checkpoints_found_unreadable() {
        let (older, newer) = (sample(10), sample(20));
        let mut messages = Vec::new();
        for (c, id) in [(&older, 1), (&newer, 2)] {
            messages.extend(split(&c.encode(), id).iter().map(Chunk::to_bytes));
        }
        let read = |ids: &[u64]| {
            let mut a = Assembler::passing_over(ids);
            messages.iter().for_each(|m| a.push(m));
            a.finish()
        };
        let (placed, bytes) = read(&[]).newest.unwrap();
        assert_eq!((placed.id, Checkpoint::decode(&bytes).unwrap()), (2, newer));
        let (placed, bytes) = read(&[2]).newest.unwrap();
        assert_eq!((placed.id, Checkpoint::decode(&bytes).unwrap()), (1, older));
        assert!(read(&[2, 1]).newest.is_none());
    }

    #[test]
    fn an_assembler_places_the_checkpoints_before_the_newest() {
        // One checkpoint of three chunks at 10..=12, a torn one at 13, one chunk at 14.
        let big = vec![7u8; MAX_CHUNK * 2 + 1];
        let mut a = Assembler::default();
        for (i, chunk) in split(&big, 1).iter().enumerate() {
            a.push_at(10 + i as i64, &chunk.to_bytes());
        }
        a.push_at(13, &split(&big, 2)[0].to_bytes());
        a.push_at(14, &split(b"small", 3)[0].to_bytes());
        assert_eq!(a.skipped, 1, "the torn checkpoint");
        let found = a.finish();
        let (newest, bytes) = found.newest.unwrap();
        assert_eq!(
            (newest, bytes.as_slice()),
            (
                Placed {
                    id: 3,
                    first: 14,
                    last: 14
                },
                &b"small"[..]
            )
        );
        assert_eq!(
            found.older,
            vec![Placed {
                id: 1,
                first: 10,
                last: 12
            }]
        );
    }

    /// A snapshot with users, learned from a few weeks of one user's sign-ins and
    /// downloads, so that baselines of every kind of state are migrated.
    fn learned_snapshot() -> EngineSnapshot {
        use warden_event::{ActivityType, Timestamp, UserActivity};
        let mut engine =
            warden_engine::ueba::UebaEngine::new(warden_engine::UebaConfig::default()).unwrap();
        for d in 0..20i64 {
            for (h, kind) in [(9, ActivityType::Login), (11, ActivityType::Download)] {
                let at = Timestamp(1_780_000_000_000 + d * 86_400_000 + h * 3_600_000);
                let mut a = UserActivity::new("ana", kind, at);
                a.resource_accessed = Some("repo".into());
                a.data_transferred_gb = 0.05;
                engine.score(&a, false);
            }
        }
        engine.snapshot().unwrap()
    }

    /// An encoded checkpoint of an older `version` with the given body.
    fn older<T: Serialize>(version: u16, body: &T) -> Vec<u8> {
        let body = postcard::to_allocvec(body).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&zstd::bulk::compress(&body, 3).unwrap());
        bytes
    }

    /// What a checkpoint holds once read from baselines of format 1.
    fn migrated(mut c: Checkpoint) -> Checkpoint {
        c.ueba = EngineSnapshotV1::from(&c.ueba).into();
        c
    }

    #[test]
    fn version_1_and_2_checkpoints_are_migrated() {
        #[derive(Serialize)]
        struct V1<'a> {
            partition: i32,
            offsets: &'a [(String, i64)],
            events: u64,
            taken_ms: i64,
            ueba: EngineSnapshotV1,
        }
        #[derive(Serialize)]
        struct V2<'a> {
            partition: i32,
            offsets: &'a [(String, i64)],
            events: u64,
            taken_ms: i64,
            ueba: EngineSnapshotV1,
            sigma: &'a Option<CorrelationState>,
        }
        let mut c = sample(42);
        c.ueba = learned_snapshot();
        let v2 = older(
            2,
            &V2 {
                partition: c.partition,
                offsets: &c.offsets,
                events: c.events,
                taken_ms: c.taken_ms,
                ueba: EngineSnapshotV1::from(&c.ueba),
                sigma: &c.sigma,
            },
        );
        let back = Checkpoint::decode(&v2).unwrap();
        assert_eq!(back, migrated(c.clone()));
        assert_eq!(back.ueba.user_count(), 1);
        assert_ne!(back.ueba, c.ueba, "the transfer volumes start empty");

        c.sigma = None;
        let v1 = older(
            1,
            &V1 {
                partition: c.partition,
                offsets: &c.offsets,
                events: c.events,
                taken_ms: c.taken_ms,
                ueba: EngineSnapshotV1::from(&c.ueba),
            },
        );
        assert_eq!(Checkpoint::decode(&v1), Ok(migrated(c)));
    }

    #[test]
    fn large_checkpoints_span_chunks_and_a_cut_one_is_skipped() {
        let big: Vec<u8> = (0..(MAX_CHUNK * 2 + 10))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let chunks = split(&big, 1);
        assert_eq!(chunks.len(), 3);
        let newer = split(&big[..100], 2);
        let mut a = Assembler::default();
        for ch in &chunks {
            a.push(&ch.to_bytes());
        }
        // A later checkpoint whose writer died after its first chunk of two.
        let cut = split(&big[..MAX_CHUNK + 1], 3);
        a.push(&cut[0].to_bytes());
        assert_eq!(a.newest().unwrap(), big);
        let mut b = Assembler::default();
        for ch in chunks.iter().chain(&newer) {
            b.push(&ch.to_bytes());
        }
        assert_eq!(b.newest().unwrap(), big[..100].to_vec());
    }

    #[test]
    fn a_damaged_byte_is_refused_never_read_as_other_state() {
        let c = sample(5);
        let bytes = c.encode();
        // Without its checksum the frame would decode a flipped literal as other offsets.
        for at in 14..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x20;
            match Checkpoint::decode(&bad) {
                Ok(back) => assert_eq!(back, c, "byte {at} changed what was read"),
                Err(e) => assert!(matches!(e, CheckpointError::Corrupt(_)), "byte {at}: {e:?}"),
            }
        }
    }

    #[test]
    fn a_body_of_another_length_than_announced_is_corrupt() {
        let body = postcard::to_allocvec(&sample(7)).unwrap();
        let frame = zstd::bulk::compress(&body, 3).unwrap();
        for announced in [0, body.len() - 1, body.len() + 1, MAX_CHECKPOINT * 8] {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&VERSION.to_le_bytes());
            bytes.extend_from_slice(&(announced as u64).to_le_bytes());
            bytes.extend_from_slice(&frame);
            assert!(
                matches!(Checkpoint::decode(&bytes), Err(CheckpointError::Corrupt(_))),
                "announced {announced}"
            );
        }
    }

    #[test]
    fn checkpoints_written_without_a_checksum_still_read() {
        let c = sample(6);
        let body = postcard::to_allocvec(&c).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&zstd::bulk::compress(&body, 3).unwrap());
        assert_eq!(Checkpoint::decode(&bytes), Ok(c));
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert_eq!(
            Checkpoint::decode(b"nope"),
            Err(CheckpointError::NotACheckpoint)
        );
        let mut bytes = sample(1).encode();
        bytes[4] = 9;
        assert_eq!(
            Checkpoint::decode(&bytes),
            Err(CheckpointError::Incompatible {
                expected: VERSION,
                found: 9
            })
        );
        let mut bytes = sample(1).encode();
        let n = bytes.len();
        bytes.truncate(n - 3);
        assert!(matches!(
            Checkpoint::decode(&bytes),
            Err(CheckpointError::Corrupt(_))
        ));
        let mut a = Assembler::default();
        a.push(b"garbage");
        let mut ch = split(b"abc", 1)[0].to_bytes();
        ch[16] = 0; // count 0
        a.push(&ch);
        assert_eq!(a.skipped, 2);
        assert!(a.newest().is_none());
    }
}
