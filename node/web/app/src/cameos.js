// Cameos in settings (docs/cameos.md): create one (a person reads a challenge phrase on camera, recorded
// here with getUserMedia + MediaRecorder), its policy, requests to approve, "videos of me", revoke, delete.
// Everything goes through /api/v1/vitascope/cameos…; the node enforces every rule, the page only shows them.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { t } from './i18n.js';

const POLICIES = ['only_me', 'approve', 'mutuals', 'everyone'];
const MIN_S = 3;
const MAX_S = 10;

/** The best container this browser's MediaRecorder writes (WebM in Chromium and Firefox, MP4 in Safari). */
function recorderType() {
  return ['video/webm;codecs=vp8,opus', 'video/webm', 'video/mp4'].find(type => MediaRecorder.isTypeSupported(type)) || '';
}

/** A vertical 3–10 s clip with sound from the front camera: live preview, record, stop, replay. */
function Recorder({ onRecorded, disabled }) {
  const preview = useRef();
  const [stream, setStream] = useState(null);
  const [recorder, setRecorder] = useState(null);
  const [seconds, setSeconds] = useState(0);
  const [clip, setClip] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => () => stream && stream.getTracks().forEach(track => track.stop()), [stream]);
  useEffect(() => () => clip && URL.revokeObjectURL(clip.url), [clip]);
  useEffect(() => { if (preview.current && stream) preview.current.srcObject = stream; }, [stream, clip]);
  const open = async () => {
    setError(null);
    try {
      setStream(await navigator.mediaDevices.getUserMedia({
        audio: true, video: { facingMode: 'user', width: { ideal: 720 }, height: { ideal: 1280 }, aspectRatio: { ideal: 9 / 16 } } }));
    } catch (err) { setError(`${t('cameraRefused')} (${err.name})`); }
  };
  const start = () => {
    const type = recorderType();
    const rec = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    const chunks = [];
    const began = performance.now();
    rec.ondataavailable = e => { if (e.data.size) chunks.push(e.data); };
    const tick = setInterval(() => {
      const elapsed = (performance.now() - began) / 1000;
      setSeconds(Math.floor(elapsed));
      if (elapsed >= MAX_S - 0.2 && rec.state === 'recording') rec.stop();
    }, 200);
    rec.onstop = () => {
      clearInterval(tick);
      const blob = new Blob(chunks, { type: rec.mimeType || type || 'video/webm' });
      const recorded = { blob, url: URL.createObjectURL(blob), seconds: (performance.now() - began) / 1000 };
      setRecorder(null);
      setClip(recorded);
      onRecorded(recorded);
    };
    setClip(null);
    onRecorded(null);
    setSeconds(0);
    rec.start();  // one piece, so Chromium writes the duration in the WebM header (the node measures it otherwise)
    setRecorder(rec);
  };
  return html`<div class="recorder">
    ${!stream && html`<button type="button" onClick=${open} disabled=${disabled}>${t('openCamera')}</button>`}
    ${stream && !clip && html`<video ref=${preview} class="camera" autoplay muted playsinline aria-label=${t('cameraPreview')}></video>`}
    ${clip && html`<video class="camera" src=${clip.url} controls playsinline aria-label=${t('yourRecording')}></video>`}
    ${stream && !recorder && html`<button type="button" onClick=${start} disabled=${disabled}>${clip ? t('recordAgain') : t('record')}</button>`}
    ${recorder && html`<button type="button" onClick=${() => recorder.stop()} disabled=${seconds < MIN_S}>${t('stop')}</button>
      <span class="recording" role="timer">● ${seconds} / ${MAX_S} s</span>`}
    ${clip && html`<p class="muted" role="status">${t('recorded')} ${clip.seconds.toFixed(1)} s</p>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </div>`;
}

/** A new cameo: kind, name, @handle; a person first gets its challenge phrase, then records itself reading it. */
function NewCameo({ onCreated }) {
  const [form, setForm] = useState({ kind: 'person', name: '', handle: '' });
  const [challenge, setChallenge] = useState(null);
  const [clip, setClip] = useState(null);
  const [file, setFile] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const person = form.kind === 'person';
  const set = key => e => setForm({ ...form, [key]: e.target.value });
  const phrase = async () => {
    setError(null);
    try { setChallenge(await api('/api/v1/vitascope/cameos/challenges', { method: 'POST' })); setClip(null); }
    catch (err) { setError(err.message); }
  };
  const submit = async e => {
    e.preventDefault();
    setError(null);
    const recording = (!person && file) || (clip && clip.blob);
    if (!recording) return setError(t('recordFirst'));
    const body = new FormData();
    body.set('kind', form.kind);
    body.set('name', form.name);
    body.set('handle', form.handle.replace(/^@/, ''));
    if (person) body.set('challenge_id', challenge.id);
    body.set('recording', recording, recording.name || `capture.${recording.type.includes('mp4') ? 'mp4' : 'webm'}`);
    setBusy(true);
    try {
      onCreated(await api('/api/v1/vitascope/cameos', { method: 'POST', body }));
      setForm({ kind: 'person', name: '', handle: '' });
      setChallenge(null);
      setClip(null);
    } catch (err) {
      setError(err.message);
      if (person) setChallenge(null);  // a challenge is good for one attempt
    } finally { setBusy(false); }
  };
  return html`<form class="new-cameo" onSubmit=${submit} aria-label=${t('newCameo')}>
    <h3>${t('newCameo')}</h3>
    <label>${t('cameoKind')}<select name="kind" value=${form.kind} onChange=${e => { setForm({ ...form, kind: e.target.value }); setChallenge(null); setClip(null); }}>
      <option value="person">${t('kind_person')}</option><option value="character">${t('kind_character')}</option></select></label>
    <label>${t('cameoName')}<input name="name" required maxlength="100" value=${form.name} onInput=${set('name')} /></label>
    <label>${t('cameoHandle')}<input name="handle" required pattern="@?[A-Za-z0-9_]{1,30}" value=${form.handle} onInput=${set('handle')} /></label>
    <p class="muted">${t(person ? 'personCaptureHelp' : 'characterCaptureHelp')}</p>
    ${person && !challenge && html`<button type="button" onClick=${phrase}>${t('getPhrase')}</button>`}
    ${person && challenge && html`<p class="phrase">${t('readAloud')} <strong>${challenge.phrase}</strong></p>`}
    ${(!person || challenge) && html`<${Recorder} onRecorded=${setClip} disabled=${busy} />`}
    ${!person && html`<label>${t('orPickVideo')}<input type="file" name="recording" accept="video/*"
      onChange=${e => setFile(e.target.files[0] || null)} /></label>`}
    <button type="submit" class="primary" disabled=${busy || (person && !challenge)}>${busy ? t('uploading') : t('createCameo')}</button>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

/** `@acct` labels for account ids (allow and deny lists hold ids). */
function useAccounts(ids) {
  const [known, setKnown] = useState({});
  useEffect(() => {
    const missing = ids.filter(id => !known[id]);
    if (!missing.length) return;
    Promise.all(missing.map(id => api(`/api/v1/accounts/${id}`).catch(() => ({ id, acct: id }))))
      .then(found => setKnown(old => Object.assign({}, old, ...found.map(a => ({ [a.id]: a.acct })))));
  }, [ids.join(',')]);
  return known;
}

/** An editable list of people (ids) entered as @user. */
function People({ label, ids, onChange }) {
  const names = useAccounts(ids);
  const [entry, setEntry] = useState('');
  const [error, setError] = useState(null);
  const add = async () => {
    setError(null);
    try {
      const account = await api(`/api/v1/accounts/lookup?acct=${encodeURIComponent(entry.trim().replace(/^@/, ''))}`);
      if (!ids.includes(account.id)) onChange([...ids, account.id]);
      setEntry('');
    } catch (err) { setError(err.message); }
  };
  return html`<fieldset class="people"><legend>${label}</legend>
    <ul>${ids.map(id => html`<li key=${id}>@${names[id] || id}
      <button type="button" onClick=${() => onChange(ids.filter(i => i !== id))} aria-label=${`${t('remove')} @${names[id] || id}`}>✕</button></li>`)}</ul>
    <div class="add-person">
      <input value=${entry} onInput=${e => setEntry(e.target.value)} aria-label=${`${label}: ${t('addPerson')}`} placeholder="@user"
             onKeyDown=${e => { if (e.key === 'Enter') { e.preventDefault(); add(); } }} />
      <button type="button" onClick=${add} aria-label=${`${t('add')}: ${label}`}>${t('add')}</button>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </fieldset>`;
}

const localTime = iso => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

/** Who may use the cameo: PATCH /cameos/:id. Teens cannot choose everyone (the node refuses it too). */
function Policy({ cameo, teen, onSaved }) {
  const [edit, setEdit] = useState({ policy: cameo.policy, allow: cameo.allow, deny: cameo.deny,
                                     restrictions: cameo.restrictions, expires: localTime(cameo.expires_at) });
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => setEdit({ policy: cameo.policy, allow: cameo.allow, deny: cameo.deny,
                            restrictions: cameo.restrictions, expires: localTime(cameo.expires_at) }), [cameo]);
  const set = (key, value) => { setSaved(false); setEdit({ ...edit, [key]: value }); };
  const save = async e => {
    e.preventDefault();
    setError(null);
    try {
      onSaved(await api(`/api/v1/vitascope/cameos/${cameo.id}`, { method: 'PATCH', body: {
        policy: edit.policy, allow: edit.allow, deny: edit.deny, restrictions: edit.restrictions,
        expires_at: edit.expires ? new Date(edit.expires).toISOString() : '' } }));
      setSaved(true);
    } catch (err) { setError(err.message); }
  };
  return html`<form class="policy" onSubmit=${save} aria-label=${`${t('whoMayUse')} @${cameo.handle}`}>
    <h4>${t('whoMayUse')}</h4>
    <label>${t('policy')}<select name="policy" value=${edit.policy} onChange=${e => set('policy', e.target.value)}>
      ${POLICIES.map(p => html`<option value=${p} disabled=${p === 'everyone' && teen}>${t(`policy_${p}`)}</option>`)}</select></label>
    ${teen && html`<p class="muted">${t('teenNoEveryone')}</p>`}
    <${People} label=${t('alwaysAllowed')} ids=${edit.allow} onChange=${ids => set('allow', ids)} />
    <${People} label=${t('neverAllowed')} ids=${edit.deny} onChange=${ids => set('deny', ids)} />
    <label>${t('restrictions')}<textarea name="restrictions" maxlength="2000" value=${edit.restrictions}
      placeholder=${t('restrictionsExample')} onInput=${e => set('restrictions', e.target.value)}></textarea></label>
    <label>${t('expires')}<input type="datetime-local" name="expires_at" value=${edit.expires} onInput=${e => set('expires', e.target.value)} /></label>
    <button type="submit">${t('save')}</button> ${saved && html`<span role="status">${t('saved')}</span>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

/** Where a use's video stands: its post here, the generation here, or what a creator's node reported
 * (a deleted post: `remote.state` "deleted" for a remote creator, `video_deleted` for both). */
function useProgress(use) {
  if (use.status_id) return html` · <a href=${`#/s/${use.status_id}`}>${t('video')}</a>`;
  if (use.video_deleted && !use.remote) return ` · ${t('videoDeleted')}`;
  if (use.remote) {
    return html`${use.remote.state && ` · ${t(`remote_${use.remote.state}`)}`}
      ${use.remote.status_uri && html` · <a href=${use.remote.status_uri} rel="noopener noreferrer">${t('video')}</a>`}`;
  }
  return use.generation && use.generation.state ? ` · ${t('generation')} ${t(`gen_${use.generation.state}`)}` : '';
}

/** "Videos of me": every use of the cameo, drafts and refused ones included; take down, or revoke a person. */
function Uses({ cameo, version, onChanged }) {
  const [uses, setUses] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api(`/api/v1/vitascope/cameos/${cameo.id}/uses`).then(setUses, err => setError(err.message));
  useEffect(() => { load(); }, [cameo.id, version]);
  const act = async call => {
    setError(null);
    try { await call(); await load(); onChanged(); } catch (err) { setError(err.message); }
  };
  const takeDown = use => act(() => api(`/api/v1/vitascope/cameos/${cameo.id}/uses/${use.id}`, { method: 'DELETE' }));
  const revoke = use => act(() => api(`/api/v1/vitascope/cameos/${cameo.id}/revoke`, { method: 'POST', body: { account_id: use.creator.id } }));
  return html`<section class="uses" aria-label=${`${t('videosOfMe')} @${cameo.handle}`}><h4>${t('videosOfMe')}</h4>
    ${uses === null ? html`<p>${t('loading')}</p>` : uses.length === 0 ? html`<p class="muted">${t('noUses')}</p>` :
      html`<ul>${uses.map(use => html`<li key=${use.id} class="use" data-state=${use.state}>
        <p><a href=${`#/@${use.creator.acct}`}>@${use.creator.acct}</a> · <span class="use-state">${t(`use_${use.state}`)}</span>
          ${useProgress(use)}</p>
        <p class="muted">${use.prompt}</p>
        ${use.state !== 'denied' && html`<button onClick=${() => takeDown(use)}>${t('takeDown')}</button>`}
        ${use.creator.id !== cameo.owner_id && use.state !== 'denied' && use.state !== 'revoked' &&
          html` <button onClick=${() => revoke(use)}>${t('revokePerson')} @${use.creator.acct}</button>`}
      </li>`)}</ul>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

function CameoCard({ cameo, teen, me, refreshed, onChanged, onDeleted }) {
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState(null);
  const [version, setVersion] = useState(0);
  const reload = async () => onChanged(await api(`/api/v1/vitascope/cameos/${cameo.id}`));
  const revokeAll = async () => {
    const result = await api(`/api/v1/vitascope/cameos/${cameo.id}/revoke`, { method: 'POST', body: { all: true } });
    setMessage(`${t('revokedCount')} ${result.revoked}`);
    setVersion(v => v + 1);
    await reload();
  };
  const remove = async () => { await api(`/api/v1/vitascope/cameos/${cameo.id}`, { method: 'DELETE' }); onDeleted(cameo); };
  const mine = { ...cameo, owner_id: me.id };
  return html`<article class="cameo" aria-label=${`${t('cameoLabel')} @${cameo.handle}`}>
    <h3>${cameo.name} <span class="muted">@${cameo.handle} · ${t(`kind_${cameo.kind}`)}</span></h3>
    <p class="cameo-state" data-state=${cameo.state}>${t(`state_${cameo.state}`)}${cameo.review_reason ? ` — ${cameo.review_reason}` : ''}</p>
    <${Policy} cameo=${cameo} teen=${teen} onSaved=${onChanged} />
    <${Uses} cameo=${mine} version=${`${version}.${refreshed}`} onChanged=${reload} />
    <div class="danger">
      <button onClick=${revokeAll}>${t('revokeAll')}</button>
      ${!confirming && html`<button onClick=${() => setConfirming(true)}>${t('deleteCameo')}</button>`}
      ${confirming && html`<span role="alert">${t('reallyDelete')}</span>
        <button class="danger-button" onClick=${remove}>${t('yesDelete')}</button>
        <button onClick=${() => setConfirming(false)}>${t('keep')}</button>`}
      ${message && html`<p role="status">${message}</p>`}
    </div>
  </article>`;
}

/** Uses waiting for the owner's answer, across all of the owner's cameos. */
function Requests({ requests, onAnswered }) {
  if (!requests.length) return null;
  const answer = async (use, verb) => {
    await api(`/api/v1/vitascope/cameos/requests/${use.id}/${verb}`, { method: 'POST' });
    onAnswered();
  };
  return html`<section class="cameo-requests" aria-label=${t('cameoRequests')}><h3>${t('cameoRequests')}</h3>
    <ul>${requests.map(use => html`<li key=${use.id} class="request">
      <p><a href=${`#/@${use.creator.acct}`}>@${use.creator.acct}</a> ${t('wantsToUse')} @${use.handle}</p>
      <p class="muted">${use.prompt}</p>
      <button onClick=${() => answer(use, 'approve')}>${t('approve')}</button>
      <button onClick=${() => answer(use, 'deny')}>${t('reject')}</button></li>`)}</ul>
  </section>`;
}

export function Cameos({ me }) {
  const [cameos, setCameos] = useState(null);
  const [requests, setRequests] = useState([]);
  const [teen, setTeen] = useState(false);
  const [refreshed, setRefreshed] = useState(0);
  const load = async () => {
    const [mine, waiting, own] = await Promise.all([api('/api/v1/vitascope/cameos'), api('/api/v1/vitascope/cameos/requests'),
      api('/api/v1/vitascope/parental_controls').catch(() => ({ teen: false }))]);
    setCameos(mine);
    setRequests(waiting);
    setTeen(Boolean(own.teen));
    setRefreshed(n => n + 1);
  };
  useEffect(() => { load(); }, []);
  // A new capture is checked by the node's worker: poll until it leaves `pending`.
  useEffect(() => {
    if (!cameos || !cameos.some(c => c.state === 'pending')) return undefined;
    const id = setTimeout(load, 2000);
    return () => clearTimeout(id);
  }, [cameos]);
  if (!cameos) return null;
  const replace = cameo => setCameos(cameos.map(c => (c.id === cameo.id ? cameo : c)));
  return html`<section class="cameos"><h2>${t('cameos')}</h2>
    <p class="muted">${t('cameosIntro')}</p>
    <${Requests} requests=${requests} onAnswered=${load} />
    ${cameos.map(c => html`<${CameoCard} key=${c.id} cameo=${c} teen=${teen} me=${me} refreshed=${refreshed} onChanged=${replace}
      onDeleted=${gone => setCameos(cameos.filter(x => x.id !== gone.id))} />`)}
    <${NewCameo} onCreated=${cameo => setCameos([cameo, ...cameos])} />
  </section>`;
}

const PARTIAL_TAG = /(?:^|[^\w@/])@([A-Za-z0-9_]{1,30})$/;

/** The create page's prompt, with autocomplete for the `@handle` being typed: the cameos this user may tag
 *  (GET /cameos/search), those that wait for their owner's approval marked so. */
export function PromptField({ label, value, onChange }) {
  const area = useRef();
  const [caret, setCaret] = useState(value.length);
  const [suggestions, setSuggestions] = useState([]);
  const partial = PARTIAL_TAG.exec(value.slice(0, caret));
  const q = partial ? partial[1] : null;
  useEffect(() => {
    if (!q) { setSuggestions([]); return undefined; }
    let live = true;
    const id = setTimeout(() => api(`/api/v1/vitascope/cameos/search?q=${encodeURIComponent(q)}`)
      .then(found => live && setSuggestions(found), () => {}), 150);
    return () => { live = false; clearTimeout(id); };
  }, [q]);
  const pick = cameo => {
    const start = caret - q.length;
    const at = start + cameo.handle.length + 1;
    onChange(`${value.slice(0, start)}${cameo.handle} ${value.slice(caret)}`);
    setCaret(at);
    setSuggestions([]);
    requestAnimationFrame(() => { area.current.focus(); area.current.setSelectionRange(at, at); });
  };
  const typed = e => { setCaret(e.target.selectionStart); onChange(e.target.value); };
  return html`<label>${label}<textarea ref=${area} name="prompt" required maxlength="2000" value=${value} onInput=${typed}
      onKeyUp=${e => setCaret(e.target.selectionStart)} onClick=${e => setCaret(e.target.selectionStart)}></textarea></label>
    ${q && suggestions.length > 0 && html`<ul class="suggestions" aria-label=${t('cameoSuggestions')}>
      ${suggestions.map(c => html`<li key=${c.id}><button type="button" onClick=${() => pick(c)}>@${c.handle}
        <span class="muted"> ${c.name}${c.needs_approval ? ` · ${t('askOwner')}` : ''}</span></button></li>`)}</ul>`}`;
}
