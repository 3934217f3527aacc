// The unified alert every detector produces (an alert record's `alert`): who or what it is
// about, which detector raised it, the events it rests on, the entities it names, its
// ATT&CK ids and, for a network-flow model, the model's verdict. Read defensively: listings
// may leave the body out (`alert: null`) and any field may be missing.

import {
  h, time, humanize, pct, card, facts, empty, tableWrap, userLink,
} from '../dom.js';
import { meter } from '../charts.js';
import { logEventGroups, attackLabel } from './logevent.js';

/** Fields of an event shown inline in its evidence row (the rest are in its JSON). */
const INLINE_FIELDS = 8;
/** An activity's fields that its evidence row already shows (reference, time). */
const SHOWN_IN_ROW = new Set(['event_id', 'timestamp']);

const DETECTORS = {
  ueba: 'Behaviour (UEBA)',
  sigma: 'Sigma rule',
  flow: 'Network model',
  model: 'Model',
  graph: 'Entity graph',
  payload: 'Payload analysis',
};

const ENTITY_KINDS = { user: 'User', host: 'Host', ip: 'IP', process: 'Process' };

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : null);
const text = (v) => (typeof v === 'string' && v ? v : null);
const baseName = (p) => String(p || '').split(/[\\/]/).pop();

// ---- reading the record -------------------------------------------------------------

/** The unified alert of a record; null when the listing left it out or it is no object. */
export function bodyOf(a) {
  return obj(a && a.alert);
}

/** The detector family (`ueba`, `sigma`, `flow` …): the record's column, else the body's; '' when unknown. */
export function detectorOf(a) {
  if (a && text(a.detector)) return a.detector;
  const d = obj(bodyOf(a) && bodyOf(a).detector);
  return (d && text(d.kind)) || '';
}

/** Which detector of its family: the rule id, the model's label ('' when unknown). */
function detectorIdOf(a) {
  const d = obj(bodyOf(a) && bodyOf(a).detector);
  return (d && text(d.id)) || '';
}

/** What only the detector knows: `detail.ueba` (the ThreatScore), `.sigma` or `.flow`; null when absent. */
export function detailOf(a, kind) {
  const d = obj(bodyOf(a) && bodyOf(a).detail);
  return d ? obj(d[kind]) : null;
}

/** The evidence entries, as stored: the trigger first, then the context, oldest first. */
export function evidenceOf(a) {
  const b = bodyOf(a);
  return b && Array.isArray(b.evidence) ? b.evidence.filter(obj) : [];
}

export function entitiesOf(a) {
  const b = bodyOf(a);
  return b && Array.isArray(b.entities) ? b.entities.filter((e) => obj(e) && text(e.kind) && text(e.value)) : [];
}

export function attackOf(a) {
  const b = bodyOf(a);
  return b && Array.isArray(b.attack) ? [...new Set(b.attack.filter(text))] : [];
}

/** A flow alert's trigger event: `{line, flow}`, the raw flow line. */
export function isFlowLine(ev) {
  return !!obj(ev) && typeof ev.flow === 'string' && Object.keys(ev).every((k) => k === 'flow' || k === 'line');
}

// ---- the subject ----------------------------------------------------------------------

/** Whether a bare subject reads as a user id: not `host:NAME`, `flow:…` or an IP address. */
function looksLikeUser(s) {
  const t = String(s || '');
  if (!t || /^(host|flow):/i.test(t)) return false;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(t)) return false;
  return !((t.match(/:/g) || []).length >= 2 && /^[0-9a-f:.]+(%\S+)?$/i.test(t));
}

/**
 * Whether an alert's subject is a user, so that a user page exists for it: a behavioural
 * alert's always is; another detector's is when the alert names that user as an entity (a
 * Sigma alert on a host, a flow's IP are not). Without the body (a listing, a stream
 * message) only the subject's form is left to judge by.
 */
export function subjectIsUser(a) {
  const subject = a && text(a.user_id);
  if (!subject) return false;
  if (detectorOf(a) === 'ueba') return true;
  const b = bodyOf(a);
  if (b && Array.isArray(b.entities)) {
    // Rule alerts stored before entities were kept read back with their subject as the user,
    // also when it is `host:NAME`.
    return !/^host:/i.test(subject) && entitiesOf(a).some((e) => e.kind === 'user' && e.value === subject);
  }
  return looksLikeUser(subject);
}

/** An alert's subject: a link to the user's page when it is a user, else plain text. */
export function subjectLink(a, attrs = {}) {
  if (subjectIsUser(a)) return userLink(a.user_id, attrs);
  return h('span', { class: 'subject', ...attrs }, (a && a.user_id) || '—');
}

/** A subject known only by its name (incidents, top entities): judged by its form. */
export function subjectName(subject, attrs = {}) {
  return looksLikeUser(subject) ? userLink(subject, attrs) : h('span', { class: 'subject', ...attrs }, subject || '—');
}

// ---- small parts ----------------------------------------------------------------------

/** The detector as a chip for the score panel: its family, and which one when it says more. */
export function detectorChip(a) {
  const kind = detectorOf(a);
  if (!kind) return null;
  const id = detectorIdOf(a);
  return h('span', { class: 'chip chip-small chip-detector', testid: 'detector', 'data-kind': kind, title: `Detector: ${kind}${id ? ` / ${id}` : ''}` },
    DETECTORS[kind] || humanize(kind),
    id && id !== kind ? h('span', { class: 'mono detector-id' }, baseName(id)) : null);
}

/** The ATT&CK techniques and tactics the alert names, as chips; null when none. */
export function attackList(a) {
  const ids = attackOf(a);
  if (!ids.length) return null;
  return h('div', { class: 'attack-ids' },
    h('h3', null, 'MITRE ATT&CK'),
    h('ul', { class: 'tag-list', testid: 'attack' }, ids.map((id) => h('li', {
      class: 'chip chip-attack', testid: 'attack-chip', 'data-attack': id, title: id,
    }, attackLabel(id)))));
}

/** An evidence reference in words: "event ex000602", "record 35579 on WS1", "line 12 of request", "connection CmES5u32sYpV7JYN", "hash 1a2b3c4d…". */
export function referenceText(r) {
  const ref = obj(r);
  if (!ref) return 'no reference';
  switch (ref.ref) {
    case 'event_id': return `event ${ref.event_id}`;
    case 'record': return `record ${ref.record_id}${ref.computer ? ` on ${ref.computer}` : ''}`;
    case 'line': return `line ${ref.line} of ${ref.source}`;
    case 'connection': return `connection ${ref.uid}`;
    case 'hash': {
      const hash = String(ref.hash || '');
      return `hash ${hash.length > 8 ? `${hash.slice(0, 8)}…` : hash}`;
    }
    default: return JSON.stringify(ref);
  }
}

/** A scalar as text (objects as JSON). */
function valueText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * An evidence event, compact: the flow line, or the first fields with the rest in its JSON.
 * An activity's own id and time are left out of the inline fields: the row shows them.
 */
function evidenceEvent(ev) {
  if (ev === null || ev === undefined) return h('span', { class: 'muted' }, 'not kept with the alert');
  if (isFlowLine(ev)) return h('code', { class: 'evidence-flow', testid: 'evidence-flow' }, ev.flow);
  if (!obj(ev)) return h('code', null, valueText(ev));
  const fields = logEventGroups(ev).flatMap((g) => g.fields);
  const shown = fields.filter(({ path }) => !(path.length === 1 && SHOWN_IN_ROW.has(path[0]))).slice(0, INLINE_FIELDS);
  return h('div', { class: 'evidence-event' },
    shown.length ? h('ul', { class: 'evidence-fields' }, shown.map(({ path, value }) => h('li', null,
      h('span', { class: 'evidence-key', title: path.join(' › ') }, path[path.length - 1] || '—'),
      h('span', { class: 'mono' }, valueText(value))))) : h('span', { class: 'muted' }, 'no fields'),
    h('details', { class: 'raw-json' },
      h('summary', null, fields.length > shown.length ? `All ${fields.length} fields as JSON` : 'As JSON'),
      h('pre', { class: 'mono' }, JSON.stringify(ev, null, 2))));
}

// ---- cards ----------------------------------------------------------------------------

/** The events the alert rests on: the trigger, then the context, with where to find each again. */
export function evidenceCard(a) {
  const list = evidenceOf(a);
  const body = list.length
    ? tableWrap(h('table', { class: 'table compact rows-narrow evidence-table', testid: 'evidence-table' },
      h('thead', null, h('tr', null, ['Role', 'Reference', 'Time (UTC)', 'Event'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.map((e) => {
        const ref = obj(e.reference);
        return h('tr', { testid: 'evidence-row', 'data-role': text(e.role) || '' },
          h('td', null, h('span', { class: ['badge', e.role === 'trigger' ? 'badge-bad' : 'badge-neutral'] }, humanize(e.role || 'unknown'))),
          h('td', null, h('span', {
            class: 'mono evidence-ref', testid: 'evidence-ref', 'data-ref': (ref && text(ref.ref)) || '',
            title: ref && ref.ref === 'hash' ? String(ref.hash) : null,
          }, referenceText(ref))),
          h('td', { class: 'nowrap' }, e.timestamp ? time(e.timestamp) : '—'),
          h('td', { class: 'evidence-cell' }, evidenceEvent(e.event)));
      }))), 'Evidence')
    : empty(bodyOf(a) ? 'No evidence recorded with this alert.' : 'This alert\u2019s body could not be read.');
  return card(`Evidence (${list.length})`, body, { testid: 'evidence', className: 'span-2' });
}

/** One entity as a chip; a user's links to their page. */
function entityChip(e) {
  let value;
  if (e.kind === 'user') value = userLink(e.value);
  else if (e.kind === 'process') value = h('span', { class: 'mono', title: e.value }, baseName(e.value));
  else value = h('span', { class: e.kind === 'ip' ? 'mono' : null }, e.value);
  return h('li', { class: 'chip entity-chip', testid: 'entity-chip', 'data-kind': e.kind, 'data-value': e.value },
    h('span', { class: 'entity-kind' }, ENTITY_KINDS[e.kind] || humanize(e.kind)), value);
}

export function entitiesCard(a) {
  const list = entitiesOf(a);
  return card('Entities', list.length
    ? h('ul', { class: 'tag-list entity-list' }, list.map(entityChip))
    : empty('No entity named.'), { testid: 'entities' });
}

/** A feature's value: whole numbers as they are, others to four significant digits. */
function featureValue(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return valueText(v) || '—';
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}

/** A network-flow model's verdict (`detail.flow`): the model, the score against its threshold, the features that weighed most. */
export function flowCard(f) {
  const n3 = (x) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(3) : '—');
  const above = typeof f.score === 'number' && typeof f.threshold === 'number' && f.score >= f.threshold;
  const features = Array.isArray(f.top_features) ? f.top_features.filter(obj) : [];
  const pc = Array.isArray(f.predicted_class) && f.predicted_class.length === 2 ? f.predicted_class : null;
  return card('Network model', h('div', null,
    facts([
      ['Model', text(f.model) ? h('span', { class: 'mono', title: f.model }, baseName(f.model)) : null, 'flow-model'],
      ['Model kind', text(f.model_kind) ? humanize(f.model_kind) : null],
      ['Flow format', text(f.format)],
      ['Score', h('span', { class: 'flow-score' },
        `${n3(f.score)} against the threshold ${n3(f.threshold)}`,
        above ? h('span', { class: 'badge badge-flag' }, 'above') : null), 'flow-score'],
      pc ? ['Predicted class', `${valueText(pc[0])} (${pct(pc[1])})`, 'flow-class'] : null,
    ], 'flow-facts'),
    features.length
      ? tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'flow-features' },
        h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Feature'), h('th', { scope: 'col' }, 'Share'), h('th', { scope: 'col', class: 'num' }, 'Value'))),
        h('tbody', null, features.map((x) => h('tr', { testid: 'flow-feature-row', 'data-feature': valueText(x.feature) },
          h('td', { class: 'strong mono' }, valueText(x.feature)),
          h('td', { class: 'meter-cell nowrap' }, meter(typeof x.share === 'number' ? x.share : 0, 1, 'meter-fill meter-accent', 72), h('span', { class: 'num' }, pct(x.share))),
          h('td', { class: 'num mono' }, featureValue(x.value)))))), 'The features that weighed most')
      : h('p', { class: 'muted small' }, 'The model named no feature.')), { testid: 'flow-card' });
}
