//! Runs the signature table over every decoding layer of a text. One Aho-Corasick pass per
//! layer finds the literals the patterns' matches must start with or contain (read from the
//! patterns themselves when the table is compiled, [`crate::literals`]); only the patterns
//! whose literals occur, and the few without such literals, are run. A single `RegexSet` over the whole table was
//! tried and is twenty times slower on real command lines: its lazy DFA outgrows its cache. A pattern found in any layer counts once, with the first layer it
//! was seen in (so an analyst sees whether it was visible before decoding).

use aho_corasick::AhoCorasick;
use regex_automata::meta::{self, Regex};
use regex_automata::{Anchored, Input};
use serde::Serialize;

use crate::literals::{needed_literals, start_literals};
use crate::patterns::{PATTERNS, Pattern};

/// Most patterns a table may have (the scan keeps a flag per pattern on the stack).
const MAX_PATTERNS: usize = 256;
/// How far past its start literal an anchored attempt looks. A command's match spans a few
/// hundred bytes; without a bound, a decoded layer that repeats one start literal a
/// hundred thousand times on one 4 MiB line costs a scan to the line's end per repeat.
const MAX_ANCHORED_SPAN: usize = 4096;
/// Time for scanning one text's layers; what is not searched by then is left unsearched
/// (only a text built to be slow gets there: the whole corpus scans in under 2 ms a text).
const SCAN_BUDGET: std::time::Duration = std::time::Duration::from_millis(250);
/// Anchored attempts between two reads of the clock: an attempt costs well under a
/// microsecond on a command line, a read of the clock a good part of one.
const ATTEMPTS_PER_CLOCK_READ: u32 = 64;
/// Longest evidence excerpt kept.
const MAX_EVIDENCE: usize = 160;

/// One pattern found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub id: &'static str,
    pub name: &'static str,
    pub attack: &'static [&'static str],
    pub weight: f32,
    /// The matched text (cut to a readable length).
    pub evidence: String,
    /// Index of the first layer it was found in (0: the text as submitted).
    pub layer: usize,
}

/// What one scan found, and whether it looked everywhere.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub hits: Vec<Hit>,
    /// False when the scan's time ran out before every layer was searched: a pattern may
    /// be in the part not searched.
    pub finished: bool,
}

/// The compiled table.
pub struct Signatures {
    each: Vec<Regex>,
    /// The start literals of every pattern that has a finite set of them, and the needed
    /// literals of the others that have those.
    literals: AhoCorasick,
    /// For each literal, the patterns it may start or is needed by.
    roles: Vec<Vec<Role>>,
    /// Patterns with neither: run on every text.
    always: Vec<usize>,
    /// Time for one scan ([`SCAN_BUDGET`] unless set).
    budget: std::time::Duration,
}

/// What finding a literal means for a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A match may start where the literal does: tried anchored there.
    Starts(usize),
    /// The pattern may match somewhere in the text: searched in all of it, once.
    Needed(usize),
}

impl Signatures {
    /// Compiles [`PATTERNS`]; the table is constant, so failure is a bug caught by tests.
    #[allow(clippy::expect_used)] // a constant table, compiled by every test
    pub fn new() -> Signatures {
        Self::compile(&PATTERNS).expect("the signature table compiles")
    }

    fn compile(patterns: &[Pattern]) -> Result<Signatures, String> {
        if patterns.len() > MAX_PATTERNS {
            return Err(format!("more than {MAX_PATTERNS} patterns"));
        }
        let each: Vec<Regex> = patterns
            .iter()
            .map(|p| {
                Regex::builder()
                    .syntax(case_insensitive())
                    .configure(limits())
                    // ASCII word boundaries keep the fast automata on text with non-ASCII
                    // bytes in it (`re.rs`).
                    .build(&crate::re::ascii_word_boundaries(p.re))
                    .map_err(|e| format!("{}: {e}", p.id))
            })
            .collect::<Result<_, _>>()?;
        let mut literals: Vec<String> = Vec::new();
        let mut roles: Vec<Vec<Role>> = Vec::new();
        let mut always = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let (lits, role) = match (start_literals(p.re), needed_literals(p.re)) {
                (Some(lits), _) => (lits, Role::Starts(i)),
                (None, Some(lits)) => (lits, Role::Needed(i)),
                (None, None) => {
                    always.push(i);
                    continue;
                }
            };
            for l in lits {
                match literals.iter().position(|x| *x == l) {
                    Some(k) => roles[k].push(role),
                    None => {
                        literals.push(l);
                        roles.push(vec![role]);
                    }
                }
            }
        }
        let literals = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&literals)
            .map_err(|e| e.to_string())?;
        Ok(Signatures {
            each,
            literals,
            roles,
            always,
            budget: SCAN_BUDGET,
        })
    }

    /// The same table with another time budget per scan.
    pub fn with_budget(mut self, budget: std::time::Duration) -> Signatures {
        self.budget = budget;
        self
    }

    /// The patterns found in any of `layers`, in table order.
    pub fn scan<'a>(&self, layers: impl IntoIterator<Item = &'a str>) -> Vec<Hit> {
        self.scan_bounded(layers).hits
    }

    /// The time one scan may take ([`SCAN_BUDGET`] unless set otherwise).
    pub fn budget(&self) -> std::time::Duration {
        self.budget
    }

    /// The patterns found in any of `layers`, in table order, and whether the scan got
    /// through them all within its time ([`SCAN_BUDGET`]).
    pub fn scan_bounded<'a>(&self, layers: impl IntoIterator<Item = &'a str>) -> Scan {
        self.scan_until(layers, std::time::Instant::now() + self.budget)
    }

    /// [`Signatures::scan_bounded`], stopping at `deadline`: scans that share one budget.
    pub fn scan_until<'a>(
        &self,
        layers: impl IntoIterator<Item = &'a str>,
        deadline: std::time::Instant,
    ) -> Scan {
        // The patterns found, with the first layer each was found in and the match there
        // (a text has few: no table of every pattern is allocated per scan).
        let mut found = Found::default();
        let mut clock = Clock::until(deadline);
        let mut finished = true;
        'layers: for (li, text) in layers.into_iter().enumerate() {
            // Each layer is searched whole: the clock is read before it starts.
            if clock.spent_now() {
                finished = false;
                break;
            }
            // A single search for all of these (`MatchKind::All`, overlapping) was tried: five
            // times slower than one search each. Each is a search of the whole layer, so the
            // clock is read before every one.
            for &i in &self.always {
                if clock.spent_now() {
                    finished = false;
                    break 'layers;
                }
                if !found.has(i)
                    && let Some(m) = self.each[i].search(&Input::new(text))
                {
                    found.add(i, li, &text[m.range()]);
                }
            }
            // Every match of the other patterns starts where one of their start literals
            // does: each is tried anchored there, which costs the length of a match, not of
            // the text. A pattern with needed literals is searched once in a text that has
            // one of them.
            let mut searched = [false; MAX_PATTERNS];
            for lit in self.literals.find_overlapping_iter(text) {
                for &role in &self.roles[lit.pattern().as_usize()] {
                    let (i, at) = match role {
                        Role::Starts(i) => (
                            i,
                            Input::new(text)
                                .range(lit.start()..span_end(text, lit.start()))
                                .anchored(Anchored::Yes),
                        ),
                        Role::Needed(i) => match searched.get_mut(i) {
                            // Searched in this layer already: once is enough.
                            Some(done) if !*done => {
                                *done = true;
                                (i, Input::new(text))
                            }
                            _ => continue,
                        },
                    };
                    if found.has(i) {
                        continue;
                    }
                    if clock.spent_after_attempt() {
                        finished = false;
                        break 'layers;
                    }
                    if let Some(m) = self.each[i].search(&at) {
                        found.add(i, li, &text[m.range()]);
                    }
                }
            }
        }
        Scan {
            hits: found.into_hits(),
            finished,
        }
    }
}

/// The patterns a scan found: which (one bit each) and, in the order found, the first
/// layer and match of each.
#[derive(Default)]
struct Found<'a> {
    seen: [u64; MAX_PATTERNS / 64],
    each: Vec<(usize, usize, &'a str)>,
}

impl<'a> Found<'a> {
    fn has(&self, i: usize) -> bool {
        self.seen
            .get(i / 64)
            .is_some_and(|w| w >> (i % 64) & 1 == 1)
    }

    fn add(&mut self, i: usize, layer: usize, matched: &'a str) {
        if let Some(w) = self.seen.get_mut(i / 64) {
            *w |= 1 << (i % 64);
            self.each.push((i, layer, matched));
        }
    }

    /// The hits, in table order.
    fn into_hits(self) -> Vec<Hit> {
        let mut found = self.each;
        found.sort_unstable_by_key(|&(i, _, _)| i);
        found
            .into_iter()
            .filter_map(|(i, layer, matched)| {
                let p = PATTERNS.get(i)?;
                Some(Hit {
                    id: p.id,
                    name: p.name,
                    attack: p.attack,
                    weight: p.weight,
                    evidence: excerpt(matched),
                    layer,
                })
            })
            .collect()
    }
}

/// The scan's time budget, read from the clock only every [`ATTEMPTS_PER_CLOCK_READ`]
/// anchored attempts.
struct Clock {
    deadline: std::time::Instant,
    attempts: u32,
}

impl Clock {
    fn until(deadline: std::time::Instant) -> Clock {
        Clock {
            deadline,
            attempts: 0,
        }
    }

    fn spent_now(&self) -> bool {
        std::time::Instant::now() >= self.deadline
    }

    fn spent_after_attempt(&mut self) -> bool {
        self.attempts = self.attempts.wrapping_add(1);
        self.attempts.is_multiple_of(ATTEMPTS_PER_CLOCK_READ) && self.spent_now()
    }
}

impl Default for Signatures {
    fn default() -> Self {
        Self::new()
    }
}

fn case_insensitive() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new().case_insensitive(true)
}

fn limits() -> meta::Config {
    meta::Config::new()
        .nfa_size_limit(Some(1 << 24))
        .hybrid_cache_capacity(2 << 20)
}

/// Where an anchored attempt from `start` stops looking: [`MAX_ANCHORED_SPAN`] on, at a
/// character boundary.
fn span_end(text: &str, start: usize) -> usize {
    let mut end = text.len().min(start.saturating_add(MAX_ANCHORED_SPAN));
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

fn excerpt(s: &str) -> String {
    let s = s.trim();
    if s.len() <= MAX_EVIDENCE {
        return s.to_string();
    }
    let mut end = MAX_EVIDENCE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The signature view's score, 0–1: independent evidence compounds (noisy-or of the weights).
pub fn combined_weight(hits: &[Hit]) -> f32 {
    1.0 - hits.iter().fold(1.0f32, |acc, h| acc * (1.0 - h.weight))
}

#[cfg(test)]
#[path = "signatures_tests.rs"]
mod tests;
