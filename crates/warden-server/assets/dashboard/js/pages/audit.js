// The audit history of some alerts: GET /v1/audit?target=alert:N for each, merged newest
// first. The audit log needs an admin token; other tokens get a note instead.

import * as api from '../api.js';
import { h, replace, time, card, loading, empty, errorBox, notice, tableWrap, num } from '../dom.js';

/** Alerts whose history is read (an incident may have many; the first given are read). */
const MAX_TARGETS = 100;
/** Entries read per alert. */
const PER_TARGET = 200;
/** Requests in flight at once. */
const PARALLEL = 6;

/** Runs fn over the items, at most `n` at a time, keeping the order of the results. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next;
      next += 1;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/**
 * A card with the history of `targets` (["alert:55", …], most relevant first).
 * Options: title, admin (whether the token may read the audit log; unknown: try).
 */
export function auditCard(ctx, { targets, title = 'History', admin = true }) {
  const body = h('div', null);
  const box = card(title, body, { testid: 'audit' });
  const list = [...new Set(targets)];
  if (!admin) {
    replace(body, notice('The audit history needs an admin token; this token\u2019s changes are recorded, but it cannot read the log.', 'info', 'audit-forbidden'));
    return box;
  }
  replace(body, loading('Loading the audit history…'));
  const read = list.slice(0, MAX_TARGETS);
  (async () => {
    try {
      const pages = await pool(read, PARALLEL, (target) => api.get('v1/audit', { target, limit: PER_TARGET }, { signal: ctx.signal }));
      const entries = pages.flatMap((p) => p.entries || [])
        .sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : y.id - x.id));
      const truncated = pages.some((p) => p.next_cursor);
      const notes = [
        list.length > read.length ? `The history of ${num(read.length)} of the ${num(list.length)} alerts is shown.` : null,
        truncated ? `At most the latest ${PER_TARGET} entries per alert are shown.` : null,
      ].filter(Boolean);
      if (!entries.length) {
        replace(body, empty('No triage change recorded yet.', notes.join(' ') || null));
        return;
      }
      const many = read.length > 1;
      replace(body,
        tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'audit-table' },
          h('thead', null, h('tr', null, ['When (UTC)', 'Who', ...(many ? ['Alert'] : []), 'Change'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, entries.map((e) => {
            const id = /^alert:(\d+)$/.exec(e.target || '');
            return h('tr', { testid: 'audit-row' },
              h('td', { class: 'nowrap' }, time(e.at)),
              h('td', { class: 'mono' }, e.actor),
              many ? h('td', null, id ? h('a', { href: `#/alerts/${id[1]}` }, `#${id[1]}`) : e.target) : null,
              h('td', null, e.detail || e.action));
          }))), 'Audit history'),
        h('p', { class: 'muted small', testid: 'audit-count' }, `${num(entries.length)} change${entries.length === 1 ? '' : 's'} recorded.${notes.length ? ` ${notes.join(' ')}` : ''}`));
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e.status === 403) {
        replace(body, notice('The audit history needs an admin token; this token\u2019s changes are recorded, but it cannot read the log.', 'info', 'audit-forbidden'));
      } else {
        replace(body, errorBox(e));
      }
    }
  })();
  return box;
}
