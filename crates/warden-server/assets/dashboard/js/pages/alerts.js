// Alerts: the filterable table, one server page at a time. The server sorts (id, score or
// event time, either way) and pages with an opaque cursor that follows the sort; it also
// counts the matching alerts, so the pager can say where a page is. Bulk triage, export.

import * as api from '../api.js';
import {
  h, replace, num, score, time, humanize, levelBadge, statusBadge, LEVELS, STATUSES, ANOMALY_TYPES,
  loading, empty, errorBox, toast, levelRank, tableWrap, notice,
} from '../dom.js';
import { subjectLink } from './evidence.js';

const FILTERS = ['levels', 'status', 'user', 'anomaly_type', 'from', 'to'];
const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_LIMIT = 50;

/** The server's sort keys and how the table names them. */
const SORTS = { id: 'ID', time: 'Time (UTC)', score: 'Score' };
const SORT_TEXT = {
  id: { desc: 'newest first', asc: 'oldest first' },
  time: { desc: 'latest event time first', asc: 'earliest event time first' },
  score: { desc: 'highest score first', asc: 'lowest score first' },
};

// ---- the cursors of the pages visited, for "Previous" -------------------------------------
// Cursors are opaque and only lead forwards, so the way back is remembered: cursors[i] is
// the cursor of page i + 1 (null for the first), per filter and sort. Kept for the tab, so a
// reload keeps "Previous" working.

const TRAIL_KEY = 'warden.alerts.trail';

function loadTrail() {
  try {
    const t = JSON.parse(sessionStorage.getItem(TRAIL_KEY) || 'null');
    if (t && typeof t.key === 'string' && Array.isArray(t.cursors)) return t;
  } catch {
    /* none */
  }
  return { key: '', cursors: [null] };
}

/** Forgets the trail (on sign-out: the next caller's pages start afresh). */
export function clearTrail() {
  try {
    sessionStorage.removeItem(TRAIL_KEY);
  } catch {
    /* nothing kept */
  }
}

function saveTrail(t) {
  try {
    sessionStorage.setItem(TRAIL_KEY, JSON.stringify({ key: t.key, cursors: t.cursors.slice(0, 500) }));
  } catch {
    /* not kept: "Previous" falls back to the first page after a reload */
  }
}

// ---- filters ----------------------------------------------------------------------------

/** The exact levels asked for: `levels=HIGH,CRITICAL`, or an older `level=X` (X and above). */
function levelsOf(query) {
  const exact = (query.get('levels') || '').split(',').map((l) => l.trim().toUpperCase()).filter((l) => LEVELS.includes(l));
  if (exact.length) return LEVELS.filter((l) => exact.includes(l));
  const min = (query.get('level') || '').toUpperCase();
  if (LEVELS.includes(min)) return LEVELS.filter((l) => levelRank(l) >= levelRank(min));
  return [];
}

function filterState(query) {
  const f = {};
  for (const k of FILTERS) {
    if (k === 'levels') continue;
    const v = query.get(k);
    if (v) f[k] = v;
  }
  const levels = levelsOf(query);
  // Every level is the same as none.
  if (levels.length && levels.length < LEVELS.length) f.levels = levels.join(',');
  return f;
}

const toLocalInput = (rfc) => (rfc && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(rfc) ? rfc.slice(0, 16) : '');
const fromLocalInput = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : '');

/** Whether a live alert belongs in the list as filtered. */
function matches(msg, f) {
  if (f.levels && !f.levels.split(',').includes(msg.threat_level)) return false;
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

/** The level toggles: any combination, exact (none ticked: every level). */
function levelPicker(selected) {
  return h('fieldset', { class: 'field level-picker', testid: 'filter-levels' },
    h('legend', null, 'Levels'),
    h('div', { class: 'level-toggles' }, [...LEVELS].reverse().map((l) => h('label', { class: ['level-toggle', `lv-${l.toLowerCase()}`] },
      h('input', { type: 'checkbox', name: 'levels', value: l, checked: selected.includes(l), testid: `filter-level-${l}` }),
      h('span', null, humanize(l.toLowerCase()))))));
}

export async function render(main, ctx) {
  const { query, signal } = ctx;
  const f = filterState(query);
  const limit = PAGE_SIZES.includes(Number(query.get('limit'))) ? Number(query.get('limit')) : DEFAULT_LIMIT;
  const sortKey = SORTS[query.get('sort')] ? query.get('sort') : 'id';
  const order = query.get('order') === 'asc' ? 'asc' : 'desc';
  const cursor = query.get('cursor') || null;
  const pageNo = cursor ? Math.max(2, Math.floor(Number(query.get('page'))) || 2) : 1;
  const writable = ctx.canWrite();

  // The trail of cursors belongs to one filter and sort.
  const trailKey = JSON.stringify([f, limit, sortKey, order]);
  let trail = loadTrail();
  if (trail.key !== trailKey) trail = { key: trailKey, cursors: [null] };
  if (pageNo === 1) trail.cursors = [null];
  else if (trail.cursors[pageNo - 1] !== cursor) {
    // A page reached another way (a link): what lies before it is unknown.
    trail.cursors = [null];
    trail.cursors[pageNo - 1] = cursor;
  }
  saveTrail(trail);

  /** The hash parameters of this list, with changes. */
  const params = (extra = {}) => ({
    ...f,
    limit: limit === DEFAULT_LIMIT ? null : limit,
    sort: sortKey === 'id' ? null : sortKey,
    order: order === 'desc' ? null : order,
    ...extra,
  });
  const pageParams = (n, c) => (n <= 1 || !c ? params() : params({ cursor: c, page: n }));

  // ---- filters ----
  const form = h('form', { class: 'filters', testid: 'alert-filters', method: 'get', 'aria-label': 'Filter alerts' },
    levelPicker(f.levels ? f.levels.split(',') : []),
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
      if (k === 'levels') continue;
      let v = String(data.get(k) || '').trim();
      if ((k === 'from' || k === 'to') && v) v = fromLocalInput(v);
      if (v) next[k] = v;
    }
    const levels = LEVELS.filter((l) => data.getAll('levels').includes(l));
    if (levels.length && levels.length < LEVELS.length) next.levels = levels.join(',');
    const lim = Number(data.get('limit'));
    // Filters change the list: back to its first page, same sort.
    ctx.navigate('/alerts', {
      ...next,
      limit: lim === DEFAULT_LIMIT ? null : lim,
      sort: sortKey === 'id' ? null : sortKey,
      order: order === 'desc' ? null : order,
    });
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
    title: `Every alert matching the filters, as ${fmt.toUpperCase()}`,
    on: {
      click: async (ev) => {
        const btn = ev.currentTarget;
        btn.disabled = true;
        try {
          const size = await api.download('v1/alerts/export', { format: fmt, ...f }, `warden-alerts.${fmt}`);
          toast(`Exported ${num(size)} bytes as ${fmt.toUpperCase()}.`, 'ok');
        } catch (e) {
          toast(`Export failed: ${e.message}`, 'error');
        } finally {
          btn.disabled = false;
        }
      },
    },
  }, `Export ${fmt.toUpperCase()}`);

  replace(main, h('div', { class: 'page page-alerts' },
    h('div', { class: 'page-head' },
      h('div', null,
        h('h1', { tabindex: '-1' }, 'Alerts'),
        h('p', { class: 'muted', testid: 'alerts-order' }, `Sorted by ${SORTS[sortKey].replace(' (UTC)', '').toLowerCase()}, ${SORT_TEXT[sortKey][order]}.${writable ? ' Select rows for bulk triage.' : ''}`)),
      h('div', { class: 'head-actions' }, exportBtn('csv'), exportBtn('json'))),
    filterBox,
    liveBanner,
    body));

  // ---- live: count new matching alerts while on the first page ----
  let fresh = 0;
  ctx.onCleanup(ctx.live.subscribe((m) => {
    if (m.updated || cursor !== null || !matches(m, f)) return;
    fresh += 1;
    replace(liveBanner,
      `${fresh} new alert${fresh === 1 ? '' : 's'} since this page was loaded. `,
      h('button', { type: 'button', class: 'btn btn-small', testid: 'alerts-live-show', on: { click: () => ctx.navigate('/alerts', params(), { replace: true }) } }, 'Show'));
    liveBanner.hidden = false;
  }));

  let page;
  try {
    page = await api.get('v1/alerts', {
      ...f, limit, cursor, sort: sortKey === 'id' ? null : sortKey, order: order === 'desc' ? null : order, count: 'true',
    }, { signal });
  } catch (e) {
    if (api.isAbort(e)) throw e;
    if (e.field === 'cursor') {
      // A cursor from another listing (or an older server): start over.
      toast('That page no longer exists; showing the first page.', 'info');
      ctx.navigate('/alerts', params(), { replace: true });
      return;
    }
    replace(body, errorBox(e, () => ctx.navigate('/alerts', pageParams(pageNo, cursor), { replace: true })));
    return;
  }
  const rows = page.alerts || [];
  const total = typeof page.total === 'number' ? page.total : null;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / limit));
  const first = (pageNo - 1) * limit + 1;
  const prevCursor = pageNo > 1 ? trail.cursors[pageNo - 2] : undefined;

  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages', testid: 'pager' },
    h('button', {
      type: 'button', class: 'btn', testid: 'page-first', disabled: pageNo === 1,
      on: { click: () => ctx.navigate('/alerts', params()) },
    }, '« First'),
    h('button', {
      type: 'button', class: 'btn', testid: 'page-prev', disabled: pageNo === 1,
      title: pageNo > 1 && prevCursor === undefined ? 'The previous pages were not visited here: goes to the first page' : null,
      on: { click: () => ctx.navigate('/alerts', prevCursor === undefined ? params() : pageParams(pageNo - 1, prevCursor)) },
    }, '‹ Previous'),
    h('span', { class: 'pager-info', testid: 'page-info', 'aria-live': 'polite' },
      rows.length
        ? [h('strong', null, `${num(first)}–${num(first + rows.length - 1)}`), total !== null ? ` of ${num(total)}` : '',
          h('span', { class: 'pager-page', testid: 'page-number' }, ` · Page ${num(pageNo)}${pages !== null ? ` of ${num(pages)}` : ''}`)]
        : `Page ${num(pageNo)}`),
    h('button', {
      type: 'button', class: 'btn', testid: 'page-next', disabled: !page.next_cursor,
      on: {
        click: () => {
          trail.cursors[pageNo] = page.next_cursor;
          trail.cursors.length = pageNo + 1;
          saveTrail(trail);
          ctx.navigate('/alerts', pageParams(pageNo + 1, page.next_cursor));
        },
      },
    }, 'Next ›'));

  if (!rows.length) {
    replace(body, empty(cursor ? 'No more alerts.' : 'No alerts match these filters.', Object.keys(f).length ? 'Try other levels, another status or a wider time range.' : 'Alerts appear here once events are analysed.'), cursor ? pager : null);
    return;
  }

  // ---- bulk triage (tokens that may write) ----
  const selected = new Set();
  const boxes = [];
  const countLabel = h('span', { class: 'bulk-count', testid: 'bulk-count' }, 'None selected');
  const bulkButtons = [];
  const assignInput = h('input', { id: 'bulk-assignee', type: 'text', placeholder: 'analyst name', autocomplete: 'off', testid: 'bulk-assignee', maxlength: '200' });
  const all = h('input', {
    type: 'checkbox', 'aria-label': 'Select every alert on this page', testid: 'select-all',
    on: {
      change: () => {
        for (const { box, id, tr } of boxes) {
          box.checked = all.checked;
          tr.classList.toggle('selected', all.checked);
          if (all.checked) selected.add(id); else selected.delete(id);
        }
        refreshSelection();
      },
    },
  });
  function refreshSelection() {
    const n = selected.size;
    countLabel.textContent = n ? `${n} selected` : 'None selected';
    for (const b of bulkButtons) b.disabled = n === 0;
    all.checked = n > 0 && n === rows.length;
    all.indeterminate = n > 0 && n < rows.length;
  }

  // A write is never aborted (the server may apply it anyway); when the analyst has moved
  // on meanwhile, the toast says how it went and the page they are on is left alone.
  const runBulk = async (body2, done) => {
    const ids = [...selected];
    for (const b of bulkButtons) b.disabled = true;
    try {
      const res = await api.post('v1/alerts/bulk', { ...body2, ids });
      const n = (res.updated || []).length;
      toast(`${n} alert${n === 1 ? '' : 's'} ${done}.${(res.not_found || []).length ? ` ${res.not_found.length} not found.` : ''}`, 'ok');
      if (signal.aborted) return;
      ctx.navigate('/alerts', pageParams(pageNo, cursor), { replace: true });
    } catch (e) {
      toast(`Bulk action failed: ${e.message}${e.field ? ` (${e.field})` : ''}`, 'error');
      if (signal.aborted) return;
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
  const bulkBar = writable
    ? h('div', { class: 'bulk-bar', role: 'group', 'aria-label': 'Bulk actions on the selected alerts', testid: 'bulk-bar' },
      countLabel,
      bulkBtn('Acknowledge', 'bulk-ack', { action: 'update_status', status: 'acknowledged' }, 'acknowledged', 'btn btn-primary'),
      bulkBtn('Resolve', 'bulk-resolve', { action: 'update_status', status: 'resolved' }, 'resolved'),
      bulkBtn('False positive', 'bulk-fp', { action: 'update_status', status: 'false_positive' }, 'marked false positive'),
      bulkBtn('Reopen', 'bulk-reopen', { action: 'update_status', status: 'new' }, 'reopened'),
      h('span', { class: 'bulk-assign' }, h('label', { for: 'bulk-assignee', class: 'visually-hidden' }, 'Assignee'), assignInput, assignBtn))
    : notice('This token is read-only: alerts can be viewed and exported, not triaged. Triage needs a token with the write scope.', 'info', 'read-only-note');

  // ---- table ----
  const sortHeader = (keyName, cls) => {
    const isActive = sortKey === keyName;
    const nextOrder = isActive && order === 'desc' ? 'asc' : 'desc';
    const label = SORTS[keyName];
    return h('th', { scope: 'col', class: cls, 'aria-sort': isActive ? (order === 'asc' ? 'ascending' : 'descending') : 'none' },
      h('button', {
        type: 'button', class: ['sort', isActive ? `sort-${order}` : null], testid: `sort-${keyName}`,
        title: `Sort every matching alert: ${SORT_TEXT[keyName][nextOrder]}`,
        on: { click: () => ctx.navigate('/alerts', { ...params(), sort: keyName === 'id' ? null : keyName, order: nextOrder === 'desc' ? null : nextOrder }) },
      }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, isActive ? (order === 'asc' ? '▲' : '▼') : '↕')));
  };

  const tbody = h('tbody', null, rows.map((a) => {
    let box = null;
    const tr = h('tr', { testid: 'alert-row', 'data-alert-id': String(a.id), class: `row-${(a.threat_level || '').toLowerCase()}` });
    if (writable) {
      box = h('input', {
        type: 'checkbox', 'aria-label': `Select alert ${a.id}`, testid: 'row-select', value: String(a.id),
        on: {
          change: () => {
            if (box.checked) selected.add(a.id); else selected.delete(a.id);
            tr.classList.toggle('selected', box.checked);
            refreshSelection();
          },
        },
      });
      boxes.push({ box, id: a.id, tr });
    }
    replace(tr,
      h('td', { class: 'check' }, box),
      h('td', { class: 'num' }, h('a', { href: `#/alerts/${a.id}`, testid: 'alert-link' }, `#${a.id}`)),
      h('td', { class: 'nowrap' }, h('time', { datetime: a.timestamp }, time(a.timestamp))),
      h('td', null, levelBadge(a.threat_level)),
      h('td', { class: 'num strong', testid: 'alert-score' }, score(a.threat_score)),
      h('td', null, subjectLink(a)),
      h('td', { class: 'types' }, (a.primary_anomalies || []).map(humanize).join(', ') || '—'),
      h('td', { testid: 'alert-status' }, statusBadge(a.status)),
      h('td', { class: 'muted' }, a.assignee || '—'));
    return tr;
  }));

  const table = h('table', { class: ['table', 'alerts-table', writable ? null : 'read-only'], testid: 'alerts-table' },
    h('caption', { class: 'visually-hidden' }, `Alerts sorted by ${SORTS[sortKey]}, ${SORT_TEXT[sortKey][order]}; the ID, time and score headings change the sort`),
    h('thead', null, h('tr', null,
      h('th', { scope: 'col', class: 'check' }, writable ? all : h('span', { class: 'visually-hidden' }, 'Selection')),
      sortHeader('id', 'num'),
      sortHeader('time'),
      h('th', { scope: 'col' }, 'Level'),
      sortHeader('score', 'num'),
      h('th', { scope: 'col' }, 'Subject'),
      h('th', { scope: 'col' }, 'Anomalies'),
      h('th', { scope: 'col' }, 'Status'),
      h('th', { scope: 'col' }, 'Assignee'))),
    tbody);

  replace(body, bulkBar, tableWrap(table, 'Alerts table'), pager);
  if (writable) refreshSelection();
}
