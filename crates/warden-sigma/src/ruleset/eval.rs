//! Evaluating a rule set against one event: the prefilter scan, the candidate variants,
//! compiled expressions with a per-event cache of shared tests, and the fields that
//! matched.

use super::*;

impl RuleSet {
    /// Flattens a JSON document for this rule set.
    pub fn event<'a>(&self, doc: &'a Json) -> Event<'a> {
        Event::new(doc, &self.arena.names)
    }

    /// Indices of the rules that match `ev` (each at most once, hidden ones included), in
    /// rule order.
    pub fn matches(&self, ev: &Event<'_>, scratch: &mut Scratch, out: &mut Vec<u32>) {
        out.clear();
        scratch.unverified.clear();
        scratch.needles_done = false;
        scratch.generation = scratch.generation.wrapping_add(1);
        if scratch.generation == 0
            || scratch.seen.len() != self.rules.len()
            || scratch.tried.len() != self.variants.len()
            || scratch.leaf_value.len() != self.arena.leaves.len()
        {
            scratch.leaf_generation.clear();
            scratch.leaf_generation.resize(self.arena.leaves.len(), 0);
            scratch.leaf_value.clear();
            scratch.leaf_value.resize(self.arena.leaves.len(), false);
            scratch.seen.clear();
            scratch.seen.resize(self.rules.len(), 0);
            scratch.tried.clear();
            scratch.tried.resize(self.variants.len(), 0);
            scratch.generation = 1;
        }
        let eid = ev.event_id();
        let mut cells: [Option<&Cell>; 4] = [None; 4];
        match ev.channel() {
            Some(ch) => {
                let ch: Box<str> = ch.to_lowercase().into();
                let keys = [
                    (Some(ch.clone()), eid),
                    (Some(ch), None),
                    (None, eid),
                    (None, None),
                ];
                for (i, key) in keys.iter().enumerate() {
                    // Without an EventID, keys 0 and 2 repeat keys 1 and 3.
                    if eid.is_none() && i % 2 == 0 {
                        continue;
                    }
                    cells[i] = self.cells.get(key);
                }
            }
            None => {
                if eid.is_some() {
                    cells[0] = self.no_channel_cells.get(&eid);
                }
                cells[1] = self.no_channel_cells.get(&None);
            }
        }
        for cell in cells.iter().flatten() {
            for &vi in &cell.always {
                self.try_variant(vi, ev, scratch, out);
            }
            if cell.gated.is_empty() {
                continue;
            }
            if !scratch.needles_done {
                self.scan_needles(ev, scratch);
                scratch.needles_done = true;
            }
            for i in 0..scratch.matched.len() {
                let n = scratch.matched[i];
                if let Some(list) = cell.gated.get(&n) {
                    for &vi in list {
                        self.try_variant(vi, ev, scratch, out);
                    }
                }
            }
        }
        out.sort_unstable();
    }

    pub(super) fn try_variant(
        &self,
        vi: u32,
        ev: &Event<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) {
        let generation = scratch.generation;
        let Some(tried) = scratch.tried.get_mut(vi as usize) else {
            return;
        };
        if *tried == generation {
            return;
        }
        *tried = generation;
        let Some(v) = self.variants.get(vi as usize) else {
            return;
        };
        if scratch.seen.get(v.rule as usize) == Some(&generation)
            || v.product
                .is_some_and(|p| ev.product.is_some_and(|e| e != p))
        {
            return;
        }
        // The posting clause brought us here; the other clauses must hold too.
        if let Some(req) = &v.requirement {
            let bits = &scratch.needles;
            let has = |n: u32| {
                bits.get(n as usize / 64)
                    .is_some_and(|w| w >> (n % 64) & 1 == 1)
            };
            if !req
                .iter()
                .skip(1)
                .all(|clause| clause.iter().any(|&n| has(n)))
            {
                return;
            }
        }
        if self.eval_cached(&v.expr, ev, scratch) {
            if let Some((strict, _)) = &v.strict
                && !self.eval_cached(strict, ev, scratch)
            {
                scratch.unverified.push((v.rule, vi));
            }
            if let Some(s) = scratch.seen.get_mut(v.rule as usize) {
                *s = generation;
            }
            out.push(v.rule);
        }
    }

    /// Why a rule matched by the last [`Self::matches`] with `scratch` is unverified:
    /// the fields its variant's log lacks that a filter of the rule tests (`None` for a
    /// verified match).
    pub fn unverified(&self, scratch: &Scratch, rule: u32) -> Option<&str> {
        scratch
            .unverified
            .iter()
            .find(|(r, _)| *r == rule)
            .and_then(|(_, vi)| self.variants.get(*vi as usize)?.strict.as_ref())
            .map(|(_, why)| &**why)
    }

    pub(super) fn scan_needles(&self, ev: &Event<'_>, scratch: &mut Scratch) {
        let bits = &mut scratch.needles;
        bits.clear();
        bits.resize(self.needle_count.div_ceil(64), 0);
        scratch.matched.clear();
        if let Some(ac) = &self.prefilter {
            for m in ac.find_overlapping_iter(ev.haystack()) {
                let n = m.pattern().as_usize();
                let (word, bit) = (n / 64, 1u64 << (n % 64));
                if let Some(w) = bits.get_mut(word)
                    && *w & bit == 0
                {
                    *w |= bit;
                    scratch.matched.push(n as u32);
                }
            }
        }
    }

    /// [`Self::eval`] with leaf results shared across the rules of one event.
    pub(super) fn eval_cached(&self, e: &Expr, ev: &Event<'_>, scratch: &mut Scratch) -> bool {
        match e {
            Expr::And(items) => items.iter().all(|i| self.eval_cached(i, ev, scratch)),
            Expr::Or(items) => items.iter().any(|i| self.eval_cached(i, ev, scratch)),
            Expr::Not(inner) => !self.eval_cached(inner, ev, scratch),
            Expr::AtLeast(n, items) => {
                let mut hits = 0;
                for i in items {
                    hits += usize::from(self.eval_cached(i, ev, scratch));
                    if hits >= *n {
                        return true;
                    }
                }
                false
            }
            Expr::Leaf(i) => {
                let i = *i as usize;
                let generation = scratch.generation;
                if scratch.leaf_generation.get(i) == Some(&generation) {
                    return scratch.leaf_value.get(i).copied().unwrap_or(false);
                }
                let v = self.arena.leaves.get(i).is_some_and(|l| eval_leaf(l, ev));
                if let (Some(g), Some(val)) = (
                    scratch.leaf_generation.get_mut(i),
                    scratch.leaf_value.get_mut(i),
                ) {
                    *g = generation;
                    *val = v;
                }
                v
            }
            Expr::Const(b) => *b,
        }
    }

    /// Evaluates an expression (no prefilter).
    pub fn eval(&self, e: &Expr, ev: &Event<'_>) -> bool {
        match e {
            Expr::And(items) => items.iter().all(|i| self.eval(i, ev)),
            Expr::Or(items) => items.iter().any(|i| self.eval(i, ev)),
            Expr::Not(inner) => !self.eval(inner, ev),
            Expr::AtLeast(n, items) => {
                items.iter().filter(|i| self.eval(i, ev)).take(*n).count() >= *n
            }
            Expr::Leaf(i) => self
                .arena
                .leaves
                .get(*i as usize)
                .is_some_and(|l| eval_leaf(l, ev)),
            Expr::Const(b) => *b,
        }
    }

    /// The field values that made rule `rule` match `ev`: each true positive leaf's field
    /// and value, in rule order, without repeats.
    pub fn details(&self, rule: u32, ev: &Event<'_>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in self.variants.iter().filter(|v| v.rule == rule) {
            if self.eval(&v.expr, ev) {
                self.collect_details(&v.expr, ev, &mut out);
                break;
            }
        }
        out
    }

    pub(super) fn collect_details(
        &self,
        e: &Expr,
        ev: &Event<'_>,
        out: &mut Vec<(String, String)>,
    ) {
        match e {
            Expr::And(items) | Expr::Or(items) | Expr::AtLeast(_, items) => {
                for i in items {
                    self.collect_details(i, ev, out);
                }
            }
            Expr::Leaf(i) => {
                let Some(leaf) = self.arena.leaves.get(*i as usize) else {
                    return;
                };
                if !eval_leaf(leaf, ev) {
                    return;
                }
                let value = match &leaf.target {
                    Target::Keywords => ev
                        .all_values()
                        .find(|v| leaf.test.value_matches(v))
                        .map(|v| v.raw.to_string()),
                    Target::Fields(ids) => ids
                        .iter()
                        .flat_map(|&id| ev.values(id))
                        .find(|v| {
                            leaf.test.value_matches(v) || !matches!(leaf.test, Test::Str { .. })
                        })
                        .map(|v| v.raw.to_string()),
                };
                if let Some(value) = value {
                    let pair = (leaf.rule_field.to_string(), value);
                    if !out.contains(&pair) {
                        out.push(pair);
                    }
                }
            }
            Expr::Not(_) | Expr::Const(_) => {}
        }
    }
}
