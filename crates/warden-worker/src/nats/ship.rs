//! `warden ship --nats`: events onto a JetStream stream, each on the subject of the
//! partition its entity key gives (Kafka's rule, [`crate::keys::partition_for`]), so that
//! the same producer logic serves both logs.

use std::collections::VecDeque;
use std::future::IntoFuture;

use async_nats::jetstream::{self, context::PublishAckFuture};
use bytes::Bytes;

use super::{Context, NatsError, NatsSettings, connect, ensure_stream, runtime, subject};
use crate::keys::partition_for;
use crate::stats::ShipReport;

/// Publications awaiting the server's acknowledgement before the producer waits.
const IN_FLIGHT: usize = 4_096;

/// A keyed producer for one stream.
pub struct NatsShipper {
    /// Its own runtime (always `Some` until dropped): the producer is called from
    /// synchronous code, in `warden ship` and in the service's blocking tasks.
    rt: Option<tokio::runtime::Runtime>,
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
            rt: Some(rt),
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
        let rt = self.rt.as_ref().ok_or(NatsError::Closed)?;
        rt.block_on(async {
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

    /// Waits until the server has stored every event sent so far; an error when any of
    /// them was refused.
    pub fn flush(&mut self) -> Result<(), NatsError> {
        let in_flight = std::mem::take(&mut self.in_flight);
        let rt = self.rt.as_ref().ok_or(NatsError::Closed)?;
        rt.block_on(async {
            // Every acknowledgement is awaited together: one lost connection costs one
            // timeout, not one per event.
            let acks =
                futures_util::future::join_all(in_flight.into_iter().map(IntoFuture::into_future))
                    .await;
            acks.into_iter()
                .try_for_each(|a| a.map(drop))
                .ctx(|| "an event's acknowledgement".into())
        })
    }

    /// Waits until the server has stored every event; an error when any was refused.
    pub fn finish(mut self) -> Result<ShipReport, NatsError> {
        self.flush()?;
        Ok(self.report)
    }
}

impl Drop for NatsShipper {
    /// A runtime may not be dropped where blocking is not allowed (the service's async
    /// tasks can hold the last reference): shut it down in the background instead.
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
