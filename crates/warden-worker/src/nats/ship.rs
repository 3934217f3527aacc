//! `warden ship --nats`: events onto a JetStream stream, each on the subject of the
//! partition its entity key gives (Kafka's rule, [`crate::keys::partition_for`]), so that
//! the same producer logic serves both logs.

use std::collections::VecDeque;

use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;

use super::{Context, NatsError, NatsSettings, connect, ensure_stream, runtime, subject};
use crate::keys::partition_for;
use crate::stats::ShipReport;

/// Publications awaiting the server's acknowledgement before the producer waits.
const IN_FLIGHT: usize = 4_096;

/// A keyed producer for one stream.
pub struct NatsShipper {
    rt: tokio::runtime::Runtime,
    js: jetstream::Context,
    stream: String,
    partitions: u32,
    in_flight: VecDeque<PublishAckFuture>,
    report: ShipReport,
}

impl NatsShipper {
    /// Opens `stream`, creating it with `partitions` subjects when it does not exist (an
    /// existing stream keeps its own).
    pub fn open(
        settings: &NatsSettings,
        stream: &str,
        partitions: u32,
        replicas: usize,
    ) -> Result<Self, NatsError> {
        let rt = runtime()?;
        let (js, n) = rt.block_on(async {
            let js = jetstream::new(connect(settings, "warden-ship").await?);
            let (_, n) = ensure_stream(&js, stream, partitions, replicas).await?;
            Ok::<_, NatsError>((js, n))
        })?;
        Ok(NatsShipper {
            rt,
            js,
            stream: stream.to_owned(),
            partitions: n,
            in_flight: VecDeque::with_capacity(IN_FLIGHT),
            report: ShipReport {
                partitions: n as usize,
                ..ShipReport::default()
            },
        })
    }

    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Publishes one event; waits for the oldest acknowledgements when too many are out.
    pub fn send(&mut self, key: Option<&str>, payload: &[u8]) -> Result<(), NatsError> {
        let p = key.map_or(0, |k| partition_for(k.as_bytes(), self.partitions));
        if key.is_none() {
            self.report.unkeyed += 1;
        }
        let subject = subject(&self.stream, p);
        let payload = Bytes::copy_from_slice(payload);
        let js = &self.js;
        let in_flight = &mut self.in_flight;
        self.rt.block_on(async {
            let ack = js
                .publish(subject, payload)
                .await
                .ctx(|| "publish an event".into())?;
            in_flight.push_back(ack);
            while in_flight.len() > IN_FLIGHT {
                if let Some(a) = in_flight.pop_front() {
                    a.await.ctx(|| "an event's acknowledgement".into())?;
                }
            }
            Ok::<_, NatsError>(())
        })?;
        self.report.sent += 1;
        Ok(())
    }

    /// Waits until the server has stored every event; an error when any was refused.
    pub fn finish(mut self) -> Result<ShipReport, NatsError> {
        let in_flight = std::mem::take(&mut self.in_flight);
        self.rt.block_on(async {
            for a in in_flight {
                a.await.ctx(|| "an event's acknowledgement".into())?;
            }
            Ok::<_, NatsError>(())
        })?;
        Ok(self.report)
    }
}
