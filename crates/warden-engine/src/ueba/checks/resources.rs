//! Unusual resources: a resource new to this user, weighted by sensitivity and by how rare
//! it is across the organisation (a colleague's everyday tool is less alarming than a
//! system nobody uses).

use super::{CheckContext, Finding, feat, unit};
use warden_event::{AnomalyType, FeatureVector};
use warden_models::baseline::PopulationKind;

/// Whether `name` contains any pattern, ignoring ASCII case, without allocating.
pub(crate) fn matches_any(name: &str, patterns: &[String]) -> bool {
    let hay = name.as_bytes();
    patterns.iter().any(|p| {
        let needle = p.as_bytes();
        !needle.is_empty()
            && hay.len() >= needle.len()
            && hay
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    })
}

pub fn unusual_resource(ctx: &CheckContext<'_>, f: &mut FeatureVector) -> Option<Finding> {
    let key = ctx.keys.resource?;
    let name = ctx.activity.resource_accessed.as_deref()?.trim();
    let cfg = &ctx.config.resources;
    let sensitive = matches_any(name, &cfg.sensitive);
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

#[cfg(test)]
mod tests {
    use super::matches_any;

    #[test]
    fn pattern_matching_ignores_case() {
        let pats = vec!["payroll".to_string(), "vault".to_string()];
        assert!(matches_any("HR-Payroll-DB", &pats));
        assert!(matches_any("secrets-vault", &pats));
        assert!(!matches_any("wiki", &pats));
        assert!(!matches_any("", &pats));
        assert!(!matches_any("x", &[String::new()]));
    }
}
