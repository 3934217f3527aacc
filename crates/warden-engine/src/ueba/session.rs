//! Session compounding: several moderate anomalies of one user within one session (events
//! no more than `time.session_gap_minutes` apart) add up. When an event has a moderate
//! anomaly of its own, each different anomaly noted earlier in the session joins its score
//! at `scoring.session_carry` of its confidence, citing the event and time it came from, so
//! the session, not the single event, is what alerts. Notes are taken only from events
//! below the quarantine level (an alert is already an alert); the same kind about the same
//! subject (one resource, the hour of the session) counts once. First accesses made before
//! the user's own everyday work are read again when that work begins ([`back_at_work`]).

use super::{Finding, checks};
use crate::UebaConfig;
use warden_event::{AnomalyType, Timestamp};
use warden_models::baseline::{ActivityKeys, Population, SessionNote, SessionNotes, UserProfile};

/// What a finding is about, so that two notes of one kind and subject count once. Each
/// transfer moves its own data, so two unusual transfers are two pieces of evidence (the
/// subject is the transfer's time); two first uses of one resource, or two events of one
/// odd-hours session, are one.
fn subject(kind: AnomalyType, keys: &ActivityKeys, secs: u32) -> u64 {
    match kind {
        AnomalyType::UnusualVolume => u64::from(secs),
        AnomalyType::UnusualResources => keys.resource.unwrap_or(0),
        AnomalyType::NewDevice => keys.device.unwrap_or(0),
        AnomalyType::NewLocation | AnomalyType::ImpossibleTravel => keys.location.unwrap_or(0),
        _ => 0,
    }
}

/// Whether a finding can take part: the checks' own anomalies, with a risk (weight ×
/// confidence, damped by the baseline's maturity where it needs one) of at least
/// `scoring.session_min_risk`.
fn eligible(f: &Finding, maturity: f64, cfg: &UebaConfig) -> bool {
    if matches!(
        f.kind,
        AnomalyType::BehavioralDeviation | AnomalyType::ModelAnomaly
    ) {
        return false;
    }
    let conf = if f.kind.needs_baseline() {
        f.confidence * maturity
    } else {
        f.confidence
    };
    cfg.scoring.weights.of(f.kind) * conf >= cfg.scoring.session_min_risk
}

/// The notes an event leaves for the rest of its session (its own eligible findings).
pub fn notes_of(
    findings: &[Finding],
    keys: &ActivityKeys,
    secs: u32,
    event_id: Option<&str>,
    maturity: f64,
    cfg: &UebaConfig,
) -> Vec<SessionNote> {
    findings
        .iter()
        .filter(|f| eligible(f, maturity, cfg))
        .map(|f| SessionNote {
            at: secs,
            kind: f.kind,
            subject: subject(f.kind, keys, secs),
            confidence: f.confidence as f32,
            event_id: event_id.map(str::to_owned),
        })
        .collect()
}

/// Whether a note still stands: a first use whose subject (resource, device, location) the
/// user has used since as often as makes a resource everyday work
/// (`resources.peer_min_uses` learned uses) is part of their behaviour now.
fn still_new(n: &SessionNote, profile: &UserProfile, cfg: &UebaConfig) -> bool {
    let set = match n.kind {
        AnomalyType::UnusualResources => &profile.resources,
        AnomalyType::NewDevice => &profile.devices,
        AnomalyType::NewLocation => &profile.locations,
        _ => return true,
    };
    set.get(n.subject).unwrap_or(0) < cfg.resources.peer_min_uses
}

/// The earlier anomalies of the session that join this event's findings, when it has a
/// moderate one of its own.
pub fn carried(
    notes: &SessionNotes,
    own: &[SessionNote],
    profile: &UserProfile,
    population: &Population,
    work: Option<u64>,
    cfg: &UebaConfig,
) -> Vec<Finding> {
    if notes.is_empty() || own.is_empty() {
        return Vec::new();
    }
    notes
        .iter()
        .filter(|n| {
            !own.iter()
                .any(|o| o.kind == n.kind && o.subject == n.subject)
        })
        .filter(|n| still_new(n, profile, cfg))
        .map(|n| {
            let (carry, apart) = carry(n, own, profile, population, work, cfg);
            earlier(n, carry, &apart, population)
        })
        .collect()
}

/// An earlier note as a finding of this event at `share` of its confidence, citing its
/// event: "earlier in this session: first access to ledger at 09:05 UTC (event e1,
/// confidence 0.39)" and `more`.
fn earlier(n: &SessionNote, share: f64, more: &str, population: &Population) -> Finding {
    let mut f = Finding::new(
        n.kind,
        f64::from(n.confidence) * share,
        format!(
            "earlier in this session: {} at {} UTC ({}confidence {:.2}){more}",
            describe(n, population),
            clock(n.at),
            n.event_id
                .as_deref()
                .map(|id| format!("event {id}, "))
                .unwrap_or_default(),
            n.confidence
        ),
    );
    f.cites.clone_from(&n.event_id);
    f
}

/// What [`back_at_work`] makes of a session's first accesses.
#[derive(Debug, Default)]
pub struct Restatement {
    /// This event's findings: the first accesses read again, each citing its event.
    pub findings: Vec<Finding>,
    /// The notes the reading strengthened, to replace the old ones.
    pub strengthened: Vec<SessionNote>,
    /// The resources whose notes are in `findings`.
    pub subjects: Vec<u64>,
}

/// The session's first accesses read again when the user turns to their own work after
/// them (`work`: one of their everyday resources, the first of the session, used by this
/// event). A change of role is the new team's kit without the old one; other teams' tools
/// opened before the user's own work are additions to their role, and are read as they
/// would have been had the work come first (the users of `work` asked alone, see
/// `resources.in_session_factor`). Returns the notes that reading strengthens, to replace
/// the old ones, and — where the session holds two or more first accesses, one of them
/// strengthened — findings for this event: the strongest at its new confidence, the others
/// at `scoring.session_carry_unrelated` of theirs, each citing its event. A single first
/// access is not stated again: it has had its alert.
pub fn back_at_work(
    notes: &SessionNotes,
    work: u64,
    profile: &UserProfile,
    population: &Population,
    cfg: &UebaConfig,
) -> Restatement {
    let mut read: Vec<(SessionNote, String, bool)> = notes
        .iter()
        .filter(|n| n.kind == AnomalyType::UnusualResources && still_new(n, profile, cfg))
        .filter_map(|n| {
            let (c, why) = read_at_work(profile, population, work, n.subject, cfg)?;
            let stronger = c > f64::from(n.confidence);
            let note = SessionNote {
                confidence: n.confidence.max(c as f32),
                ..n.clone()
            };
            Some((note, why, stronger))
        })
        .collect();
    let strengthened: Vec<SessionNote> = read.iter().filter(|r| r.2).map(|r| r.0.clone()).collect();
    if strengthened.is_empty() || read.len() < 2 {
        return Restatement {
            strengthened,
            ..Restatement::default()
        };
    }
    read.sort_by(|a, b| b.0.confidence.total_cmp(&a.0.confidence));
    let findings = read
        .iter()
        .enumerate()
        .map(|(i, (n, why, _))| {
            let share = if i == 0 {
                1.0
            } else {
                cfg.scoring.session_carry_unrelated
            };
            let reading = format!(", before the user turned to their own work ({why})");
            earlier(n, share, &reading, population)
        })
        .collect();
    Restatement {
        findings,
        strengthened,
        subjects: read.iter().map(|r| r.0.subject).collect(),
    }
}

/// A first access to `key` read at the user's own `work`: its confidence and the detail
/// saying so; `None` where the work's users (or any of the user's teams) use it commonly.
fn read_at_work(
    profile: &UserProfile,
    population: &Population,
    work: u64,
    key: u64,
    cfg: &UebaConfig,
) -> Option<(f64, String)> {
    checks::confidence_at_work(population, profile, &cfg.resources, work, key)
        .map(|(c, view)| (c, checks::work_detail(&view)))
}

/// The share of an earlier note's confidence an event takes, and what to add to its detail.
/// A first access joins this event's own first access at `session_carry` when the users of
/// the less used of the two resources all hold the other too (one team's kit, picked up at a
/// change of role), rising to `session_carry_unrelated` when none does (tools of unrelated
/// teams, or one nobody uses).
fn carry(
    n: &SessionNote,
    own: &[SessionNote],
    profile: &UserProfile,
    population: &Population,
    work: Option<u64>,
    cfg: &UebaConfig,
) -> (f64, String) {
    let base = cfg.scoring.session_carry;
    let mine = own.iter().find(|o| o.kind == AnomalyType::UnusualResources);
    let (AnomalyType::UnusualResources, Some(mine)) = (n.kind, mine) else {
        return (base, String::new());
    };
    let peers = &population.peers;
    let fewer = peers.holders(n.subject).min(peers.holders(mine.subject));
    let both = peers.both(n.subject, mine.subject).min(fewer);
    let together = if fewer == 0 {
        0.0
    } else {
        f64::from(both) / f64::from(fewer)
    };
    // Reached from the user's own work, neither resource a tool of the user's teams, the
    // pair is not a change of role, whatever kit it comes from. (Asked only where the two
    // are held together: unrelated ones carry the most already.)
    let at_own_work = together > 0.0
        && work.is_some_and(|w| {
            [n.subject, mine.subject].iter().all(|&key| {
                checks::confidence_at_work(population, profile, &cfg.resources, w, key).is_some()
            })
        });
    let read = if at_own_work { 0.0 } else { together };
    let carry = base + (cfg.scoring.session_carry_unrelated - base).max(0.0) * (1.0 - read);
    let apart = if both == 0 {
        "; no user holds both".to_owned()
    } else if together < 0.5 {
        format!("; {both} of the {fewer} users of the less used one hold both")
    } else if at_own_work {
        "; one team's tools, reached from the user's own work".to_owned()
    } else {
        String::new()
    };
    (carry, apart)
}

fn describe(n: &SessionNote, population: &Population) -> String {
    match n.kind {
        AnomalyType::UnusualResources => match population.peers.name(n.subject) {
            Some(name) => format!("first access to {name}"),
            None => "first access to a resource".to_owned(),
        },
        other => other.as_str().replace('_', " "),
    }
}

/// `HH:MM` of a time in seconds since the epoch.
fn clock(secs: u32) -> String {
    let t = Timestamp(i64::from(secs) * 1000).to_rfc3339();
    t.get(11..16).unwrap_or("??:??").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(kind: AnomalyType, confidence: f64) -> Finding {
        Finding::new(kind, confidence, String::new())
    }

    #[test]
    fn only_moderate_anomalies_of_the_checks_are_noted() {
        let cfg = UebaConfig::default();
        let keys = ActivityKeys {
            resource: Some(7),
            ..Default::default()
        };
        let found = [
            finding(AnomalyType::UnusualResources, 0.6),
            finding(AnomalyType::UnusualTime, 0.1),
            finding(AnomalyType::BehavioralDeviation, 1.0),
        ];
        let notes = notes_of(&found, &keys, 3600, Some("e1"), 1.0, &cfg);
        assert_eq!(notes.len(), 1);
        assert_eq!(
            (notes[0].kind, notes[0].subject),
            (AnomalyType::UnusualResources, 7)
        );
        // An immature baseline damps what needs one.
        assert!(notes_of(&found, &keys, 3600, None, 0.2, &cfg).is_empty());
    }

    #[test]
    fn two_unusual_transfers_are_two_pieces_of_evidence() {
        let cfg = UebaConfig::default();
        let keys = ActivityKeys {
            resource: Some(3),
            ..Default::default()
        };
        let volume = [finding(AnomalyType::UnusualVolume, 0.7)];
        let mut notes = SessionNotes::default();
        notes_of(&volume, &keys, 3600, Some("d1"), 1.0, &cfg)
            .into_iter()
            .for_each(|n| notes.note(n));
        // A second big download from the same resource later in the session: the first
        // joins it (the data of each is its own).
        let own = notes_of(&volume, &keys, 4800, Some("d2"), 1.0, &cfg);
        let c = carried(
            &notes,
            &own,
            &UserProfile::default(),
            &Population::default(),
            None,
            &cfg,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].kind, AnomalyType::UnusualVolume);
        assert_eq!(c[0].cites.as_deref(), Some("d1"));
        // An odd hour is one fact about the session, however many of its events show it.
        let time = [finding(AnomalyType::UnusualTime, 0.7)];
        let mut notes = SessionNotes::default();
        notes_of(&time, &keys, 3600, Some("t1"), 1.0, &cfg)
            .into_iter()
            .for_each(|n| notes.note(n));
        let own = notes_of(&time, &keys, 4800, Some("t2"), 1.0, &cfg);
        let pop = Population::default();
        assert!(carried(&notes, &own, &UserProfile::default(), &pop, None, &cfg).is_empty());
    }

    #[test]
    fn earlier_notes_join_a_moderate_event_and_cite_their_event() {
        let cfg = UebaConfig::default();
        let mut notes = SessionNotes::default();
        let keys = |r| ActivityKeys {
            resource: Some(r),
            ..Default::default()
        };
        let first = notes_of(
            &[finding(AnomalyType::UnusualResources, 0.6)],
            &keys(1),
            9 * 3600 + 600,
            Some("e1"),
            1.0,
            &cfg,
        );
        first.into_iter().for_each(|n| notes.note(n));
        let pop = Population::default();
        let profile = UserProfile::default();
        // Another new resource: the first joins, cited.
        let own = notes_of(
            &[finding(AnomalyType::UnusualResources, 0.6)],
            &keys(2),
            9 * 3600 + 1200,
            Some("e2"),
            1.0,
            &cfg,
        );
        let c = carried(&notes, &own, &profile, &pop, None, &cfg);
        assert_eq!(c.len(), 1);
        // No user holds both resources: reaching into unrelated tools carries the most.
        assert!((c[0].confidence - 0.6 * cfg.scoring.session_carry_unrelated).abs() < 1e-6);
        assert_eq!(
            c[0].detail,
            "earlier in this session: first access to a resource at 09:10 UTC (event e1, confidence 0.60); no user holds both"
        );
        assert_eq!(c[0].cites.as_deref(), Some("e1"));
        // Where every user of them holds both (one team's kit), the note carries less.
        let mut kit = Population::default();
        for _ in 0..3 {
            let mut set = UserProfile::default().resources;
            set.observe(1, 24);
            set.observe(2, 24);
            kit.peers.add_user(&set, |_| None);
        }
        let c = carried(&notes, &own, &profile, &kit, None, &cfg);
        assert!((c[0].confidence - 0.6 * cfg.scoring.session_carry).abs() < 1e-6);
        assert!(c[0].detail.ends_with("confidence 0.60)"), "{}", c[0].detail);
        // The same resource again is the same evidence; a quiet event carries nothing.
        let again = notes_of(
            &[finding(AnomalyType::UnusualResources, 0.6)],
            &keys(1),
            9 * 3600 + 1800,
            None,
            1.0,
            &cfg,
        );
        assert!(carried(&notes, &again, &profile, &pop, None, &cfg).is_empty());
        assert!(carried(&notes, &[], &profile, &pop, None, &cfg).is_empty());
        // Once the first resource is everyday work, it is the user's own: its note lapses.
        let mut learned = UserProfile::default();
        learned.resources.observe(1, 24);
        assert_eq!(carried(&notes, &own, &learned, &pop, None, &cfg).len(), 1);
        for _ in 1..cfg.resources.peer_min_uses {
            learned.resources.observe(1, 24);
        }
        assert!(carried(&notes, &own, &learned, &pop, None, &cfg).is_empty());
    }
}
