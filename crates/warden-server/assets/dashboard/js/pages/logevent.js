// Alerts raised by detection rules on log events (anomaly type rule_match): the rule that
// matched, and the raw log event (Sysmon, Windows Security, ECS …) as a readable field list.

import * as api from '../api.js';
import {
  h, replace, time, humanize, card, facts, levelBadge, loading, notice, empty, tableWrap,
} from '../dom.js';

/** Most fields listed for one event. */
const MAX_FIELDS = 300;

/** What the alert says about its rule: from the anomaly's detail and the event id. */
export function ruleHints(a) {
  const sc = (a && a.score) || {};
  const an = (Array.isArray(sc.anomalies) ? sc.anomalies : []).find((x) => x && x.type === 'rule_match');
  const detail = (an && an.detail) || a.explanation || sc.explanation || '';
  const m = /Sigma rule "(.+?)" \(([^,()]+), level ([a-z]+)\)/i.exec(detail);
  const fromId = /^sigma:([^:]+):/.exec(a.event_id || '');
  const host = /matched on (.+?) \(/.exec(detail);
  const attack = /ATT&CK ([^;]+?)\.?$/.exec(detail.trim());
  return {
    title: m ? m[1] : null,
    id: (m && m[2]) || (fromId && fromId[1]) || null,
    level: m ? m[3] : null,
    host: host ? host[1] : null,
    attack: attack ? attack[1].split(',').map((t) => t.trim()).filter(Boolean) : [],
    detail,
  };
}

export function isRuleAlert(a) {
  return (a.primary_anomalies || []).includes('rule_match');
}

/** "attack.t1490" → "T1490", "attack.defense-evasion" → "Defense evasion"; others as they are. */
function attackLabel(tag) {
  const t = String(tag).replace(/^attack\./i, '');
  if (/^t\d{4}(\.\d{3})?$/i.test(t)) return t.toUpperCase();
  if (/^[gs]\d{4}$/i.test(t)) return t.toUpperCase();
  return humanize(t.replace(/-/g, ' '));
}

const baseName = (p) => String(p || '').split(/[\\/]/).pop();

function ruleBody(hints, rule) {
  const title = (rule && rule.title) || hints.title || 'Detection rule';
  const level = (rule && rule.level) || hints.level;
  const tags = rule ? (rule.tags || []) : hints.attack.map((t) => `attack.${t}`);
  const attackTags = tags.filter((t) => /^attack\./i.test(t));
  const otherTags = tags.filter((t) => !/^attack\./i.test(t));
  const ls = rule && rule.logsource ? [rule.logsource.product, rule.logsource.category, rule.logsource.service].filter(Boolean).join(' / ') : null;
  return h('div', { class: 'rule-card' },
    h('p', { class: 'rule-title' },
      h('span', { testid: 'rule-title' }, title),
      level ? levelBadge(String(level).toUpperCase()) : null,
      rule && rule.correlation ? h('span', { class: 'chip chip-small' }, 'correlation') : null),
    facts([
      ['Rule id', hints.id || (rule && rule.id) ? h('code', null, hints.id || rule.id) : null],
      ['Host', hints.host],
      ['Log source', ls],
      ['Status', rule && rule.status],
      ['File', rule && rule.file ? h('span', { class: 'mono', title: rule.file }, baseName(rule.file)) : null],
    ].filter(([, v]) => v), 'rule-facts'),
    attackTags.length ? h('div', { class: 'rule-attack' },
      h('h3', null, 'MITRE ATT&CK'),
      h('ul', { class: 'tag-list', testid: 'rule-attack' }, attackTags.map((t) => h('li', { class: 'chip chip-attack', title: t }, attackLabel(t))))) : null,
    otherTags.length ? h('ul', { class: 'tag-list' }, otherTags.map((t) => h('li', { class: 'chip' }, t))) : null,
    hints.id ? h('p', { class: 'small rule-link' }, h('a', { href: `#/system?q=${encodeURIComponent(hints.id)}` }, 'This rule among the loaded rules →')) : null);
}

/** The rule that raised the alert, completed from GET /v1/rules when the server has it. */
export function ruleCard(ctx, a) {
  const hints = ruleHints(a);
  const body = h('div', null, hints.title ? ruleBody(hints, null) : loading('Loading the rule…'));
  const box = card('Detection rule', body, { testid: 'rule-card' });
  if (hints.id) {
    (async () => {
      try {
        const res = await api.get('v1/rules', { q: hints.id, limit: 10 }, { signal: ctx.signal, quiet401: false });
        const rule = (res.rules || []).find((r) => r.id === hints.id) || null;
        replace(body, ruleBody(hints, rule), rule ? null : notice('This rule is no longer loaded on the server.', 'info', 'rule-gone'));
      } catch (e) {
        if (api.isAbort(e)) return;
        // Rules not configured (503) or not reachable: what the alert says is enough.
        replace(body, hints.title ? ruleBody(hints, null) : empty('The rule is not named in this alert.'));
      }
    })();
  } else if (!hints.title) {
    replace(body, empty('The rule is not named in this alert.'));
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

export function logEventCard(ev, hints) {
  const groups = logEventGroups(ev);
  const matched = (key, value) => {
    const d = hints.detail || '';
    return !!d && (d.includes(`${key}=${value}`) || d.includes(`${key}: ${value}`));
  };
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
          const key = path[path.length - 1] || '';
          const hit = matched(key, value);
          return h('tr', { class: hit ? 'field-matched' : null, testid: 'log-field', 'data-field': path.join('.') },
            h('th', { scope: 'row', class: 'log-key' }, path.join(' › '), hit ? h('span', { class: 'chip chip-small chip-match', title: 'A field the rule matched' }, 'matched') : null),
            h('td', { class: 'log-value mono' }, String(value)));
        }))), `${g.name} fields`)))) : empty('The event has no fields.'),
    h('details', { class: 'raw-json' },
      h('summary', null, `The event as JSON (${count} field${count === 1 ? '' : 's'})`),
      h('pre', { class: 'mono', testid: 'log-json' }, json))), { testid: 'log-event', className: 'span-2' });
}
