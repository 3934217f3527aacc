// One alert, whatever detector raised it: score, level, detector, anomalies with
// confidences, the explanation and ATT&CK ids, recommended actions, triage, the evidence
// and entities, the detector's own view (the rule and log event, the network model's
// verdict, the behavioural signals), the events around it on a timeline, and the user's
// baseline drawn when the subject is a user.

import * as api from '../api.js';
import {
  h, replace, score, pct, gb, time, humanize, levelBadge, statusBadge, levelClass, loading,
  empty, errorBox, card, facts, toast, tableWrap, notice, parseTime, duration,
} from '../dom.js';
import { chartBox, timeline, meter, legend } from '../charts.js';
import { eventsOf, hoursCard, mapCard, volumeCard, devicesCard, profileFacts, baselineNote } from './baseline.js';
import { auditCard } from './audit.js';
import { graphCard } from './graph.js';
import { ruleCard, logEventCard, ruleOf } from './logevent.js';
import { payloadCard } from './payload.js';
import {
  bodyOf, detectorOf, detailOf, subjectIsUser, subjectLink, detectorChip, attackList,
  evidenceCard, entitiesCard, flowCard,
} from './evidence.js';

const STATUS_ACTIONS = [
  ['acknowledged', 'Acknowledge', 'btn-primary'],
  ['resolved', 'Resolve', ''],
  ['false_positive', 'False positive', ''],
  ['new', 'Reopen', 'btn-ghost'],
];

const CLASSIFICATIONS = ['true_positive', 'benign_true_positive', 'false_positive', 'suspicious', 'test'];

function scorePanel(a) {
  const body = bodyOf(a) || {};
  const ueba = detailOf(a, 'ueba') || {};
  return h('section', { class: ['score-panel', levelClass(a.threat_level)], testid: 'score-panel', 'aria-label': 'Score' },
    h('div', { class: 'score-big' },
      h('span', { class: 'score-value', testid: 'alert-score' }, score(a.threat_score)),
      h('span', { class: 'score-max' }, '/ 100')),
    meter(a.threat_score, 100, `meter-fill ${levelClass(a.threat_level)}`, 180, `Threat score ${score(a.threat_score)} of 100`),
    h('div', { class: 'score-meta' },
      levelBadge(a.threat_level, 'alert-level'),
      detectorChip(a),
      typeof body.confidence === 'number' ? h('span', { class: 'muted' }, `confidence ${pct(body.confidence)}`) : null,
      ueba.learning ? h('span', { class: 'badge badge-flag' }, 'baseline still learning') : null));
}

function triage(a, ctx, onChanged) {
  const status = h('div', { class: 'triage-status' }, statusBadge(a.status, 'alert-status'));
  if (!ctx.canWrite()) {
    return card('Triage', h('div', { class: 'triage' },
      h('div', { class: 'triage-row' }, h('span', { class: 'muted' }, 'Status'), status),
      facts([['Assignee', a.assignee || 'unassigned'], ['Classification', a.classification || '—']], 'triage-facts'),
      notice('This token is read-only: the status, assignee and classification can be changed with a token that has the write scope.', 'info', 'read-only-note'),
      a.updated_at ? h('p', { class: 'muted small' }, `Last changed ${time(a.updated_at)} UTC`) : null), { testid: 'triage' });
  }
  const buttons = STATUS_ACTIONS.filter(([st]) => st !== a.status).map(([st, label, cls]) => h('button', {
    type: 'button', class: ['btn', cls], testid: `set-status-${st}`,
    on: { click: () => save({ status: st }, `Status set to ${humanize(st)}.`) },
  }, label));
  const assignee = h('input', { id: 'assignee', type: 'text', value: a.assignee || '', autocomplete: 'off', maxlength: '200', testid: 'assignee-input', placeholder: 'unassigned' });
  const classification = h('input', { id: 'classification', type: 'text', value: a.classification || '', autocomplete: 'off', maxlength: '200', list: 'classifications', testid: 'classification-input', placeholder: 'e.g. true_positive' });
  const form = h('form', { class: 'triage-form', method: 'post', testid: 'triage-form' },
    h('div', { class: 'field' }, h('label', { for: 'assignee' }, 'Assignee'), assignee),
    h('div', { class: 'field' }, h('label', { for: 'classification' }, 'Classification'), classification,
      h('datalist', { id: 'classifications' }, CLASSIFICATIONS.map((c) => h('option', { value: c })))),
    h('div', { class: 'field field-actions' }, h('button', { type: 'submit', class: 'btn', testid: 'triage-save' }, 'Save')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {};
    const who = assignee.value.trim();
    if (who !== (a.assignee || '')) body.assignee = who || null;
    const cls = classification.value.trim();
    if (cls && cls !== (a.classification || '')) body.classification = cls;
    if (!Object.keys(body).length) {
      toast('Nothing changed.');
      return;
    }
    save(body, 'Saved.');
  });
  // A write is not tied to the page: leaving it does not abort a change the server may
  // still apply. Once it is answered, the toast tells; the page is updated only if it is
  // still the one shown.
  async function save(body, message) {
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    for (const b of buttons) b.disabled = true;
    try {
      await api.patch(`v1/alerts/${a.id}`, body);
      toast(ctx.signal.aborted ? `Alert #${a.id}: ${message}` : message, 'ok');
      if (!ctx.signal.aborted) onChanged();
    } catch (e) {
      toast(`Could not save alert #${a.id}: ${e.message}${e.field ? ` (${e.field})` : ''}`, 'error');
      if (ctx.signal.aborted) return;
      for (const b of form.querySelectorAll('button')) b.disabled = false;
      for (const b of buttons) b.disabled = false;
    }
  }
  return card('Triage', h('div', { class: 'triage' },
    h('div', { class: 'triage-row' }, h('span', { class: 'muted' }, 'Status'), status, h('div', { class: 'btn-row' }, buttons)),
    form,
    a.updated_at ? h('p', { class: 'muted small' }, `Last changed ${time(a.updated_at)} UTC`) : null), { testid: 'triage' });
}

/** The alert's anomalies (`alert.anomalies`); the record's primary types when there are none. */
function anomaliesCard(a) {
  const body = bodyOf(a) || {};
  const list = Array.isArray(body.anomalies) ? body.anomalies.filter((x) => x && typeof x === 'object') : [];
  if (!list.length) {
    const primary = a.primary_anomalies || [];
    return card('Anomalies', primary.length ? h('ul', { class: 'tag-list' }, primary.map((t) => h('li', { class: 'chip' }, humanize(t)))) : empty('No anomalies listed.'), { testid: 'anomalies', className: 'span-2' });
  }
  const rows = [...list].sort((x, y) => (y.contribution || 0) - (x.contribution || 0));
  return card('Anomalies', tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'anomalies-table' },
    h('thead', null, h('tr', null,
      h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Confidence'), h('th', { scope: 'col', class: 'num' }, 'Contribution'), h('th', { scope: 'col' }, 'Detail'))),
    h('tbody', null, rows.map((an) => h('tr', { testid: 'anomaly-row' },
      h('td', { class: 'strong nowrap' }, humanize(an.type)),
      h('td', { class: 'meter-cell nowrap' }, meter(an.confidence || 0, 1, 'meter-fill meter-accent', 72), h('span', { class: 'num' }, pct(an.confidence))),
      h('td', { class: 'num' }, typeof an.contribution === 'number' ? `+${an.contribution.toFixed(1)}` : '—'),
      h('td', { class: 'detail' }, an.detail || ''))))), 'Anomalies'), { testid: 'anomalies', className: 'span-2' });
}

/** The behavioural signals: the ThreatScore's model scores and flags (`detail.ueba`). */
function modelsCard(sc) {
  // Model scores are in [0, 1], higher meaning more anomalous.
  const model = (label, v) => (typeof v === 'number' ? [label, v.toFixed(2)] : null);
  const flags = [
    ['impossible_travel_detected', 'Impossible travel'],
    ['unusual_time_detected', 'Unusual time'],
    ['unusual_volume_detected', 'Unusual volume'],
    ['unusual_resources_detected', 'Unusual resources'],
  ].filter(([k]) => sc[k]).map(([, l]) => h('li', { class: 'chip chip-flag' }, l));
  const rows = [
    model('Isolation forest', sc.isolation_forest_score),
    model('LSTM autoencoder', sc.lstm_autoencoder_score),
    model('XGBoost ensemble', sc.xgboost_ensemble_score),
    typeof sc.behavioral_deviation_score === 'number' ? ['Behavioural deviation', sc.behavioral_deviation_score.toFixed(2)] : null,
  ].filter(Boolean);
  return card('Signals', h('div', null,
    rows.length ? facts(rows, 'model-scores') : h('p', { class: 'muted small' }, 'No model scores in this alert (rules and baseline only).'),
    flags.length ? h('ul', { class: 'tag-list' }, flags) : null), { testid: 'signals' });
}

function eventLabel(e) {
  return `${humanize(e.activity_type || 'event')}${e.resource_accessed ? ` ${e.resource_accessed}` : ''}`;
}

function eventsTable(events, eventId) {
  return tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'events-table' },
    h('thead', null, h('tr', null, ['Time (UTC)', 'Activity', 'Location', 'Device', 'IP', 'Resource', 'Data', 'Duration', 'Result'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, events.map((e) => h('tr', { class: e.event_id && e.event_id === eventId ? 'row-focus' : null, testid: 'event-row' },
      h('td', { class: 'nowrap' }, time(e.timestamp)),
      h('td', null, humanize(e.activity_type || '')),
      h('td', null, e.location || '—'),
      h('td', null, e.device_name || (e.device_fingerprint ? String(e.device_fingerprint).slice(0, 8) : '—')),
      h('td', { class: 'mono' }, e.ip_address || '—'),
      h('td', null, e.resource_accessed || '—'),
      h('td', { class: 'num' }, typeof e.data_transferred_gb === 'number' ? gb(e.data_transferred_gb) : '—'),
      h('td', { class: 'num' }, typeof e.duration_seconds === 'number' ? duration(e.duration_seconds) : '—'),
      h('td', null, e.success === false ? h('span', { class: 'badge badge-fail' }, 'failed') : e.success === true ? 'ok' : '—'))))), 'Events around the alert');
}

function aroundCard(a, related, { span = true } = {}) {
  const { event, context, logEvent } = eventsOf(a);
  const at = parseTime(a.timestamp);
  const cls = span ? 'span-2' : null;
  if (event || context.length) {
    const events = [...context, ...(event ? [event] : [])].filter((e) => parseTime(e.timestamp))
      .sort((x, y) => parseTime(x.timestamp) - parseTime(y.timestamp));
    const items = events.map((e) => ({
      t: parseTime(e.timestamp),
      label: eventLabel(e),
      cls: event && e === event ? `tl-hot ${levelClass(a.threat_level)}` : (e.success === false ? 'tl-fail' : ''),
      title: `${time(e.timestamp)} — ${eventLabel(e)}${e.location ? ` from ${e.location}` : ''}${e.success === false ? ' (failed)' : ''}`,
    }));
    const n = context.length;
    return card('Events leading to the alert', h('div', null,
      h('p', { class: 'muted small', testid: 'events-caption' }, event
        ? `The activity that raised the alert${n ? ` and the user\u2019s ${n} event${n === 1 ? '' : 's'} before it` : ' (no earlier event of this user was in memory)'}, oldest first on the timeline.`
        : `The user\u2019s ${n} event${n === 1 ? '' : 's'} before the alert.`),
      items.length ? chartBox((w) => timeline({ items, width: w, focus: at, label: 'The user\u2019s events before the alert, and the alert' }), { testid: 'events-timeline' }) : null,
      h('div', { class: 'chart-foot' }, legend([['tl-dot-hot', 'the alert\u2019s event'], ['tl-dot', 'earlier events'], ['tl-dot-fail', 'failed']])),
      eventsTable(events.slice().reverse(), event && event.event_id)), { testid: 'around', className: cls });
  }
  // A log event or a flow (with cards of their own) or a behavioural alert kept without its
  // events: the same subject's alerts within an hour.
  const others = (related || []).filter((r) => parseTime(r.timestamp));
  const missing = !logEvent && detectorOf(a) === 'ueba';
  const items = [
    ...others.map((r) => ({ t: parseTime(r.timestamp), label: `#${r.id} ${r.threat_level}`, cls: levelClass(r.threat_level), title: `#${r.id} ${r.threat_level} ${score(r.threat_score)} at ${time(r.timestamp)}` })),
    ...(at ? [{ t: at, label: `#${a.id} (this alert)`, cls: `tl-hot ${levelClass(a.threat_level)}`, title: `This alert at ${time(a.timestamp)}` }] : []),
  ];
  return card('Alerts around this one', h('div', null,
    missing ? notice('This alert was stored without the events that led to it; the user\u2019s other alerts within an hour are shown instead.', 'info', 'events-unavailable') : null,
    items.length > 1
      ? [h('p', { class: 'muted small' }, `This alert and ${others.length} other alert${others.length === 1 ? '' : 's'} of ${a.user_id} within an hour.`),
        chartBox((w) => timeline({ items, width: w, focus: at, label: `The alerts of ${a.user_id} within an hour of this one` }), { testid: 'events-timeline' })]
      : h('p', { class: 'muted' }, `No other alert of ${a.user_id} within an hour.`)), { testid: 'around', className: cls });
}

function relatedCard(related) {
  if (!related || !related.length) return null;
  return card(`Related alerts (${related.length})`, tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'related-table' },
    h('thead', null, h('tr', null, ['ID', 'Time (UTC)', 'Level', 'Score', 'Anomalies', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, related.map((r) => h('tr', null,
      h('td', { class: 'num' }, h('a', { href: `#/alerts/${r.id}` }, `#${r.id}`)),
      h('td', { class: 'nowrap' }, time(r.timestamp)),
      h('td', null, levelBadge(r.threat_level)),
      h('td', { class: 'num' }, score(r.threat_score)),
      h('td', null, (r.primary_anomalies || []).map(humanize).join(', ')),
      h('td', null, statusBadge(r.status)))))), 'Related alerts'), { testid: 'related', className: 'span-2' });
}

export async function render(main, ctx) {
  const id = ctx.params[0];
  const { signal } = ctx;
  if (!/^\d+$/.test(id)) {
    replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, 'Alert'), empty(`“${id}” is not an alert id.`)));
    return;
  }
  replace(main, h('div', { class: 'page' }, h('h1', { tabindex: '-1' }, `Alert #${id}`), loading()));
  let res;
  try {
    res = await api.get(`v1/alerts/${id}`, null, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    replace(main, h('div', { class: 'page' },
      h('p', { class: 'crumbs' }, h('a', { href: '#/alerts' }, '← Alerts')),
      h('h1', { tabindex: '-1' }, `Alert #${id}`),
      e.status === 404 ? empty('This alert does not exist (or belongs to another tenant).') : errorBox(e, () => ctx.retry())));
    return;
  }
  const a = res.alert;
  const body = bodyOf(a) || {};
  const kind = detectorOf(a);
  const rule = ruleOf(a);
  const ueba = detailOf(a, 'ueba');
  const flow = detailOf(a, 'flow');
  const graph = detailOf(a, 'graph');
  const payload = detailOf(a, 'payload');
  const isUser = subjectIsUser(a);
  const { event, context, logEvent } = eventsOf(a);
  // A rule's alert: by its detector; an older record without one, by what it kept.
  const isRule = kind === 'sigma' || (!kind && (!!rule || !!logEvent));
  const reload = () => ctx.navigate(`/alerts/${a.id}`, {}, { replace: true });
  const actions = Array.isArray(body.recommended_actions) ? body.recommended_actions : [];
  const baselineBox = h('div', { class: 'grid grid-2 baseline-grid', testid: 'baseline' }, loading('Loading the user\u2019s baseline…'));
  const recommended = card('Recommended actions', actions.length
    ? h('ol', { class: 'actions-list', testid: 'recommended-actions' }, actions.map((x) => h('li', null, x)))
    : empty('No action recommended.'), { testid: 'recommended' });
  const explanation = card('Explanation', h('div', null,
    h('p', { class: 'explanation', testid: 'alert-explanation' }, a.explanation || body.explanation || 'No explanation.'),
    (a.primary_anomalies || []).length ? h('ul', { class: 'tag-list' }, a.primary_anomalies.map((t) => h('li', null, h('a', { class: 'chip', href: ctx.hashOf('/alerts', { anomaly_type: t }) }, humanize(t))))) : null,
    attackList(a)),
  { testid: 'explanation', className: 'span-2' });
  // What the alert rests on and names, for every detector; the recommended actions beside
  // the entities, which they are about.
  const evidence = evidenceCard(a);
  const todo = h('div', { class: 'stack' }, recommended, entitiesCard(a));
  let cards;
  if (isRule) {
    // A detection on a log event: the rule and the event's fields come first.
    cards = [explanation, ruleCard(ctx, a), triage(a, ctx, reload),
      logEvent ? logEventCard(logEvent, rule) : card('Log event', notice('The log event was too large to keep with the alert; the evidence says where to find it.', 'info', 'log-event-missing'), { testid: 'log-event', className: 'span-2' }),
      todo, aroundCard(a, res.related, { span: false }), evidence, relatedCard(res.related)];
  } else if (graph) {
    // A path through the network: the drawing and its steps first, the pivot below.
    cards = [explanation, graphCard(graph, { signal }), triage(a, ctx, reload), anomaliesCard(a),
      todo, aroundCard(a, res.related, { span: false }), evidence, relatedCard(res.related)];
  } else if (payload) {
    // A command line: what it was and decoded to first.
    cards = [explanation, payloadCard(payload), triage(a, ctx, reload), anomaliesCard(a),
      todo, aroundCard(a, res.related, { span: false }), evidence, relatedCard(res.related)];
  } else if (flow) {
    // A network flow: the model's verdict first; no user, so no behavioural signals.
    cards = [explanation, flowCard(flow), triage(a, ctx, reload), anomaliesCard(a),
      todo, aroundCard(a, res.related, { span: false }), evidence, relatedCard(res.related)];
  } else {
    cards = [explanation, anomaliesCard(a), todo, h('div', { class: 'stack' }, triage(a, ctx, reload), ueba ? modelsCard(ueba) : null),
      logEvent ? logEventCard(logEvent, null) : null, aroundCard(a, res.related), evidence, relatedCard(res.related)];
  }

  replace(main, h('div', { class: 'page page-alert' },
    h('p', { class: 'crumbs' }, h('a', { href: '#/alerts' }, '← Alerts'), ' / ', subjectLink(a)),
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { tabindex: '-1', testid: 'alert-title' }, `Alert #${a.id}`, ' ', levelBadge(a.threat_level)),
        h('p', { class: 'muted' }, subjectLink(a, { testid: 'alert-user' }), ` · ${time(a.timestamp)} UTC · event `, h('code', { class: 'event-key' }, a.event_id || '—'))),
      scorePanel(a)),
    h('div', { class: 'grid grid-2' }, cards),
    h('h2', { class: 'section-title' }, isUser ? ['Baseline of ', subjectLink(a)] : 'Baseline'),
    baselineBox,
    h('div', { class: 'grid grid-1' }, auditCard(ctx, { targets: [`alert:${a.id}`], title: 'History', admin: ctx.isAdmin() }))));

  // Only users have a behavioural baseline: a host or an address is not asked for one.
  if (!isUser) {
    replace(baselineBox, notice(`No behavioural baseline: this alert is about ${a.user_id || 'an unknown subject'}, not a user account.`, 'info', 'no-baseline'));
    return;
  }
  try {
    const beh = await api.post('v1/analyze/behavior', { user_id: a.user_id }, { signal });
    const b = beh.baseline;
    const at = parseTime(a.timestamp);
    if (!b) {
      replace(baselineBox, notice(isRule
        ? `No activity baseline is held for ${a.user_id}: this alert comes from a log event matched by a detection rule, and no user activity of this account has been analysed.`
        : 'No baseline is held for this user (the engine has not learned from their events in this server\u2019s lifetime).', 'info', 'no-baseline'));
      return;
    }
    replace(baselineBox,
      baselineNote(b),
      hoursCard(b, at ? [at.getUTCHours()] : []),
      mapCard(b, { event, context }),
      volumeCard(b, { event, context }),
      devicesCard(b, { event, anomalies: a.primary_anomalies || [] }),
      card('Profile', profileFacts(b), { testid: 'baseline-profile' }));
  } catch (e) {
    if (api.isAbort(e)) return;
    replace(baselineBox, e.status === 404 ? notice('No baseline is known for this user.', 'warn', 'no-baseline') : errorBox(e));
  }
}
