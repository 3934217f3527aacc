// Alerts raised by detection rules on log events (detector sigma, anomaly type rule_match):
// the rule that matched, as the engine reported it (the alert's detail.sigma), and the raw
// log event (Sysmon, Windows Security, ECS …) as a readable field list with the matched
// fields marked.

import * as api from '../api.js';
import {
  h, replace, time, humanize, card, facts, levelBadge, notice, empty, tableWrap,
} from '../dom.js';

/** Most fields listed for one event. */
const MAX_FIELDS = 300;

/**
 * The detection as the engine produced it: the alert's `alert.detail.sigma`: {rule_id,
 * rule_title, level, tags, computer, channel, event_id, record_id, file, details: {field:
 * value}, correlation}. Null when the alert has none, or an empty one (rule alerts stored
 * before the server kept the detection read back with neither id nor title): their
 * explanation is free text written from values an attacker can influence (a host name, a
 * field's value), so nothing is read out of it.
 */
export function ruleOf(a) {
  const detail = a && a.alert && a.alert.detail;
  const r = detail && typeof detail === 'object' ? detail.sigma : null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) return null;
  const text = (v) => (typeof v === 'string' && v.trim() ? v : null);
  if (!text(r.rule_id) && !text(r.rule_title)) return null;
  const scalar = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : text(v));
  const details = r.details && typeof r.details === 'object' && !Array.isArray(r.details) ? r.details : {};
  return {
    id: text(r.rule_id),
    title: text(r.rule_title),
    level: text(r.level),
    tags: Array.isArray(r.tags) ? r.tags.filter((t) => typeof t === 'string' && t) : [],
    computer: text(r.computer),
    channel: text(r.channel),
    eventId: scalar(r.event_id),
    recordId: scalar(r.record_id),
    file: text(r.file),
    details: Object.entries(details).filter(([k]) => k),
    correlation: r.correlation === true,
  };
}

export function isRuleAlert(a) {
  return a.detector === 'sigma' || (a.primary_anomalies || []).includes('rule_match');
}

/**
 * "attack.t1490" or "t1490" → "T1490", "attack.defense-evasion" or "defense_evasion" →
 * "Defense evasion"; others as they are.
 */
export function attackLabel(tag) {
  const t = String(tag).replace(/^attack\./i, '');
  if (/^t\d{4}(\.\d{3})?$/i.test(t)) return t.toUpperCase();
  if (/^[gs]\d{4}$/i.test(t)) return t.toUpperCase();
  return humanize(t.replace(/-/g, ' '));
}

const baseName = (p) => String(p || '').split(/[\\/]/).pop();

/** A detail's value as text (the engine gives strings; numbers and others as JSON). */
function valueText(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'string' ? v : (typeof v === 'object' ? JSON.stringify(v) : String(v));
}

/** The rule card's content: what the detection says, completed by the loaded rule if any. */
function ruleBody(rule, loaded) {
  const attackTags = rule.tags.filter((t) => /^attack\./i.test(t));
  const otherTags = rule.tags.filter((t) => !/^attack\./i.test(t));
  const file = rule.file || (loaded && typeof loaded.file === 'string' ? loaded.file : null);
  const ls = loaded && loaded.logsource
    ? [loaded.logsource.product, loaded.logsource.category, loaded.logsource.service].filter(Boolean).join(' / ')
    : null;
  return h('div', { class: 'rule-card' },
    h('p', { class: 'rule-title' },
      h('span', { testid: 'rule-title' }, rule.title || rule.id || 'Detection rule'),
      rule.level ? levelBadge(rule.level.toUpperCase(), 'rule-level') : null,
      rule.correlation ? h('span', { class: 'chip chip-small', testid: 'rule-correlation' }, 'correlation') : null),
    facts([
      ['Rule id', rule.id ? h('code', null, rule.id) : null],
      ['Host', rule.computer],
      ['Channel', rule.channel],
      ['Event id', rule.eventId === null ? null : String(rule.eventId)],
      ['Record', rule.recordId === null ? null : String(rule.recordId)],
      ['Log source', ls],
      ['Status', loaded && loaded.status],
      ['File', file ? h('span', { class: 'mono', title: file }, baseName(file)) : null],
    ].filter(([, v]) => v), 'rule-facts'),
    attackTags.length ? h('div', { class: 'rule-attack' },
      h('h3', null, 'MITRE ATT&CK'),
      h('ul', { class: 'tag-list', testid: 'rule-attack' }, attackTags.map((t) => h('li', { class: 'chip chip-attack', title: t }, attackLabel(t))))) : null,
    otherTags.length ? h('ul', { class: 'tag-list' }, otherTags.map((t) => h('li', { class: 'chip' }, t))) : null,
    rule.details.length ? h('div', { class: 'rule-details' },
      h('h3', null, rule.correlation ? 'Grouped by, and the count' : 'What matched'),
      tableWrap(h('table', { class: 'table compact log-fields', testid: 'rule-details' },
        h('thead', { class: 'visually-hidden' }, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', null, rule.details.map(([k, v]) => h('tr', { testid: 'rule-detail', 'data-field': k },
          h('th', { scope: 'row', class: 'log-key' }, k),
          h('td', { class: 'log-value mono' }, valueText(v)))))), 'The fields the rule matched')) : null,
    rule.id ? h('p', { class: 'small rule-link' }, h('a', { href: `#/system?q=${encodeURIComponent(rule.id)}` }, 'This rule among the loaded rules →')) : null);
}

/**
 * The rule that raised the alert. With `detail.sigma`: the detection as the engine reported
 * it, completed from GET /v1/rules (log source, status, file) when the rule is still
 * loaded. Without it (an older alert): the explanation's text as it is, nothing derived.
 */
export function ruleCard(ctx, a) {
  const rule = ruleOf(a);
  if (!rule) {
    const body = (a.alert && typeof a.alert === 'object') ? a.alert : {};
    const an = (Array.isArray(body.anomalies) ? body.anomalies : []).find((x) => x && x.type === 'rule_match');
    const text = (an && an.detail) || a.explanation || body.explanation || '';
    return card('Detection rule', h('div', { class: 'rule-card' },
      text ? h('p', { class: 'rule-detail-text', testid: 'rule-detail-text' }, text) : null,
      notice('This alert was stored before alerts kept their detection as data: the rule is described by the text above only.', 'info', 'rule-unstructured')),
    { testid: 'rule-card' });
  }
  const body = h('div', null, ruleBody(rule, null));
  const box = card('Detection rule', body, { testid: 'rule-card' });
  if (rule.id) {
    (async () => {
      try {
        const res = await api.get('v1/rules', { q: rule.id, limit: 10 }, { signal: ctx.signal, quiet401: false });
        const loaded = (res.rules || []).find((r) => r.id === rule.id) || null;
        replace(body, ruleBody(rule, loaded), loaded ? null : notice('This rule is no longer loaded on the server.', 'info', 'rule-gone'));
      } catch {
        // Aborted, rules not configured (503) or not reachable: what the alert says is enough.
      }
    })();
  }
  return box;
}

// ---- the log event --------------------------------------------------------------------

/** Flattens nested objects to [{path: [...], value}]; XML-style "#attributes" merge into their element. */
function flatten(v, path, out) {
  if (out.length >= MAX_FIELDS) return;
  if (v === null || v === undefined || v === '') return;
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== 'object')) {
      out.push({ path, value: v.filter((x) => x !== null).join(', ') });
    } else {
      v.forEach((x, i) => flatten(x, [...path, `[${i + 1}]`], out));
    }
    return;
  }
  if (typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
      if (k === '#attributes' || k === '#text') flatten(x, path, out);
      else flatten(x, [...path, k], out);
    }
    return;
  }
  out.push({ path, value: v });
}

/** The event's fields in groups: event data first, then the system part, then the rest. */
export function logEventGroups(ev) {
  let root = ev;
  if (root && typeof root === 'object' && root.Event && typeof root.Event === 'object' && Object.keys(root).length === 1) root = root.Event;
  const groups = [];
  const dataKeys = ['EventData', 'UserData'];
  const rest = {};
  for (const [k, v] of Object.entries(root || {})) {
    if (dataKeys.includes(k) || k === 'System') continue;
    rest[k] = v;
  }
  for (const k of dataKeys) {
    if (root && root[k] && typeof root[k] === 'object') {
      const out = [];
      flatten(root[k], [], out);
      if (out.length) groups.push({ name: k === 'EventData' ? 'Event data' : 'User data', fields: out });
    }
  }
  if (root && root.System && typeof root.System === 'object') {
    const out = [];
    flatten(root.System, [], out);
    if (out.length) groups.push({ name: 'System', fields: out });
  }
  const out = [];
  flatten(rest, [], out);
  if (out.length) groups.push({ name: groups.length ? 'Other fields' : 'Fields', fields: out });
  return groups;
}

/** A one-line summary of a Windows event: provider, EventID, computer, channel, record, time. */
function summaryOf(ev) {
  const sys = ev && ev.Event && ev.Event.System;
  if (!sys || typeof sys !== 'object') return null;
  const attr = (o, k) => (o && typeof o === 'object' ? (o['#attributes'] && o['#attributes'][k]) ?? o[k] : null);
  const eventId = typeof sys.EventID === 'object' && sys.EventID ? sys.EventID['#text'] : sys.EventID;
  return {
    provider: attr(sys.Provider, 'Name'),
    eventId,
    computer: sys.Computer,
    channel: sys.Channel,
    record: sys.EventRecordID,
    at: attr(sys.TimeCreated, 'SystemTime'),
  };
}

/**
 * Whether a field of the event is one the rule matched: its name (the last part of its
 * path, or the whole path) and value are among the detection's `details`.
 */
function matcherOf(rule) {
  const want = new Map();
  for (const [k, v] of (rule ? rule.details : [])) {
    const key = k.toLowerCase();
    if (!want.has(key)) want.set(key, new Set());
    want.get(key).add(valueText(v));
  }
  return (path, value) => {
    if (!want.size) return false;
    const text = valueText(value);
    return [path[path.length - 1] || '', path.join('.')].some((k) => {
      const vals = want.get(k.toLowerCase());
      return !!vals && vals.has(text);
    });
  };
}

/** The event's fields; `rule` (ruleOf) marks the fields it matched. */
export function logEventCard(ev, rule) {
  const groups = logEventGroups(ev);
  const matched = matcherOf(rule);
  const sum = summaryOf(ev);
  const count = groups.reduce((n, g) => n + g.fields.length, 0);
  const json = JSON.stringify(ev, null, 2);
  return card('Log event', h('div', null,
    sum ? h('p', { class: 'log-summary', testid: 'log-summary' },
      h('strong', null, [sum.provider, sum.eventId !== undefined && sum.eventId !== null ? `event ${sum.eventId}` : null].filter(Boolean).join(', ') || 'Event'),
      sum.computer ? [' on ', h('strong', null, String(sum.computer))] : null,
      sum.channel ? h('span', { class: 'muted' }, ` · ${sum.channel}`) : null,
      sum.record !== undefined && sum.record !== null ? h('span', { class: 'muted' }, ` · record ${sum.record}`) : null,
      sum.at ? h('span', { class: 'muted' }, ` · ${time(sum.at)} UTC`) : null) : null,
    groups.length ? h('div', { class: 'log-groups' }, groups.map((g) => h('section', { class: 'log-group' },
      h('h3', null, g.name),
      tableWrap(h('table', { class: 'table compact log-fields', testid: 'log-fields' },
        h('thead', { class: 'visually-hidden' }, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', null, g.fields.map(({ path, value }) => {
          const hit = matched(path, value);
          return h('tr', { class: hit ? 'field-matched' : null, testid: 'log-field', 'data-field': path.join('.') },
            h('th', { scope: 'row', class: 'log-key' }, path.join(' › '), hit ? h('span', { class: 'chip chip-small chip-match', title: 'A field the rule matched' }, 'matched') : null),
            h('td', { class: 'log-value mono' }, String(value)));
        }))), `${g.name} fields`)))) : empty('The event has no fields.'),
    h('details', { class: 'raw-json' },
      h('summary', null, `The event as JSON (${count} field${count === 1 ? '' : 's'})`),
      h('pre', { class: 'mono', testid: 'log-json' }, json))), { testid: 'log-event', className: 'span-2' });
}
