// The Warden API client. The analyst's token is kept in sessionStorage: readable by this
// origin's scripts in this tab's session (a duplicated or restored tab may carry a copy),
// removed on sign-out, never written to localStorage or a cookie. It is sent only in the
// Authorization header, only to this page's own origin, never in a URL, and a request
// carrying it is not followed through redirects.

const TOKEN_KEY = 'warden.token';

/** The API's origin root: this file is at <root>/ui/js/api.js. */
export const ROOT = new URL('../../', import.meta.url);

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || null;
  } catch {
    return null;
  }
}

export function setToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: nothing kept */
  }
}

/** An API failure: the HTTP status and the server's `{"error": {code, message, field}}`. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'error';
    this.field = field || null;
  }
}

let unauthorized = () => {};

/** Called with the error when a request is answered 401 (the token is gone or wrong). */
export function onUnauthorized(fn) {
  unauthorized = fn;
}

export function apiUrl(path, query) {
  const u = new URL(path.replace(/^\//, ''), ROOT);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined || v === null || v === '') continue;
      u.searchParams.set(k, String(v));
    }
  }
  return u;
}

/**
 * A request carrying the token: to this page's origin only (anything else is refused
 * before a byte is sent), no cookies, no referrer, no cache and no redirects followed.
 */
export function authorizedFetch(url, token, init = {}) {
  const u = new URL(url, window.location.href);
  if (u.origin !== window.location.origin) {
    return Promise.reject(new ApiError(0, 'origin', `Refusing to send the token to ${u.origin}: not this page's origin.`));
  }
  const headers = { ...(init.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(u, {
    ...init,
    headers,
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
    redirect: 'error',
  });
}

async function errorOf(res) {
  let code = null;
  let message = null;
  let field = null;
  try {
    const body = await res.json();
    if (body && body.error) {
      ({ code, message, field } = body.error);
    }
  } catch {
    /* not JSON */
  }
  if (!message) {
    message = res.status === 404 ? 'Not found' : `The server answered HTTP ${res.status}`;
  }
  return new ApiError(res.status, code, message, field);
}

/**
 * One request. Options: method, query, body (JSON), signal, headers, raw (return the
 * Response), token (use this token instead of the stored one), quiet401 (do not sign out).
 */
export async function request(path, opts = {}) {
  const token = opts.token ?? getToken();
  const headers = { Accept: 'application/json', ...(opts.headers || {}) };
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = opts.contentType || 'application/json';
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  }
  let res;
  try {
    res = await authorizedFetch(apiUrl(path, opts.query), token, {
      method: opts.method || 'GET',
      headers,
      body,
      signal: opts.signal,
    });
  } catch (e) {
    if (e && (e.name === 'AbortError' || e instanceof ApiError)) throw e;
    throw new ApiError(0, 'network', 'Cannot reach the Warden server. Check that it is running.');
  }
  if (!res.ok) {
    const err = await errorOf(res);
    // A late answer for a token that is no longer the stored one (signed out, or in again
    // with another) must not sign the new caller out.
    if (res.status === 401 && !opts.quiet401 && token && token === getToken()) unauthorized(err);
    throw err;
  }
  if (opts.raw) return res;
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path, query, opts = {}) => request(path, { ...opts, query });
export const post = (path, body, opts = {}) => request(path, { ...opts, method: 'POST', body });
export const patch = (path, body, opts = {}) => request(path, { ...opts, method: 'PATCH', body });

export function isAbort(e) {
  return e && e.name === 'AbortError';
}

/**
 * Downloads a file that needs the bearer header: fetch → Blob → object URL → a click on
 * a temporary <a download>.
 */
export async function download(path, query, filename) {
  const res = await request(path, { query, raw: true, headers: { Accept: '*/*' } });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
  return blob.size;
}
