// Alerts: the filterable table, one server page at a time (cursor pagination), with a
// client-side sort of the page, bulk triage and export.

import * as api from '../api.js';
import {
  h, replace, num, score, time, humanize, levelBadge, statusBadge, LEVELS, STATUSES, ANOMALY_TYPES,
  loading, empty, errorBox, toast, levelRank, userLink, tableWrap, notice,
} from '../dom.js';

const FILTERS = ['level', 'status', 'user', 'anomaly_type', 'from', 'to'];
const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_LIMIT = 50;

/** Cursors of the pages before the current one, per filter set (for "Newer"). */
const trail = { key: null, cursors: [] };

const SORTS = {
  id: (a) => a.id,
  time: (a) => a.timestamp || '',
  level: (a) => levelRank(a.threat_level),
  score: (a) => a.threat_score,
  user: (a) => (a.user_id || '').toLowerCase(),
  status: (a) => STATUSES.indexOf(a.status),
};

function filterState(query) {
  const f = {};
  for (const k of FILTERS) {
    const v = query.get(k);
    if (v) f[k] = v;
  }
  return f;
}

const toLocalInput = (rfc) => (rfc && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(rfc) ? rfc.slice(0, 16) : '');
const fromLocalInput = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : '');

function matches(msg, f) {
  if (f.level && levelRank(msg.threat_level) < levelRank(f.level)) return false;
  if (f.user && msg.user_id !== f.user) return false;
  if (f.anomaly_type && !(msg.primary_anomalies || []).includes(f.anomaly_type)) return false;
  if (f.status && f.status !== 'new') return false;
  if (f.to && msg.timestamp > f.to) return false;
  if (f.from && msg.timestamp < f.from) return false;
  return true;
}

function select(name, label, options, value, testid) {
  const id = `f-${name}`;
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name, testid },
      options.map(([v, text]) => h('option', { value: v, selected: v === (value || '') }, text))));
}

function input(name, label, value, attrs = {}) {
  const id = `f-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label), h('input', { id, name, value: value || '', ...attrs }));
}

export async function render(main, ctx) {
  const { query, signal } = ctx;
  const f = filterState(query);
  const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : DEFAULT_LIMIT;
  const cursor = query.get('cursor') ? Number(query.get('cursor')) : null;
  const sortKey = SORTS[query.get('sort')] ? query.get('sort') : 'id';
  const sortDir = query.get('dir') === 'asc' ? 'asc' : 'desc';
  const key = JSON.stringify([f, limit]);
  if (trail.key !== key) {
    trail.key = key;
    trail.cursors = [];
  }
  if (cursor === null) trail.cursors = [];
  const params = (extra) => ({ ...f, limit: limit === DEFAULT_LIMIT ? null : limit, sort: sortKey === 'id' ? null : sortKey, dir: sortDir === 'desc' ? null : sortDir, ...extra });

  // ---- filters ----
  const form = h('form', { class: 'filters', testid: 'alert-filters', method: 'get', 'aria-label': 'Filter alerts' },
    select('level', 'Level (at least)', [['', 'Any level'], ...LEVELS.map((l) => [l, `${l}${l === 'CRITICAL' ? '' : ' and above'}`])], f.level, 'filter-level'),
    select('status', 'Status', [['', 'Any status'], ...STATUSES.map((st) => [st, humanize(st)])], f.status, 'filter-status'),
    input('user', 'User', f.user, { type: 'search', placeholder: 'exact user id', autocomplete: 'off', testid: 'filter-user' }),
    select('anomaly_type', 'Anomaly type', [['', 'Any type'], ...ANOMALY_TYPES.map((t) => [t, humanize(t)])], f.anomaly_type, 'filter-type'),
    input('from', 'From (UTC)', toLocalInput(f.from), { type: 'datetime-local', testid: 'filter-from' }),
    input('to', 'To (UTC)', toLocalInput(f.to), { type: 'datetime-local', testid: 'filter-to' }),
    select('limit', 'Per page', PAGE_SIZES.map((n) => [String(n), String(n)]), String(limit), 'filter-limit'),
    h('div', { class: 'field field-actions' },
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'filter-apply' }, 'Apply'),
      h('a', { class: 'btn btn-ghost', href: '#/alerts', testid: 'filter-reset' }, 'Reset')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const next = {};
    for (const k of FILTERS) {
      let v = String(data.get(k) || '').trim();
      if ((k === 'from' || k === 'to') && v) v = fromLocalInput(v);
      if (v) next[k] = v;
    }
    const lim = Number(data.get('limit'));
    ctx.navigate('/alerts', { ...next, limit: lim === DEFAULT_LIMIT ? null : lim });
  });

  // On narrow screens the filters fold away unless some are set.
  const active = Object.keys(f).length;
  const narrow = window.matchMedia && window.matchMedia('(max-width: 640px)').matches;
  const filterBox = h('details', { class: 'filter-box', open: !narrow || active > 0, testid: 'filter-box' },
    h('summary', null, 'Filters', active ? h('span', { class: 'chip' }, `${active} active`) : null),
    form);

  const body = h('div', { class: 'alerts-body' }, loading('Loading alerts…'));
  const liveBanner = h('div', { class: 'live-banner', testid: 'alerts-live-banner', hidden: true });
  const exportBtn = (fmt) => h('button', {
    type: 'button', class: 'btn', testid: `export-${fmt}`,
    title: f.anomaly_type ? 'The export applies every filter but the anomaly type' : `Every alert matching the filters, as ${fmt.toUpperCase()}`,
    on: {
      click: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        try {
          const { anomaly_type: _ignored, ...exportFilters } = f;
          const size = await api.download('v1/alerts/export', { format: fmt, ...exportFilters }, `warden-alerts.${fmt}`);
          toast(`Exported ${num(size)} bytes as ${fmt.toUpperCase()}${f.anomaly_type ? ' (the anomaly type filter is not applied by the export)' : ''}.`, 'ok');
        } catch (e) {
          toast(`Export failed: ${e.message}`, 'error', 8000);
        } finally {
          btn.disabled = false;
        }
      },
    },
  }, `Export ${fmt.toUpperCase()}`);

  replace(main, h('div', { class: 'page page-alerts' },
    h('div', { class: 'page-head' },
      h('div', null, h('h1', { tabindex: '-1' }, 'Alerts'), h('p', { class: 'muted' }, 'Newest first, one page at a time. Select rows for bulk triage.')),
      h('div', { class: 'head-actions' }, exportBtn('csv'), exportBtn('json'))),
    filterBox,
    liveBanner,
    body));

  // ---- live: count new matching alerts while on the first page ----
  let fresh = 0;
  ctx.onCleanup(ctx.live.subscribe((m) => {
    if (cursor !== null || !matches(m, f)) return;
    fresh += 1;
    replace(liveBanner,
      `${fresh} new alert${fresh === 1 ? '' : 's'} since this page was loaded. `,
      h('button', { type: 'button', class: 'btn btn-small', testid: 'alerts-live-show', on: { click: () => ctx.navigate('/alerts', params({}), { replace: true }) } }, 'Show'));
    liveBanner.hidden = false;
  }));

  let page;
  try {
    page = await api.get('v1/alerts', { ...f, limit, cursor }, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    replace(body, errorBox(e, () => ctx.navigate('/alerts', params({ cursor }), { replace: true })));
    return;
  }
  const rows = [...(page.alerts || [])];
  const dirMul = sortDir === 'asc' ? 1 : -1;
  rows.sort((a, b) => {
    const x = SORTS[sortKey](a);
    const y = SORTS[sortKey](b);
    return (x < y ? -1 : x > y ? 1 : 0) * dirMul || (b.id - a.id);
  });

  const pageNo = trail.cursors.length + 1;
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages', testid: 'pager' },
    h('button', {
      type: 'button', class: 'btn', testid: 'page-newest', disabled: cursor === null,
      on: { click: () => { trail.cursors = []; ctx.navigate('/alerts', params({})); } },
    }, '« Newest'),
    h('button', {
      type: 'button', class: 'btn', testid: 'page-prev', disabled: cursor === null,
      on: {
        click: () => {
          const prev = trail.cursors.pop();
          ctx.navigate('/alerts', params({ cursor: prev ?? null }));
        },
      },
    }, '‹ Newer'),
    h('span', { class: 'pager-info', testid: 'page-info' },
      rows.length ? `Page ${pageNo} · alerts #${num(Math.max(...rows.map((r) => r.id)))}–#${num(Math.min(...rows.map((r) => r.id)))}` : `Page ${pageNo}`),
    h('button', {
      type: 'button', class: 'btn', testid: 'page-next', disabled: !page.next_cursor,
      on: { click: () => { trail.cursors.push(cursor); ctx.navigate('/alerts', params({ cursor: page.next_cursor })); } },
    }, 'Older ›'));

  if (!rows.length) {
    replace(body, empty(cursor ? 'No more alerts.' : 'No alerts match these filters.', Object.keys(f).length ? 'Try a lower level, another status or a wider time range.' : 'Alerts appear here once events are analysed.'), cursor ? pager : null);
    return;
  }

  // ---- table ----
  const selected = new Set();
  const boxes = [];
  const countLabel = h('span', { class: 'bulk-count', testid: 'bulk-count' }, 'None selected');
  const bulkButtons = [];
  const assignInput = h('input', { id: 'bulk-assignee', type: 'text', placeholder: 'analyst name', autocomplete: 'off', testid: 'bulk-assignee', maxlength: '200' });
  const refreshSelection = () => {
    const n = selected.size;
    countLabel.textContent = n ? `${n} selected` : 'None selected';
    for (const b of bulkButtons) b.disabled = n === 0;
    all.checked = n > 0 && n === rows.length;
    all.indeterminate = n > 0 && n < rows.length;
  };
  const all = h('input', {
    type: 'checkbox', 'aria-label': 'Select every alert on this page', testid: 'select-all',
    on: {
      change: () => {
        for (const { box, id } of boxes) {
          box.checked = all.checked;
          if (all.checked) selected.add(id); else selected.delete(id);
        }
        refreshSelection();
      },
    },
  });

  const runBulk = async (body2, done) => {
    const ids = [...selected];
    for (const b of bulkButtons) b.disabled = true;
    try {
      const res = await api.post('v1/alerts/bulk', { ...body2, ids });
      const n = (res.updated || []).length;
      toast(`${n} alert${n === 1 ? '' : 's'} ${done}.${(res.not_found || []).length ? ` ${res.not_found.length} not found.` : ''}`, 'ok');
      ctx.navigate('/alerts', params({ cursor }), { replace: true });
    } catch (e) {
      if (api.isAbort(e)) return;
      toast(`Bulk action failed: ${e.message}${e.field ? ` (${e.field})` : ''}`, 'error', 8000);
      refreshSelection();
    }
  };
  const bulkBtn = (label, testid, body2, done, cls = 'btn') => {
    const b = h('button', { type: 'button', class: cls, testid, disabled: true, on: { click: () => runBulk(body2, done) } }, label);
    bulkButtons.push(b);
    return b;
  };
  const assignBtn = h('button', {
    type: 'button', class: 'btn', testid: 'bulk-assign', disabled: true,
    on: {
      click: () => {
        const who = assignInput.value.trim();
        if (!who) {
          toast('Enter the analyst to assign to.', 'error');
          assignInput.focus();
          return;
        }
        runBulk({ action: 'assign', assignee: who }, `assigned to ${who}`);
      },
    },
  }, 'Assign');
  bulkButtons.push(assignBtn);
  const bulkBar = h('div', { class: 'bulk-bar', role: 'group', 'aria-label': 'Bulk actions on the selected alerts', testid: 'bulk-bar' },
    countLabel,
    bulkBtn('Acknowledge', 'bulk-ack', { action: 'update_status', status: 'acknowledged' }, 'acknowledged', 'btn btn-primary'),
    bulkBtn('Resolve', 'bulk-resolve', { action: 'update_status', status: 'resolved' }, 'resolved'),
    bulkBtn('False positive', 'bulk-fp', { action: 'update_status', status: 'false_positive' }, 'marked false positive'),
    bulkBtn('Reopen', 'bulk-reopen', { action: 'update_status', status: 'new' }, 'reopened'),
    h('span', { class: 'bulk-assign' }, h('label', { for: 'bulk-assignee', class: 'visually-hidden' }, 'Assignee'), assignInput, assignBtn));

  const sortHeader = (label, keyName, cls) => {
    const active = sortKey === keyName;
    const nextDir = active && sortDir === 'desc' ? 'asc' : 'desc';
    return h('th', { scope: 'col', class: cls, 'aria-sort': active ? (sortDir === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', {
        type: 'button', class: ['sort', active ? `sort-${sortDir}` : null], testid: `sort-${keyName}`,
        title: 'Sorts the alerts of this page',
        on: { click: () => ctx.navigate('/alerts', { ...params({ cursor }), sort: keyName === 'id' ? null : keyName, dir: nextDir === 'desc' ? null : nextDir }, { replace: true }) },
      }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (sortDir === 'asc' ? '▲' : '▼') : '↕')));
  };

  const tbody = h('tbody', null, rows.map((a) => {
    const box = h('input', {
      type: 'checkbox', 'aria-label': `Select alert ${a.id}`, testid: 'row-select', value: String(a.id),
      on: {
        change: () => {
          if (box.checked) selected.add(a.id); else selected.delete(a.id);
          tr.classList.toggle('selected', box.checked);
          refreshSelection();
        },
      },
    });
    boxes.push({ box, id: a.id });
    const tr = h('tr', { testid: 'alert-row', 'data-alert-id': String(a.id), class: `row-${(a.threat_level || '').toLowerCase()}` },
      h('td', { class: 'check' }, box),
      h('td', { class: 'num' }, h('a', { href: `#/alerts/${a.id}`, testid: 'alert-link' }, `#${a.id}`)),
      h('td', { class: 'nowrap' }, h('time', { datetime: a.timestamp }, time(a.timestamp))),
      h('td', null, levelBadge(a.threat_level)),
      h('td', { class: 'num strong' }, score(a.threat_score)),
      h('td', null, userLink(a.user_id)),
      h('td', { class: 'types' }, (a.primary_anomalies || []).map(humanize).join(', ') || '—'),
      h('td', { testid: 'alert-status' }, statusBadge(a.status)),
      h('td', { class: 'muted' }, a.assignee || '—'));
    return tr;
  }));

  const table = h('table', { class: 'table alerts-table', testid: 'alerts-table' },
    h('caption', { class: 'visually-hidden' }, 'Alerts, newest first; the column buttons sort this page'),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'check' }, all),
      sortHeader('ID', 'id', 'num'),
      sortHeader('Time (UTC)', 'time'),
      sortHeader('Level', 'level'),
      sortHeader('Score', 'score', 'num'),
      sortHeader('User', 'user'),
      h('th', { scope: 'col' }, 'Anomalies'),
      sortHeader('Status', 'status'),
      h('th', { scope: 'col' }, 'Assignee'))),
    tbody);

  replace(body,
    bulkBar,
    tableWrap(table, 'Alerts table'),
    sortKey !== 'id' ? notice('Sorted within this page; pages follow the server\u2019s order (newest first).', 'info', 'sort-note') : null,
    pager);
  refreshSelection();
}
