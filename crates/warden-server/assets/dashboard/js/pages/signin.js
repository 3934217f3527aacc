// Sign-in with an API token. The token is checked against the API, then kept in this
// tab's sessionStorage until sign-out; it is never put in a URL. The field is a text input
// masked by CSS, not a password field: browsers and password managers do not offer to save
// it, and it is emptied before the page moves on.

import * as api from '../api.js';
import { h, replace } from '../dom.js';

let pendingMessage = null;

/** A message to show on the next sign-in screen (e.g. "token rejected"). */
export function setMessage(text) {
  pendingMessage = text;
}

export function render(main, ctx) {
  const error = h('p', { class: 'form-error', role: 'alert', testid: 'signin-error', hidden: true });
  const input = h('input', {
    id: 'token', name: 'api-token', type: 'text', class: 'secret-input', autocomplete: 'off',
    autocapitalize: 'off', autocorrect: 'off', spellcheck: 'false', 'data-1p-ignore': 'true', 'data-lpignore': 'true',
    required: true, placeholder: 'wdn_…', testid: 'signin-token', 'aria-describedby': 'token-help',
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'signin-submit' }, 'Sign in');
  const showError = (text) => {
    error.textContent = text;
    error.hidden = false;
  };
  if (pendingMessage) {
    showError(pendingMessage);
    pendingMessage = null;
  }
  // method=post: should scripts ever fail, a submitted form must not put the token in a URL.
  const form = h('form', { class: 'signin-form', method: 'post', novalidate: true, testid: 'signin-form' },
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'muted small' },
      'Create one with ', h('code', null, 'warden token create --scope read --tenant NAME'),
      '. It is kept in this tab\u2019s session storage until you sign out, and sent only to this server, as a bearer header.'),
    error,
    submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      showError('Enter an API token.');
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    error.hidden = true;
    try {
      // Who the token is (tenant, scope); a token that cannot read is refused here.
      const me = await api.get('v1/whoami', null, { token, quiet401: true });
      api.setToken(token);
      input.value = '';
      ctx.onSignedIn(me);
    } catch (e) {
      if (e.status === 401) showError(`Token rejected: ${e.message}.`);
      else if (e.status === 403) showError(`This token cannot read alerts: ${e.message}`);
      else showError(e.message || 'Sign-in failed.');
      input.select();
      input.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });
  replace(main, h('div', { class: 'signin', testid: 'signin' },
    h('div', { class: 'signin-card card' },
      h('h1', { tabindex: '-1' }, 'Sign in to Warden'),
      h('p', { class: 'muted' }, 'Threat detection for your users\u2019 activity. Sign in with an API token of your tenant.'),
      form)));
  input.focus();
}
