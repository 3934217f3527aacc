//! The plain explanation of a verdict: what it shows, what the training texts weighed
//! down, what the model rates it and why, and which pattern held it up.

use std::fmt::Write as _;

use super::*;

impl Analyzer {
    /// The plain explanation of a verdict of `score` from `views`.
    pub(super) fn explanation(
        &self,
        score: f32,
        views: &Views,
        decoded: &Decoded,
        patterns: &[PatternFound],
        model: Option<&ModelView>,
        trace: &Option<dynamic::Trace>,
    ) -> String {
        let (level, action) = (self.config.level(score), self.config.action(score));
        let mut explanation = explain(score, level, action, decoded, patterns, model);
        if let Some(t) = trace {
            explanation.push_str(&dynamic::explain(t));
        }
        let held = self.config.pattern_floor(views.strongest);
        if held
            > self
                .config
                .combine(views.model, views.dynamic, views.signatures, 0.0)
            && let Some(p) = patterns
                .iter()
                .max_by(|a, b| self.holding(a).total_cmp(&self.holding(b)))
        {
            let _ = write!(
                explanation,
                " Held at {held:.0} by its strongest pattern alone ({}, weight {:.2}",
                p.name,
                self.holding(p)
            );
            if self.holding(p) > p.weight {
                let _ = write!(
                    explanation,
                    " as written; the training texts weigh it {:.2}",
                    p.weight
                );
            }
            explanation.push_str("): the other views weigh less than it.");
        }
        explanation
    }

    /// The weight `p` holds the verdict up with ([`VerdictConfig::holding_weight`]).
    pub(super) fn holding(&self, p: &PatternFound) -> f32 {
        let written = p
            .trained
            .as_ref()
            .filter(|_| patterns::holds_as_written(&p.id))
            .map(|t| t.hand_weight);
        self.config.holding_weight(p.weight, written)
    }
}

/// The patterns the training texts weighed down most, with the counts behind it.
fn explain_tempered(out: &mut String, patterns: &[PatternFound]) {
    let mut tempered: Vec<(&PatternFound, tempering::Tempered)> = patterns
        .iter()
        .filter_map(|p| p.trained.map(|t| (p, t)))
        // A nudge is not worth a sentence.
        .filter(|(p, t)| t.hand_weight - p.weight >= 0.05)
        .collect();
    if tempered.is_empty() {
        return;
    }
    tempered
        .sort_by(|a, b| (b.1.hand_weight - b.0.weight).total_cmp(&(a.1.hand_weight - a.0.weight)));
    out.push_str(" Weighed down by the training texts: ");
    for (k, (p, t)) in tempered.iter().take(2).enumerate() {
        let sep = if k == 0 { "" } else { "; " };
        let _ = write!(
            out,
            "{sep}{} ({:.2} → {:.2}: in {} benign and {} malicious training texts)",
            p.name, t.hand_weight, p.weight, t.benign, t.malicious
        );
    }
    out.push('.');
}

/// Writes `items` separated by `sep` (the explanation is built in one string, without a
/// temporary per part: it is written for every text of a stream).
fn join_into<'a>(out: &mut String, items: impl IntoIterator<Item = &'a str>, sep: &str) {
    for (k, item) in items.into_iter().enumerate() {
        if k > 0 {
            out.push_str(sep);
        }
        out.push_str(item);
    }
}

/// A plain-language account of the verdict.
fn explain(
    score: f32,
    level: ThreatLevel,
    action: Action,
    decoded: &Decoded,
    patterns: &[PatternFound],
    model: Option<&ModelView>,
) -> String {
    let action = match action {
        Action::Allow => "allow",
        Action::Quarantine => "quarantine",
        Action::Block => "block",
    };
    let mut out = String::with_capacity(256);
    let _ = write!(out, "{} ({score:.0}/100): {action}.", level.as_str());
    if decoded.layers.len() > 1 {
        let steps = decoded.layers.len() - 1;
        let _ = write!(
            out,
            " Hidden behind {steps} layer{} of encoding (",
            if steps == 1 { "" } else { "s" },
        );
        join_into(
            &mut out,
            decoded.layers.iter().skip(1).map(|l| l.decoder),
            " → ",
        );
        out.push_str("); the decoded text is what was analysed.");
    }
    let mut strongest: Vec<&PatternFound> = patterns.iter().collect();
    strongest.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    if strongest.is_empty() {
        out.push_str(" No known attack pattern was found.");
    } else {
        out.push_str(" It shows: ");
        for (k, p) in strongest.iter().take(4).enumerate() {
            if k > 0 {
                out.push_str("; ");
            }
            let _ = write!(out, "{} (", p.name);
            join_into(&mut out, p.attack.iter().map(|a| a.as_ref()), ", ");
            out.push(')');
        }
        if strongest.len() > 4 {
            let _ = write!(out, " and {} more", strongest.len() - 4);
        }
        out.push('.');
    }
    explain_tempered(&mut out, patterns);
    if let Some(m) = model {
        explain_model(&mut out, m);
    }
    out
}

/// "The model rates it 97% likely malicious (the text alone 91%, weighed with …), mostly
/// for …".
fn explain_model(out: &mut String, m: &ModelView) {
    let _ = write!(
        out,
        " The model rates it {:.0}% likely malicious",
        m.probability * 100.0
    );
    if let Some(text) = m.text_probability {
        let _ = write!(out, " (the text alone {:.0}%", text * 100.0);
        let mut weighed = m
            .combined_from
            .iter()
            .map(|c| c.feature.as_str())
            .filter(|f| *f != combiner::TEXT_SCORE)
            .peekable();
        if weighed.peek().is_some() {
            out.push_str(", weighed with ");
            join_into(out, weighed, ", ");
        }
        out.push(')');
    }
    if m.raised_by.is_empty() {
        out.push('.');
    } else {
        out.push_str(", mostly for ");
        join_into(
            out,
            m.raised_by.iter().take(3).map(|c| c.feature.as_str()),
            ", ",
        );
        out.push('.');
    }
}
