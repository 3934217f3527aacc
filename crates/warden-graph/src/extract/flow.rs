//! Network flows (Zeek `conn.log`) as graph events: one connection from the originator's
//! address to the responder's, on the responder's port.
//!
//! A flow names addresses, not hosts; the graph places the originator on the host its
//! address was last seen as (Windows logons and Sysmon connections teach that), and a flow
//! to a management port (SMB, RPC, WinRM, RDP) is the way in for a logon on the responder
//! that names no source, exactly as a Sysmon connection is.

use warden_event::EventRef;
use warden_event::flow::FlowRecord;

use crate::event::{Action, GraphEvent, normalize_ip};

/// The graph event of one flow, when it gives both addresses and its time. `fallback`
/// is the reference of a flow with no `uid` (its file and line).
pub fn flow_event(f: &FlowRecord, fallback: EventRef) -> Option<GraphEvent> {
    let o = &f.origin;
    let src = normalize_ip(o.src_ip.as_deref()?)?;
    let dst = normalize_ip(o.dst_ip.as_deref()?)?;
    let time = warden_event::Timestamp(o.timestamp_ms?);
    let reference = match &o.uid {
        Some(uid) => EventRef::EventId {
            event_id: uid.clone(),
        },
        None => fallback,
    };
    let mut e = GraphEvent::new(
        time,
        Action::Connection {
            dest_port: o.dst_port.unwrap_or(0),
            image: String::new(),
            initiated: true,
        },
        reference,
    );
    e.source_ip = Some(src);
    e.dest_ip = Some(dst);
    Some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_event::flow::FlowOrigin;

    fn flow(src: &str, dst: &str, uid: Option<&str>) -> FlowRecord {
        FlowRecord {
            numeric: Vec::new(),
            categorical: Vec::new(),
            attack: None,
            kind: None,
            origin: FlowOrigin {
                src_ip: Some(src.into()),
                dst_ip: Some(dst.into()),
                dst_port: Some(445),
                timestamp_ms: Some(1_700_000_000_000),
                uid: uid.map(Into::into),
            },
        }
    }

    #[test]
    fn a_flow_is_a_connection_between_its_addresses() {
        let line = EventRef::Line {
            source: "conn.log".into(),
            line: 9,
        };
        let e = flow_event(&flow("10.0.0.5", "10.0.0.9", Some("C1x")), line.clone()).unwrap();
        assert_eq!(e.source_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(e.dest_ip.as_deref(), Some("10.0.0.9"));
        assert!(matches!(
            e.action,
            Action::Connection {
                dest_port: 445,
                initiated: true,
                ..
            }
        ));
        assert_eq!(
            e.reference,
            EventRef::EventId {
                event_id: "C1x".into()
            }
        );
        let e = flow_event(&flow("10.0.0.5", "10.0.0.9", None), line.clone()).unwrap();
        assert_eq!(e.reference, line);
        assert!(flow_event(&flow("10.0.0.5", "not an address", None), line).is_none());
    }
}
