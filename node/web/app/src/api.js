// The app is an OAuth client of the node's own Mastodon API, as Mastodon's web app is: it registers
// itself once (POST /api/v1/apps), logs in with the authorization code flow and PKCE through
// /oauth/authorize, and keeps its token in localStorage.

const SCOPES = 'read write follow push';
const APP_KEY = 'vitascope.app';
const TOKEN_KEY = 'vitascope.token';

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export const session = {
  get token() { return localStorage.getItem(TOKEN_KEY); },
  set token(value) { value ? localStorage.setItem(TOKEN_KEY, value) : localStorage.removeItem(TOKEN_KEY); },
};

/** One API call: JSON in (or FormData), JSON out; a Mastodon `{"error"}` becomes an ApiError. */
export async function api(path, options) {
  return (await request(path, options)).data;
}

/** As `api`, with the URL of the next page from the Link header (null on the last page). */
async function apiPage(path, options) {
  const { data, response } = await request(path, options);
  const link = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('Link') || '');
  return { data, next: link ? link[1] : null, limitReached: response.headers.get('Vitascope-Feed-End') === 'daily-limit' };
}

async function request(path, { method = 'GET', body, token = session.token } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload = body;
  if (body && !(body instanceof FormData) && !(body instanceof URLSearchParams)) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    throw new ApiError(response.status, (data && (data.error_description || data.error)) || response.statusText);
  }
  return { data, response };
}

function redirectUri() { return `${location.origin}/`; }

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** This browser's registration of the app (client id and secret), made once per origin. */
async function application() {
  const saved = JSON.parse(localStorage.getItem(APP_KEY) || 'null');
  if (saved && saved.redirect_uri === redirectUri()) return saved;
  const app = await api('/api/v1/apps', {
    method: 'POST', token: null,
    body: { client_name: 'Vitascope web', redirect_uris: redirectUri(), scopes: SCOPES, website: location.origin },
  });
  const kept = { client_id: app.client_id, client_secret: app.client_secret, redirect_uri: redirectUri() };
  localStorage.setItem(APP_KEY, JSON.stringify(kept));
  return kept;
}

/** Sends the browser to the node's authorize page (S256 PKCE; `plain` where WebCrypto is absent: plain HTTP). */
export async function startLogin() {
  const app = await application();
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  let challenge = verifier, method = 'plain';
  if (crypto.subtle) {
    challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    method = 'S256';
  }
  sessionStorage.setItem('vitascope.pkce', JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    client_id: app.client_id, redirect_uri: app.redirect_uri, response_type: 'code', scope: SCOPES, state,
    code_challenge: challenge, code_challenge_method: method, lang: document.documentElement.lang,
  });
  location.assign(`/oauth/authorize?${query}`);
}

/** Back from /oauth/authorize with ?code=: trade it for a token and clean the address bar. */
export async function finishLogin() {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  if (!code) return false;
  const pkce = JSON.parse(sessionStorage.getItem('vitascope.pkce') || 'null');
  sessionStorage.removeItem('vitascope.pkce');
  history.replaceState(null, '', '/' + location.hash);
  if (!pkce || pkce.state !== params.get('state')) return false;
  const app = await application();
  const token = await api('/oauth/token', {
    method: 'POST', token: null,
    body: { grant_type: 'authorization_code', code, client_id: app.client_id, redirect_uri: app.redirect_uri,
            code_verifier: pkce.verifier },
  });
  session.token = token.access_token;
  return true;
}

/** Sign up as Mastodon clients do: an app token (client credentials), then POST /api/v1/accounts. */
export async function signUp({ username, email, password, reason, locale }) {
  const app = await application();
  const appToken = await api('/oauth/token', {
    method: 'POST', token: null,
    body: { grant_type: 'client_credentials', client_id: app.client_id, client_secret: app.client_secret, scope: SCOPES },
  });
  const token = await api('/api/v1/accounts', {
    method: 'POST', token: appToken.access_token,
    body: { username, email, password, reason, locale, agreement: true },
  });
  return token.access_token;
}

export async function logOut() {
  const app = JSON.parse(localStorage.getItem(APP_KEY) || 'null');
  const token = session.token;
  session.token = null;
  if (app && token) {
    await api('/oauth/revoke', { method: 'POST', token: null,
      body: { client_id: app.client_id, client_secret: app.client_secret, token } });
  }
}

/** A page of a feed: `{items: [{status, ranked, why}], next, limitReached}`; `next` is the URL of the next page,
 *  null at the end; `limitReached`: a guardian's daily limit of feed videos ended it (docs/parental-controls.md).
 *  For You is the node's ranking (each item explains itself); Following is the home timeline. */
export async function feedPage(tab, next) {
  if (tab === 'for_you') {
    const page = await apiPage(next || '/api/v1/vitascope/timelines/for_you?limit=10');
    return { items: page.data.filter(isVideo).map(status => ({ status, ranked: true, why: status.vitascope.for_you })),
             next: page.next, limitReached: page.limitReached };
  }
  const page = await apiPage(next || '/api/v1/timelines/home?limit=10');
  const why = { sources: ['following'], reasons: [] };
  const items = page.data.map(s => s.reblog || s).filter(isVideo).map(status => ({ status, ranked: false, why }));
  return { items, next: page.data.length ? page.next : null, limitReached: page.limitReached };
}

/** Tells the ranking what the viewer did with a ranked video: `view` (watch time), `share`, `not_interested`. */
export function signal(status, kind, body = {}) {
  return api(`/api/v1/vitascope/statuses/${status.id}/${kind}`, { method: 'POST', body });
}

export function isVideo(status) {
  return status.media_attachments.some(m => m.type === 'video' || m.type === 'gifv');
}

export function videoOf(status) {
  return status.media_attachments.find(m => m.type === 'video' || m.type === 'gifv');
}

/** The plain text of a status's HTML content (never inserted as HTML). */
export function plainText(html) {
  return new DOMParser().parseFromString(html || '', 'text/html').body.textContent || '';
}

/** A live stream of the user's events over the streaming API's WebSocket. */
export function stream(name, onEvent) {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new WebSocket(`${scheme}://${location.host}/api/v1/streaming?stream=${encodeURIComponent(name)}`,
    session.token);
  socket.onmessage = message => {
    const data = JSON.parse(message.data);
    onEvent(data.event, typeof data.payload === 'string' && data.payload[0] === '{' ? JSON.parse(data.payload) : data.payload);
  };
  return () => socket.close();
}
