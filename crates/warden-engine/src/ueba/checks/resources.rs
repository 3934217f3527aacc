//! Unusual resources: a resource new to this user, weighted by sensitivity and by how rare
//! it is among the user's peers — the other users of the resources the user works with
//! every day (see [`warden_models::baseline::PeerIndex`]) — or, when no peer group can be
//! told, across the organisation. A colleague's everyday tool is less alarming than a
//! system nobody in the user's team uses. When the user has been at their own work in the
//! same session (one of their everyday resources, see [`UserState::session_work`]), the
//! users of that resource alone are asked: a resource they never use is an addition to the
//! user's role, not a change of it, however common it is elsewhere in the organisation.
//!
//! [`UserState::session_work`]: warden_models::baseline::UserState::session_work

use super::{CheckContext, Finding, feat, unit};
use crate::config::ResourceConfig;
use warden_event::{AnomalyType, FeatureVector};
use warden_models::baseline::{AnchorRule, PeerView, Population, PopulationKind, UserProfile};

pub fn unusual_resource(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let key = ctx.keys.resource?;
    let name = ctx.activity.resource_accessed.as_deref()?.trim();
    let cfg = &ctx.config.resources;
    let sensitive = ctx.sensitive_resource;
    f[feat::RESOURCE_SENSITIVITY] = if sensitive { 1.0 } else { 0.0 };
    let p = ctx.profile;
    if p.resources.is_empty() || p.resources.contains(key) {
        return None;
    }
    let org_share = ctx.population.share(PopulationKind::Resource, key);
    f[feat::RESOURCE_NOVELTY] = 1.0;
    // The models' feature keeps its meaning: rarity across the organisation.
    f[feat::RESOURCE_RARITY] = unit(1.0 - org_share / cfg.common_share);
    let peers = peer_view(ctx.population, p, cfg, key);
    // Rare among the peers and rare in the organisation are two pieces of evidence: a
    // resource the user's team never uses but a fifth of the company does is more suspect
    // than a team tool, less than a system nobody uses. For a sensitive resource the
    // organisation's rarity stays the ceiling: peers only lower it (their own tool), since a
    // change of role makes every new sensitive system peer-rare, and an alert at the
    // quarantine level is not learned, so it would repeat at every use.
    let org_rarity = rarity_of(cfg, org_share);
    let (rarity, weight) = match (&peers, sensitive) {
        (Some(v), true) => (org_rarity.min(rarity_of(cfg, v.share())), 1.0),
        (Some(v), false) => (
            (rarity_of(cfg, v.share()) * org_rarity).sqrt(),
            cfg.peer_non_sensitive_factor,
        ),
        (None, true) => (org_rarity, 1.0),
        (None, false) => (org_rarity, cfg.non_sensitive_factor),
    };
    let best_group = peers.as_ref().map_or(0.0, PeerView::share);
    let (confidence, work) =
        match at_work(ctx.population, cfg, ctx.session_work, key, best_group, 0) {
            Some((c, w)) if c > rarity * weight => (c, Some(w)),
            _ => (rarity * weight, None),
        };
    let users = ctx.population.users_with(PopulationKind::Resource, key);
    let org = if users == 0 {
        "never used by anyone else in the organisation".to_owned()
    } else {
        format!("used by {users} of {} users", ctx.population.users)
    };
    let peer = peers.map(|v| {
        let anchor = v
            .anchor_name
            .as_deref()
            .map_or("one of this user's usual resources".to_owned(), |a| {
                format!("{a}, one of this user's usual resources")
            });
        format!(
            "{} of {} peers (the other users of {anchor}) ever used it; ",
            v.with_resource, v.peers
        )
    });
    let label = if sensitive { " (sensitive)" } else { "" };
    let work = work.map(|w| format!("; earlier in this session {}", work_detail(&w)));
    Some(Finding::new(
        AnomalyType::UnusualResources,
        confidence,
        format!(
            "first access to {name}{label} by this user, whose {} usual resources do not include it; {}{org}{}",
            p.resources.len(),
            peer.unwrap_or_default(),
            work.unwrap_or_default()
        ),
    ))
}

/// `[min_rarity, 1]`: how rare a share of users makes a resource.
fn rarity_of(cfg: &ResourceConfig, share: f64) -> f64 {
    (1.0 - share / cfg.common_share).max(cfg.min_rarity)
}

/// Of the peer groups the user's everyday resources define, the one most familiar with
/// `key` (see [`warden_models::baseline::PeerIndex::view`]).
fn peer_view(
    population: &Population,
    profile: &UserProfile,
    cfg: &ResourceConfig,
    key: u64,
) -> Option<PeerView> {
    population
        .peers
        .view(&profile.resources, key, population.users, anchor_rule(cfg))
}

/// The configured rule for a resource that defines a peer group.
pub(crate) fn anchor_rule(cfg: &ResourceConfig) -> AnchorRule {
    AnchorRule {
        min_uses: cfg.peer_min_uses,
        min_peers: cfg.peer_min_peers,
        max_share: cfg.peer_max_share,
    }
}

/// The confidence of a first access to `key` read at the user's own work in the session
/// (`work`, one of their everyday resources), and that work's users: the user is read as a
/// member of that group, so how common `key` is elsewhere in the organisation no longer
/// lowers it, but any of the user's groups that uses it (`best_group`, its share) still
/// does — a role already taken on is no news. `None` without such work, when its group is
/// too small to say, or when either share is above `resources.peer_max_share`.
fn at_work(
    population: &Population,
    cfg: &ResourceConfig,
    work: Option<u64>,
    key: u64,
    best_group: f64,
    own: u32,
) -> Option<(f64, PeerView)> {
    let work = work.filter(|w| *w != key)?;
    let index = &population.peers;
    let peers = index.holders(work).saturating_sub(1);
    if peers < cfg.peer_min_peers {
        return None;
    }
    let view = PeerView {
        anchor: work,
        anchor_name: index.name(work).map(str::to_owned),
        peers,
        with_resource: index.both(work, key).saturating_sub(own).min(peers),
    };
    let share = view.share().max(best_group);
    (share <= cfg.peer_max_share).then(|| (rarity_of(cfg, share) * cfg.in_session_factor, view))
}

/// The confidence of a first access to `key` read again once the user is at their own
/// `work` in the same session (see [`at_work`]), with the work's users; `None` where that
/// reading does not apply.
pub(crate) fn confidence_at_work(
    population: &Population,
    profile: &UserProfile,
    cfg: &ResourceConfig,
    work: u64,
    key: u64,
) -> Option<(f64, PeerView)> {
    // The user has held `key` since its first access: the index counts them among its
    // users, and they are not their own peer.
    let holds = profile.resources.contains(key);
    let best_group = population
        .peers
        .view_of_holder(
            &profile.resources,
            key,
            population.users,
            anchor_rule(cfg),
            holds,
        )
        .map_or(0.0, |v| v.share());
    at_work(
        population,
        cfg,
        Some(work),
        key,
        best_group,
        u32::from(holds),
    )
}

/// "the user worked with repo: of its 7 other users, none ever used it".
pub(crate) fn work_detail(w: &PeerView) -> String {
    let of = w
        .anchor_name
        .as_deref()
        .unwrap_or("one of their usual resources");
    let used = match w.with_resource {
        0 => "none".to_owned(),
        n => n.to_string(),
    };
    format!(
        "the user worked with {of}: of its {} other users, {used} ever used it",
        w.peers
    )
}
