// One incident: its alerts on a timeline and in a table, the status workflow (applied to
// every alert in it) and the audit history of the incident and its alerts.

import * as api from '../api.js';
import {
  h, replace, num, score, time, humanize, levelBadge, statusBadge, levelClass, loading, empty, errorBox,
  card, facts, toast, userLink, tableWrap, parseTime, duration, notice,
} from '../dom.js';
import { chartBox, timeline } from '../charts.js';
import { auditCard } from './audit.js';
import { windowOf } from './incidents.js';
import { subjectIsUser, subjectName } from './evidence.js';

const FLOW = [
  ['new', 'New'],
  ['acknowledged', 'Acknowledged'],
  ['resolved', 'Resolved'],
];

const NEXT = {
  new: [['acknowledged', 'Acknowledge', 'btn-primary'], ['resolved', 'Resolve', ''], ['false_positive', 'False positive', '']],
  acknowledged: [['resolved', 'Resolve', 'btn-primary'], ['false_positive', 'False positive', ''], ['new', 'Reopen', 'btn-ghost']],
  resolved: [['new', 'Reopen', 'btn-ghost']],
  false_positive: [['new', 'Reopen', 'btn-ghost']],
};

function stepper(status) {
  const idx = FLOW.findIndex(([s]) => s === status);
  return h('ol', { class: 'stepper', testid: 'incident-workflow', 'aria-label': 'Workflow' },
    FLOW.map(([, label], i) => h('li', {
      class: ['step', i < idx || (status === 'resolved' && i === idx) ? 'done' : null, i === idx ? 'current' : null],
      'aria-current': i === idx ? 'step' : null,
    }, label)),
    status === 'false_positive' ? h('li', { class: 'step current fp', 'aria-current': 'step' }, 'False positive') : null);
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const { signal } = ctx;
  const win = windowOf(ctx.query);
  const wparam = win === 3600 ? {} : { window: win };
  // An incident's id is its first alert's: digits only, like an alert's.
  if (!/^\d+$/.test(id)) {
    replace(main, h('div', { class: 'page' },
      h('p', { class: 'crumbs' }, h('a', { href: ctx.hashOf('/incidents', wparam) }, '← Incidents')),
      h('h1', { tabindex: '-1' }, 'Incident'),
      empty(`“${id}” is not an incident id.`, 'An incident\u2019s id is the number of its first alert.')));
    return;
  }
  replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, `Incident #${id}`), loading()));
  let res;
  try {
    res = await api.get(`v1/incidents/${id}`, { window: win }, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    replace(main, h('div', { class: 'page' },
      h('p', { class: 'crumbs' }, h('a', { href: ctx.hashOf('/incidents', wparam) }, '← Incidents')),
      h('h1', { tabindex: '-1' }, `Incident #${id}`),
      e.status === 404 ? empty('No incident with this id for this grouping window.', 'An incident\u2019s id is its first alert\u2019s; a different window groups alerts differently.') : errorBox(e, () => ctx.retry())));
    return;
  }
  const inc = res.incident;
  const alerts = res.alerts || [];
  const reload = () => ctx.navigate(`/incidents/${inc.id}`, wparam, { replace: true });
  const writable = ctx.canWrite();

  // Writes are not tied to the page (leaving it does not abort them); once answered, the
  // toast tells, and the page is reloaded only if it is still the one shown.
  const setStatus = async (st, btn) => {
    btn.disabled = true;
    try {
      await api.patch(`v1/incidents/${inc.id}`, { status: st }, { query: { window: win } });
      toast(`Incident #${inc.id}: ${num(inc.alerts)} alert(s) set to ${humanize(st)}.`, 'ok');
      if (!signal.aborted) reload();
    } catch (e) {
      toast(`Could not change the status of incident #${inc.id}: ${e.message}`, 'error');
      if (!signal.aborted) btn.disabled = false;
    }
  };
  const buttons = (NEXT[inc.status] || NEXT.new).map(([st, label, cls]) => {
    const b = h('button', { type: 'button', class: ['btn', cls], testid: `incident-set-${st}` }, label);
    b.addEventListener('click', () => setStatus(st, b));
    return b;
  });
  const assignee = h('input', { id: 'inc-assignee', type: 'text', autocomplete: 'off', maxlength: '200', placeholder: 'analyst name', testid: 'incident-assignee' });
  const assignForm = h('form', { class: 'inline-form', method: 'post' },
    h('label', { for: 'inc-assignee' }, 'Assign every alert to'), assignee,
    h('button', { type: 'submit', class: 'btn' }, 'Assign'));
  assignForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const who = assignee.value.trim();
    if (!who) {
      toast('Enter the analyst to assign to.', 'error');
      return;
    }
    try {
      await api.patch(`v1/incidents/${inc.id}`, { assignee: who }, { query: { window: win } });
      toast(`Incident #${inc.id}: assigned to ${who}.`, 'ok');
      if (!signal.aborted) reload();
    } catch (e) {
      toast(`Could not assign incident #${inc.id}: ${e.message}`, 'error');
    }
  });

  const items = alerts.filter((a) => parseTime(a.timestamp)).map((a) => ({
    t: parseTime(a.timestamp), label: `#${a.id} ${humanize((a.primary_anomalies || [])[0] || a.threat_level)}`,
    cls: levelClass(a.threat_level), title: `#${a.id} ${a.threat_level} ${score(a.threat_score)} at ${time(a.timestamp)}: ${a.explanation || ''}`,
  }));
  const span = (parseTime(inc.last_seen) - parseTime(inc.first_seen)) / 1000;
  const assignees = [...new Set(alerts.map((a) => a.assignee).filter(Boolean))];
  // Whom the incident is about: a user when one of its alerts says so; a host or an address
  // (a rule's or a network model's incident) has no user page.
  const subject = (attrs) => (alerts.length
    ? (alerts.some(subjectIsUser) ? userLink(inc.user_id, attrs) : h('span', { class: 'subject', ...attrs }, inc.user_id))
    : subjectName(inc.user_id, attrs));

  replace(main, h('div', { class: 'page page-incident' },
    h('p', { class: 'crumbs' }, h('a', { href: ctx.hashOf('/incidents', wparam) }, '← Incidents'), ' / ', subject()),
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { tabindex: '-1', testid: 'incident-title' }, `Incident #${inc.id}`, ' ', levelBadge(inc.max_level)),
        h('p', { class: 'muted' }, subject(), ` · ${num(inc.alerts)} alert(s) from ${time(inc.first_seen)} to ${time(inc.last_seen)} UTC`)),
      h('div', { class: ['score-panel', 'score-panel-small', levelClass(inc.max_level)] },
        h('div', { class: 'score-big' }, h('span', { class: 'score-value' }, score(inc.max_score)), h('span', { class: 'score-max' }, 'top score')))),
    h('div', { class: 'grid grid-2' },
      card('Status', h('div', { class: 'triage' },
        stepper(inc.status),
        h('div', { class: 'triage-row' }, h('span', { class: 'muted' }, 'Now'), statusBadge(inc.status, 'incident-status'), writable ? h('div', { class: 'btn-row' }, buttons) : null),
        writable ? assignForm : null,
        writable
          ? h('p', { class: 'muted small' }, 'A change applies to every alert of the incident, and is recorded once in the audit log.')
          : notice('This token is read-only: the incident\u2019s status and assignee can be changed with a token that has the write scope.', 'info', 'read-only-note')), { testid: 'incident-triage' }),
      card('Summary', facts([
        ['Subject', subject()],
        ['Alerts', num(inc.alerts)],
        ['Span', Number.isFinite(span) ? duration(span) : '—'],
        ['Anomaly types', (inc.anomaly_types || []).map(humanize).join(', ')],
        ['Assignees', assignees.length ? assignees.join(', ') : 'unassigned'],
        ['Grouping window', duration(win)],
      ], 'incident-facts'), { testid: 'incident-summary' }),
      card('Timeline', items.length ? chartBox((w) => timeline({ items, width: w, label: 'The incident\u2019s alerts over time' }), { testid: 'incident-timeline' }) : empty('No alert times.'), { testid: 'incident-timeline-card', className: 'span-2' }),
      card(`Alerts (${alerts.length})`, tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'incident-alerts' },
        h('thead', null, h('tr', null, ['ID', 'Time (UTC)', 'Level', 'Score', 'Anomalies', 'Status', 'Assignee'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, alerts.map((a) => h('tr', { testid: 'incident-alert-row' },
          h('td', { class: 'num' }, h('a', { href: `#/alerts/${a.id}` }, `#${a.id}`)),
          h('td', { class: 'nowrap' }, time(a.timestamp)),
          h('td', null, levelBadge(a.threat_level)),
          h('td', { class: 'num' }, score(a.threat_score)),
          h('td', null, (a.primary_anomalies || []).map(humanize).join(', ')),
          h('td', null, statusBadge(a.status)),
          h('td', { class: 'muted' }, a.assignee || '—'))))), 'Alerts of the incident'), { testid: 'incident-alerts-card', className: 'span-2' }),
      h('div', { class: 'span-2' }, auditCard(ctx, {
        // The incident's own changes (one entry each, however many alerts), then its
        // alerts' — the most recent first: with very many, their history is what is read.
        targets: [`incident:${inc.id}`, ...[...alerts].sort((x, y) => y.id - x.id).map((a) => `alert:${a.id}`)],
        title: 'Audit history',
        admin: ctx.isAdmin(),
      })))));
}
