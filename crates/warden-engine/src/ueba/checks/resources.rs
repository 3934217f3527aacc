//! Unusual resources: a resource new to this user, weighted by sensitivity and by how rare
//! it is across the organisation (a colleague's everyday tool is less alarming than a
//! system nobody uses).

use super::{CheckContext, Finding, feat, unit};
use warden_event::{AnomalyType, FeatureVector};
use warden_models::baseline::PopulationKind;

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
    let share = ctx.population.share(PopulationKind::Resource, key);
    f[feat::RESOURCE_NOVELTY] = 1.0;
    f[feat::RESOURCE_RARITY] = unit(1.0 - share / cfg.common_share);
    let rarity = (1.0 - share / cfg.common_share).max(cfg.min_rarity);
    let weight = if sensitive {
        1.0
    } else {
        cfg.non_sensitive_factor
    };
    let users = ctx.population.users_with(PopulationKind::Resource, key);
    let org = if users == 0 {
        "never used by anyone else in the organisation".to_owned()
    } else {
        format!("used by {users} of {} users", ctx.population.users)
    };
    let label = if sensitive { " (sensitive)" } else { "" };
    Some(Finding::new(
        AnomalyType::UnusualResources,
        weight * rarity,
        format!(
            "first access to {name}{label} by this user, whose {} usual resources do not include it; {org}",
            p.resources.len()
        ),
    ))
}
