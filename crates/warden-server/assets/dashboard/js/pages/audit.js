// The audit history of some alerts, from the tenant's audit log (admin tokens only; other
// tokens get a note instead of an error).

import * as api from '../api.js';
import { h, replace, time, card, loading, empty, errorBox, notice, tableWrap } from '../dom.js';

/** Entries read from the newest end of the log to look for the targets. */
const SCAN = 500;

export function auditCard(ctx, { targets, title = 'History' }) {
  const body = h('div', null, loading('Loading the audit history…'));
  const box = card(title, body, { testid: 'audit' });
  (async () => {
    try {
      const res = await api.get('v1/audit', { limit: SCAN }, { signal: ctx.signal });
      const entries = (res.entries || []).filter((e) => targets.has(e.target));
      const more = !!res.next_cursor;
      if (!entries.length) {
        replace(body, empty('No triage change recorded yet.', more ? `Searched the latest ${SCAN} entries of the audit log.` : null));
        return;
      }
      replace(body,
        tableWrap(h('table', { class: 'table compact rows-narrow', testid: 'audit-table' },
          h('thead', null, h('tr', null, ['When (UTC)', 'Who', 'Target', 'Change'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, entries.map((e) => h('tr', { testid: 'audit-row' },
            h('td', { class: 'nowrap' }, time(e.at)),
            h('td', { class: 'mono' }, e.actor),
            h('td', { class: 'mono' }, e.target),
            h('td', null, e.detail || e.action))))), 'Audit history'),
        more ? h('p', { class: 'muted small' }, `From the latest ${SCAN} entries of the audit log.`) : null);
    } catch (e) {
      if (api.isAbort(e)) return;
      if (e.status === 403) {
        replace(body, notice('The audit history needs an admin token; this token can triage but not read the audit log.', 'info', 'audit-forbidden'));
      } else {
        replace(body, errorBox(e));
      }
    }
  })();
  return box;
}
