//! The behavioural engine as a pipeline detector: every user activity is scored (its
//! verdict is the ThreatScore); one at the alert level becomes an alert naming the user
//! and the IP, with the activity and the user's events before it as evidence.

use serde_json::Value;
use warden_event::{
    Alert, DetectorKind, EntityKind, Evidence, EvidenceRole, Input, Record, UserActivity,
};

use super::{ContextLimits, Cx, Detector, Findings, RecentEvents, Verdict};
use crate::ueba::UebaEngine;

/// [`UebaEngine`] behind the pipeline, with each user's recent events for context.
pub struct UebaDetector {
    engine: UebaEngine,
    recent: RecentEvents,
    /// Add the 16 features to every score (`warden detect --features`).
    pub with_features: bool,
}

impl std::fmt::Debug for UebaDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UebaDetector")
            .field("users", &self.engine.user_count())
            .field("context_users", &self.recent.users())
            .finish()
    }
}

impl UebaDetector {
    /// `context`: how many of each user's events to keep for alerts (`per_user: 0` keeps
    /// none, the cheapest).
    pub fn new(engine: UebaEngine, context: ContextLimits) -> Self {
        UebaDetector {
            engine,
            recent: RecentEvents::new(context),
            with_features: false,
        }
    }

    pub fn engine(&self) -> &UebaEngine {
        &self.engine
    }

    pub fn engine_mut(&mut self) -> &mut UebaEngine {
        &mut self.engine
    }

    pub fn into_engine(self) -> UebaEngine {
        self.engine
    }
}

/// An activity as kept in evidence: its fields by their canonical names, the time in
/// RFC 3339, nulls left out.
pub fn activity_view(a: &UserActivity) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("timestamp".into(), Value::String(a.timestamp.to_rfc3339()));
        o.retain(|_, x| !x.is_null());
    }
    v
}

/// The user's events before the alert's, oldest first, as its evidence: a contributor the
/// score cites gets its event and time filled in; the others are context.
fn add_context<'a>(al: &mut Alert, before: impl Iterator<Item = &'a UserActivity>) {
    for b in before {
        let reference = b.reference();
        let timestamp = Some(b.timestamp.to_rfc3339());
        let event = Some(activity_view(b));
        match al
            .evidence
            .iter_mut()
            .find(|e| e.role == EvidenceRole::Contributor && e.reference == reference)
        {
            Some(c) => (c.timestamp, c.event) = (timestamp, event),
            None => al.evidence.push(Evidence {
                role: EvidenceRole::Context,
                reference,
                timestamp,
                event,
            }),
        }
    }
}

impl Detector for UebaDetector {
    fn kind(&self) -> DetectorKind {
        DetectorKind::Ueba
    }

    fn process(&mut self, input: &Input, cx: &Cx<'_>, out: &mut Findings) {
        let Record::Activity(a) = &input.record else {
            return;
        };
        let s = self.engine.score(a, self.with_features);
        let alert = cx.alerts_at(s.threat_level);
        let before = self.recent.push(a, input.size, alert);
        if alert {
            let mut al = Alert::from_threat_score(cx.tenant, &s);
            let view = activity_view(a);
            // The event's content in its identity: another event sent under the same id
            // and time cannot make this one a duplicate.
            al.digest = Some(warden_event::content_digest(&[&view.to_string()]));
            if let Some(ip) = &a.ip_address {
                al.add_entity(EntityKind::Ip, ip);
            }
            if let Some(t) = al.evidence.first_mut() {
                t.event = Some(view);
            }
            add_context(&mut al, before.iter());
            out.alerts.push(al);
        }
        out.verdicts.push(Verdict::Score(Box::new(s)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UebaConfig;
    use warden_event::{ActivityType, EventRef, Timestamp};

    #[test]
    fn a_cited_event_among_the_previous_ones_is_shown_once_as_a_contributor() {
        let activity = |id: &str, secs: i64| {
            let mut a = UserActivity::new("ana", ActivityType::FileAccess, Timestamp(secs * 1000));
            a.event_id = Some(id.into());
            a
        };
        let before = [activity("e1", 100), activity("e2", 200)];
        let mut engine = UebaEngine::new(UebaConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        let mut score = engine.score(&activity("e3", 300), false);
        score.cited_events = vec!["e1".into(), "e0".into()];
        let mut al = Alert::from_threat_score("default", &score);
        add_context(&mut al, before.iter());
        let shown: Vec<(EvidenceRole, String, bool)> = al
            .evidence
            .iter()
            .map(|e| {
                let id = match &e.reference {
                    EventRef::EventId { event_id } => event_id.clone(),
                    other => format!("{other:?}"),
                };
                (e.role, id, e.event.is_some())
            })
            .collect();
        assert_eq!(
            shown,
            [
                (EvidenceRole::Trigger, "e3".to_owned(), false),
                (EvidenceRole::Contributor, "e1".to_owned(), true),
                // Cited but no longer among the kept events: referenced, not shown.
                (EvidenceRole::Contributor, "e0".to_owned(), false),
                (EvidenceRole::Context, "e2".to_owned(), true),
            ]
        );
    }
}
