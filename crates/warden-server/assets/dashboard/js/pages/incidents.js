// Incidents: alerts grouped per user and time window (computed by the server), most
// recent first, with their status.

import * as api from '../api.js';
import {
  h, replace, num, score, time, humanize, levelBadge, statusBadge, STATUSES, loading, empty, errorBox,
  tableWrap, duration, parseTime, notice,
} from '../dom.js';
import { subjectName } from './evidence.js';

export const WINDOWS = [[900, '15 minutes'], [3600, '1 hour'], [4 * 3600, '4 hours'], [86400, '24 hours'], [7 * 86400, '7 days']];
const LIMITS = [50, 100, 250, 1000];

export function windowOf(query) {
  const w = Number(query.get('window'));
  return WINDOWS.some(([s]) => s === w) ? w : 3600;
}

export async function render(main, ctx) {
  const { query, signal } = ctx;
  const status = STATUSES.includes(query.get('status')) ? query.get('status') : '';
  const win = windowOf(query);
  const limit = LIMITS.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : 100;
  const go = (over) => ctx.navigate('/incidents', { status, window: win === 3600 ? null : win, limit: limit === 100 ? null : limit, ...over });

  // The filters apply with the button (or Enter), not on each change: stepping through a
  // select with the keyboard must not reload the page at every step.
  const statusSel = h('select', { id: 'i-status', name: 'status', testid: 'incident-filter-status' },
    h('option', { value: '', selected: !status }, 'Any status'),
    STATUSES.map((st) => h('option', { value: st, selected: st === status }, humanize(st))));
  const winSel = h('select', { id: 'i-window', name: 'window', testid: 'incident-filter-window' },
    WINDOWS.map(([s, label]) => h('option', { value: String(s), selected: s === win }, label)));
  const limitSel = h('select', { id: 'i-limit', name: 'limit', testid: 'incident-filter-limit' },
    LIMITS.map((n) => h('option', { value: String(n), selected: n === limit }, String(n))));
  const filters = h('form', { class: 'filters', method: 'get', 'aria-label': 'Filter incidents', testid: 'incident-filters' },
    h('div', { class: 'field' }, h('label', { for: 'i-status' }, 'Status'), statusSel),
    h('div', { class: 'field' }, h('label', { for: 'i-window' }, 'Group alerts within'), winSel),
    h('div', { class: 'field' }, h('label', { for: 'i-limit' }, 'Show'), limitSel),
    h('div', { class: 'field field-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'incident-filter-apply' }, 'Apply')));
  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const w = Number(winSel.value);
    const n = Number(limitSel.value);
    go({ status: statusSel.value, window: w === 3600 ? null : w, limit: n === 100 ? null : n });
  });
  const body = h('div', null, loading('Loading incidents…'));
  replace(main, h('div', { class: 'page page-incidents' },
    h('div', { class: 'page-head' }, h('div', null,
      h('h1', { tabindex: '-1' }, 'Incidents'),
      h('p', { class: 'muted' }, 'A user\u2019s alerts grouped together while they come within the window of each other. Changing an incident\u2019s status changes all its alerts.'))),
    filters, body));

  let res;
  try {
    res = await api.get('v1/incidents', { status, window: win, limit }, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    replace(body, errorBox(e, () => go({})));
    return;
  }
  const list = res.incidents || [];
  if (!list.length) {
    replace(body, empty(status ? `No ${humanize(status).toLowerCase()} incident.` : 'No incidents yet.', 'Incidents form as alerts are stored.'));
    return;
  }
  const wq = win === 3600 ? '' : `?window=${win}`;
  const table = h('table', { class: 'table incidents-table rows-narrow', testid: 'incidents-table' },
    h('caption', { class: 'visually-hidden' }, 'Incidents, most recent first'),
    h('thead', null, h('tr', null, ['Incident', 'User', 'Level', 'Top score', 'Alerts', 'Anomaly types', 'First seen (UTC)', 'Span', 'Status'].map((c, i) => h('th', { scope: 'col', class: [0, 3, 4].includes(i) ? 'num' : null }, c)))),
    h('tbody', null, list.map((inc) => {
      const span = (parseTime(inc.last_seen) - parseTime(inc.first_seen)) / 1000;
      return h('tr', { testid: 'incident-row', 'data-incident-id': String(inc.id) },
        h('td', { class: 'num' }, h('a', { href: `#/incidents/${inc.id}${wq}`, testid: 'incident-link' }, `#${inc.id}`)),
        h('td', null, subjectName(inc.user_id)),
        h('td', null, levelBadge(inc.max_level)),
        h('td', { class: 'num strong' }, score(inc.max_score)),
        h('td', { class: 'num' }, num(inc.alerts)),
        h('td', { class: 'types' }, (inc.anomaly_types || []).map(humanize).join(', ')),
        h('td', { class: 'nowrap' }, time(inc.first_seen, { seconds: false })),
        h('td', { class: 'nowrap' }, Number.isFinite(span) ? duration(span) : '—'),
        h('td', null, statusBadge(inc.status)));
    })));
  replace(body,
    tableWrap(table, 'Incidents table'),
    res.total > list.length
      ? notice(`Showing the ${num(list.length)} most recent of ${num(res.total)} incidents.`, 'info', 'incidents-more')
      : h('p', { class: 'muted small', testid: 'incidents-count' }, `${num(res.total)} incident${res.total === 1 ? '' : 's'}.`));
}
