// The Vitascope web app: a vertical video feed and the rest of a social app, on the node's own API.
import { html, render } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, feedPage, finishLogin, isVideo, logOut, plainText, session, signal, signUp, startLogin, stream, videoOf } from './api.js';
import { Cameos, PromptField } from './cameos.js';
import { LANGUAGES, lang, setLanguage, t } from './i18n.js';

const reducedMotion = () => matchMedia('(prefers-reduced-motion: reduce)').matches;
const ENDED = ['done', 'failed', 'cancelled'];

function useRoute() {
  const [hash, setHash] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const changed = () => setHash(location.hash.slice(1) || '/');
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  const [path, query = ''] = hash.split('?');
  return { path, query: new URLSearchParams(query) };
}

const go = path => { location.hash = path; };

function Nav({ me }) {
  return html`<nav class="bottom-nav" aria-label="Main">
    <a href="#/">${t('home')}</a>
    <a href="#/search">${t('search')}</a>
    <a href="#/create" class="create-link">${t('create')}</a>
    ${me ? html`<a href="#/notifications">${t('notifications')}</a>
                <a href=${`#/@${me.acct}`}>${t('profile')}</a>`
         : html`<a href="#/login">${t('logIn')}</a>`}
    <a href="#/settings">${t('settings')}</a>
  </nav>`;
}

function Toast({ text }) {
  return html`<div class="toast" role="status" aria-live="polite">${text}</div>`;
}

function FollowButton({ me, account, following, onChange }) {
  if (!me || me.id === account.id) return null;
  const toggle = async () => {
    const rel = await api(`/api/v1/accounts/${account.id}/${following ? 'unfollow' : 'follow'}`, { method: 'POST' });
    onChange(rel.following || rel.requested);
  };
  return html`<button class="follow" onClick=${toggle}>${following ? t('unfollow') : t('follow')}</button>`;
}

/** The "Made with AI · verified by …" mark, from the video's provenance and the status's remix link. */
function Provenance({ status }) {
  const media = videoOf(status);
  const p = media && media.provenance;
  if (!p) return null;
  const remixOf = status.vitascope && status.vitascope.remix_of_id;
  return html`<p class="provenance">
    ${p.ai_generated ? t('madeWithAi') : ''}${p.verified ? ` · ${t('verifiedBy')} ${p.node}` : ` · ${t('notVerified')}`}
    ${remixOf ? html` · <a href=${`#/s/${remixOf}`}>${t('remixOf')}</a>` : ''}
  </p>`;
}

function Comments({ status, me, autofocus }) {
  const [replies, setReplies] = useState(null);
  const [text, setText] = useState('');
  const [error, setError] = useState(null);
  const input = useRef();
  useEffect(() => {
    api(`/api/v1/statuses/${status.id}/context`).then(c => setReplies(c.descendants));
    if (autofocus && input.current) input.current.focus();
  }, [status.id]);
  const send = async event => {
    event.preventDefault();
    try {
      const reply = await api('/api/v1/statuses', { method: 'POST', body: { status: text, in_reply_to_id: status.id } });
      setReplies([...(replies || []), reply]);
      setText('');
    } catch (e) { setError(e.message); }
  };
  return html`<div class="comments">
    ${replies === null ? html`<p>${t('loading')}</p>` : replies.length === 0 ? html`<p class="muted">${t('noComments')}</p>` :
      html`<ul class="comment-list">${replies.map(r => html`<li key=${r.id}>
        <a href=${`#/@${r.account.acct}`}>@${r.account.acct}</a> ${plainText(r.content)}</li>`)}</ul>`}
    ${me ? html`<form class="comment-form" onSubmit=${send}>
      <label class="sr-only" for=${`c-${status.id}`}>${t('writeComment')}</label>
      <input id=${`c-${status.id}`} ref=${input} value=${text} onInput=${e => setText(e.target.value)}
             placeholder=${t('writeComment')} required />
      <button type="submit">${t('send')}</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>` : html`<p><a href="#/login">${t('signInToAct')}</a></p>`}
  </div>`;
}

function Sheet({ title, onClose, children }) {
  useEffect(() => {
    const key = e => { if (e.key === 'Escape') onClose(); };
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, []);
  return html`<div class="sheet" role="dialog" aria-modal="true" aria-label=${title}>
    <header><h2>${title}</h2><button onClick=${onClose} aria-label=${t('close')}>✕</button></header>
    ${children}
  </div>`;
}

/** "Why am I seeing this": the item's candidate sources and its strongest ranking features, in words
 *  (a feature the app does not know yet, from a newer node, shows its name). */
function Why({ why }) {
  const named = (prefix, name) => { const text = t(`${prefix}${name}`); return text === `${prefix}${name}` ? name : text; };
  return html`<ul class="why">${why.sources.map(name => html`<li key=${name}>${named('src_', name)}</li>`)}</ul>
    ${why.reasons.length > 0 && html`<h3>${t('rankedBy')}</h3><ul class="reasons">${why.reasons.slice(0, 5).map(r =>
      html`<li key=${r.feature} data-feature=${r.feature}>${named('f_', r.feature)} <span class="muted">${(r.weight * r.value) > 0 ? '+' : ''}${(r.weight * r.value).toFixed(2)}</span></li>`)}</ul>`}`;
}

/** One full-screen video with its overlay. Plays while `active`; preloads while `near`. */
function Slide({ status, why, ranked, index, active, near, muted, me, following, onFollow, onNotInterested, onToast, standalone }) {
  const video = useRef();
  const [item, setItem] = useState(status);
  const [sheet, setSheet] = useState(null);
  const media = videoOf(item);
  const playedSince = useRef(null);
  useEffect(() => {
    const v = video.current;
    if (!v) return;
    if (active) {
      playedSince.current = performance.now();
      v.play().catch(() => {});
      return;
    }
    v.pause();
    // Leaving a ranked video tells the ranking how long it was watched (watch time and completion).
    if (playedSince.current !== null && ranked && me && v.duration) {
      const watched = Math.round(performance.now() - playedSince.current);
      const length = Math.round(v.duration * 1000);
      signal(item, 'view', { watched_ms: watched, duration_ms: length, completed: watched >= length }).catch(() => {});
    }
    playedSince.current = null;
  }, [active]);
  useEffect(() => { if (video.current) video.current.muted = muted; }, [muted]);
  const caption = plainText(item.content);
  const like = async () => {
    if (!me) return onToast(t('signInToAct'));
    setItem(await api(`/api/v1/statuses/${item.id}/${item.favourited ? 'unfavourite' : 'favourite'}`, { method: 'POST' }));
  };
  const share = async () => {
    const url = item.url || item.uri;
    if (ranked && me) signal(item, 'share').catch(() => {});
    if (navigator.share) {
      try { await navigator.share({ url, title: caption }); return; } catch { /* closed or refused: copy instead */ }
    }
    await navigator.clipboard.writeText(url);
    onToast(t('linkCopied'));
  };
  const alt = media.description || caption || t('video');
  return html`<section class="slide" data-index=${index} data-id=${item.id} aria-label=${`${t('video')} @${item.account.acct}`}>
    <video ref=${video} src=${media.url} poster=${media.preview_url} loop playsinline muted=${muted}
           preload=${near ? 'auto' : 'none'} aria-label=${alt} class="player" autoplay=${standalone}></video>
    <div class="overlay">
      <div class="meta">
        <p class="author"><a href=${`#/@${item.account.acct}`}>@${item.account.acct}</a>
          <${FollowButton} me=${me} account=${item.account} following=${following} onChange=${onFollow} /></p>
        <p class="caption">${caption}</p>
        <${Provenance} status=${item} />
      </div>
      <div class="actions">
        <button onClick=${like} aria-pressed=${item.favourited} aria-label=${item.favourited ? t('unlike') : t('like')}
                class=${item.favourited ? 'liked' : ''}>♥<span>${item.favourites_count}</span></button>
        <button onClick=${() => setSheet('comments')} aria-label=${t('comments')}>✎<span>${item.replies_count}</span></button>
        <button onClick=${share} aria-label=${t('share')}>↗<span>${t('share')}</span></button>
        ${item.vitascope && item.vitascope.remixable !== false &&
          html`<a class="button" href=${`#/create?remix=${item.id}`} aria-label=${t('remix')}>⟳<span>${t('remix')}</span></a>`}
        ${onNotInterested && html`<button onClick=${() => onNotInterested(item)} aria-label=${t('notInterested')}>⊘<span>${t('notInterested')}</span></button>`}
        ${why && html`<button onClick=${() => setSheet('why')} aria-label=${t('why')}>?<span>${t('why')}</span></button>`}
      </div>
    </div>
    ${sheet === 'comments' && html`<${Sheet} title=${t('comments')} onClose=${() => setSheet(null)}>
      <${Comments} status=${item} me=${me} autofocus=${true} /><//>`}
    ${sheet === 'why' && html`<${Sheet} title=${t('why')} onClose=${() => setSheet(null)}><${Why} why=${why} /><//>`}
  </section>`;
}

function Feed({ me, onToast }) {
  const [tab, setTab] = useState('for_you');
  const [items, setItems] = useState([]);
  const [next, setNext] = useState(null);
  const [loading, setLoading] = useState(true);
  const [limitReached, setLimitReached] = useState(false);
  const [active, setActive] = useState(0);
  const [muted, setMuted] = useState(true);
  const [following, setFollowing] = useState({});
  const scroller = useRef();
  const loadingMore = useRef(false);

  const load = useCallback(async (which, more) => {
    loadingMore.current = true;
    const page = await feedPage(which, more);
    setItems(old => {
      const kept = more ? old : [];
      const seen = new Set(kept.map(i => i.status.id));
      return [...kept, ...page.items.filter(i => !seen.has(i.status.id))];
    });
    setNext(page.next);
    setLimitReached(page.limitReached);
    setLoading(false);
    loadingMore.current = false;
    if (me && page.items.length) {
      const query = page.items.map(i => `id[]=${i.status.account.id}`).join('&');
      const rels = await api(`/api/v1/accounts/relationships?${query}`);
      setFollowing(old => Object.assign({}, old, ...rels.map(r => ({ [r.id]: r.following || r.requested }))));
    }
  }, [me]);

  useEffect(() => { setLoading(true); setActive(0); load(tab, null); scroller.current.scrollTop = 0; }, [tab, me]);
  useEffect(() => {
    const io = new IntersectionObserver(entries => {
      for (const entry of entries) if (entry.isIntersecting) setActive(Number(entry.target.dataset.index));
    }, { root: scroller.current, threshold: 0.6 });
    scroller.current.querySelectorAll('.slide').forEach(el => io.observe(el));
    return () => io.disconnect();
  }, [items]);
  useEffect(() => {
    if (next && !loadingMore.current && active >= items.length - 3) load(tab, next);
  }, [active, items, next]);

  const move = to => {
    const slide = scroller.current.querySelectorAll('.slide')[to];
    if (slide) slide.scrollIntoView({ behavior: reducedMotion() ? 'auto' : 'smooth', block: 'start' });
  };
  useEffect(() => {
    const key = e => {
      if (e.target.closest('input, textarea, select, .sheet') || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === 'ArrowDown' || e.key === 'PageDown' || (e.key === ' ' && !e.shiftKey)) { e.preventDefault(); move(active + 1); }
      else if (e.key === 'ArrowUp' || e.key === 'PageUp' || (e.key === ' ' && e.shiftKey)) { e.preventDefault(); move(active - 1); }
      else if (e.key === 'm' || e.key === 'M') setMuted(m => !m);
    };
    addEventListener('keydown', key);
    return () => removeEventListener('keydown', key);
  }, [active]);

  // The first tap anywhere on the feed turns the sound on (browsers only autoplay muted video). A click, not a
  // pointerdown: a swipe starts with pointerdown too, and unmuting outside a user activation pauses the video.
  const firstTap = useRef(true);
  const tap = e => {
    if (firstTap.current && !e.target.closest('button, a, input, .sheet')) { firstTap.current = false; setMuted(false); }
  };
  const notInterested = item => {
    if (item.ranked && me) signal(item.status, 'not_interested').catch(() => {});
    setItems(old => old.filter(i => i.status.id !== item.status.id));
  };

  return html`<main class="feed-screen">
    <div class="tabs" role="tablist" aria-label=${t('home')}>
      ${[['for_you', t('forYou')], ['following', t('following')]].map(([id, label]) =>
        (id === 'following' && !me) ? null :
        html`<button role="tab" aria-selected=${tab === id} onClick=${() => setTab(id)}>${label}</button>`)}
      <button class="mute" onClick=${() => { firstTap.current = false; setMuted(m => !m); }} aria-pressed=${!muted}
              aria-label=${muted ? t('muted') : t('sound')}>${muted ? '♪✕' : '♪'}</button>
    </div>
    <div class="feed" ref=${scroller} onClick=${tap} tabindex="-1">
      ${items.map((item, index) => html`<${Slide} key=${item.status.id} status=${item.status} why=${item.why} ranked=${item.ranked} index=${index}
          active=${index === active} near=${index >= active - 1 && index <= active + 2} muted=${muted} me=${me}
          following=${following[item.status.account.id]} onFollow=${f => setFollowing({ ...following, [item.status.account.id]: f })}
          onNotInterested=${() => notInterested(item)} onToast=${onToast} />`)}
      ${limitReached && html`<section class="slide day-end" data-index=${items.length} aria-live="polite">
        <h2>${t('dayEnd')}</h2><p>${t('dayEndMore')}</p></section>`}
      ${!loading && !limitReached && items.length === 0 && html`<p class="empty">${t('emptyFeed')}</p>`}
      ${loading && html`<p class="empty">${t('loading')}</p>`}
    </div>
    ${muted && firstTap.current && items.length > 0 && html`<p class="hint" aria-hidden="true">${t('tapForSound')}</p>`}
  </main>`;
}

function StatusPage({ id, me, onToast }) {
  const [status, setStatus] = useState(null);
  const [error, setError] = useState(null);
  const [following, setFollowing] = useState(false);
  useEffect(() => { api(`/api/v1/statuses/${id}`).then(setStatus, e => setError(e.message)); }, [id]);
  if (error) return html`<main class="page"><p class="error" role="alert">${error}</p></main>`;
  if (!status) return html`<main class="page"><p>${t('loading')}</p></main>`;
  return html`<main class="page status-page">
    ${isVideo(status) && html`<div class="single"><${Slide} status=${status} index=${0} active=${true} near=${true} muted=${true}
        me=${me} following=${following} onFollow=${setFollowing} onToast=${onToast} standalone=${true} /></div>`}
    <h2>${t('comments')}</h2>
    <${Comments} status=${status} me=${me} />
  </main>`;
}

function Grid({ statuses }) {
  return html`<ul class="grid">${statuses.filter(isVideo).map(s => {
    const media = videoOf(s);
    return html`<li key=${s.id}><a href=${`#/s/${s.id}`}>
      <img src=${media.preview_url} alt=${media.description || plainText(s.content) || t('video')} loading="lazy" /></a></li>`;
  })}</ul>`;
}

function Profile({ acct, me }) {
  const [account, setAccount] = useState(null);
  const [statuses, setStatuses] = useState([]);
  const [following, setFollowing] = useState(false);
  const [error, setError] = useState(null);
  useEffect(() => {
    (async () => {
      try {
        const a = await api(`/api/v1/accounts/lookup?acct=${encodeURIComponent(acct)}`);
        setAccount(a);
        setStatuses(await api(`/api/v1/accounts/${a.id}/statuses?only_media=true&exclude_replies=true&limit=30`));
        if (me) {
          const [rel] = await api(`/api/v1/accounts/relationships?id[]=${a.id}`);
          setFollowing(rel.following || rel.requested);
        }
      } catch (e) { setError(e.message); }
    })();
  }, [acct, me]);
  if (error) return html`<main class="page"><p class="error" role="alert">${error}</p></main>`;
  if (!account) return html`<main class="page"><p>${t('loading')}</p></main>`;
  const changed = f => { setFollowing(f); setAccount({ ...account, followers_count: account.followers_count + (f ? 1 : -1) }); };
  return html`<main class="page profile">
    <header class="profile-head">
      <img class="avatar" src=${account.avatar} alt="" />
      <div><h1>${account.display_name || account.username}</h1><p class="muted">@${account.acct}</p></div>
    </header>
    <p>${plainText(account.note)}</p>
    <dl class="counts">
      <div><dt>${t('videos')}</dt><dd>${account.statuses_count}</dd></div>
      <div><dt>${t('followers')}</dt><dd>${account.followers_count}</dd></div>
      <div><dt>${t('followingCount')}</dt><dd>${account.following_count}</dd></div>
    </dl>
    <${FollowButton} me=${me} account=${account} following=${following} onChange=${changed} />
    <${Grid} statuses=${statuses} />
  </main>`;
}

/** Create a video: the prompt form, live progress from the job's event stream, then post, keep or discard. */
function Create({ me, remixId }) {
  const [form, setForm] = useState({ prompt: '', duration: 4, aspect: '9:16', audio: true });
  const [image, setImage] = useState(null);
  const [quota, setQuota] = useState(null);
  const [source, setSource] = useState(null);
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  const [post, setPost] = useState({ caption: '', visibility: 'public' });
  const [drafts, setDrafts] = useState(() => JSON.parse(localStorage.getItem('vitascope.drafts') || '[]'));
  const events = useRef(null);
  const saveDrafts = list => { setDrafts(list); localStorage.setItem('vitascope.drafts', JSON.stringify(list)); };
  useEffect(() => { if (me) api('/api/v1/vitascope/quota').then(setQuota); }, [me, job && job.state]);
  useEffect(() => { setSource(null); if (remixId) api(`/api/v1/statuses/${remixId}`).then(setSource); }, [remixId]);
  useEffect(() => () => events.current && events.current.close(), []);
  if (!me) return html`<main class="page"><p><a href="#/login">${t('signInToAct')}</a></p></main>`;

  const follow = started => {
    setJob(started);
    if (events.current) events.current.close();
    if (ENDED.includes(started.state)) return;
    const es = new EventSource(`/api/v1/vitascope/generations/${started.id}/events?access_token=${encodeURIComponent(session.token)}`);
    es.addEventListener('vitascope.generation', e => {
      const update = JSON.parse(e.data);
      setJob(update);
      if (ENDED.includes(update.state)) es.close();
    });
    events.current = es;
  };
  const submit = async e => {
    e.preventDefault();
    setError(null);
    const body = new FormData();
    for (const [k, v] of Object.entries(form)) body.set(k, String(v));
    body.set('publish_prompt', 'true');
    if (image) body.set('image', image);
    if (remixId) body.set('remix_of_id', remixId);
    try { follow(await api('/api/v1/vitascope/generations', { method: 'POST', body })); }
    catch (err) { setError(err.message); }
  };
  const publish = async e => {
    e.preventDefault();
    try {
      const status = await api('/api/v1/statuses', { method: 'POST', body: {
        status: post.caption, visibility: post.visibility, media_ids: [job.media_attachment.id] } });
      saveDrafts(drafts.filter(id => id !== job.id));
      go(`/s/${status.id}`);
    } catch (err) { setError(err.message); }
  };
  const keep = () => { if (!drafts.includes(job.id)) saveDrafts([job.id, ...drafts]); setJob(null); };
  const discard = async () => {
    if (!ENDED.includes(job.state)) await api(`/api/v1/vitascope/generations/${job.id}`, { method: 'DELETE' });
    saveDrafts(drafts.filter(id => id !== job.id));
    setJob(null);
  };
  const set = key => e => setForm({ ...form, [key]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  const progress = job && job.progress;
  return html`<main class="page create">
    <h1>${t('create')}</h1>
    ${quota && html`<p class="quota">${t('quota')}: <strong>${quota.free_left_today}</strong> / ${quota.free_per_day} · ${t('credits')}: <strong>${quota.credits}</strong></p>`}
    ${source && html`<p class="remixing">${t('remixing')} <a href=${`#/s/${source.id}`}>@${source.account.acct}</a>: ${plainText(source.content)}</p>`}
    ${!job && html`<form onSubmit=${submit}>
      <${PromptField} label=${t('prompt')} value=${form.prompt} onChange=${prompt => setForm(old => ({ ...old, prompt }))} />
      <label>${t('duration')}<input name="duration" type="number" min="1" max="10" step="1" value=${form.duration} onInput=${set('duration')} /></label>
      <label>${t('aspect')}<select name="aspect" value=${form.aspect} onChange=${set('aspect')}>
        ${['9:16', '1:1', '16:9'].map(a => html`<option value=${a}>${a}</option>`)}</select></label>
      <label class="check"><input type="checkbox" name="audio" checked=${form.audio} onChange=${set('audio')} /> ${t('withSound')}</label>
      <label>${t('image')}<input type="file" name="image" accept="image/*" onChange=${e => setImage(e.target.files[0] || null)} /></label>
      <button type="submit">${t('generate')}</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${t('refused')}: ${error}</p>`}
    ${job && html`<section class="job" aria-live="polite">
      <p class="job-state" data-state=${job.state}>${job.state === 'queued' ? t('queued') : job.state === 'running' ? t('generating') : t(job.state === 'awaiting_consent' ? 'awaitingConsent' : job.state)}</p>
      <progress max=${progress.total || 1} value=${job.state === 'done' ? (progress.total || 1) : progress.step}
                aria-label=${t('generating')}></progress>
      ${job.state === 'failed' && html`<p class="error" role="alert">${job.error}</p>`}
      ${job.state === 'done' && job.media_attachment && html`
        <video class="preview" src=${job.media_attachment.url} loop autoplay muted playsinline controls aria-label=${job.prompt}></video>
        <form onSubmit=${publish}>
          <label>${t('caption')}<textarea name="caption" value=${post.caption} onInput=${e => setPost({ ...post, caption: e.target.value })}></textarea></label>
          <label>${t('visibility')}<select name="visibility" value=${post.visibility} onChange=${e => setPost({ ...post, visibility: e.target.value })}>
            ${['public', 'unlisted', 'private'].map(v => html`<option value=${v}>${t(v)}</option>`)}</select></label>
          <button type="submit">${t('post')}</button>
          <button type="button" onClick=${keep}>${t('keepDraft')}</button>
        </form>`}
      <button type="button" onClick=${discard}>${t('discard')}</button>
    </section>`}
    ${drafts.length > 0 && !job && html`<section><h2>${t('drafts')}</h2><ul class="drafts">
      ${drafts.map(id => html`<li key=${id}><button onClick=${async () => follow(await api(`/api/v1/vitascope/generations/${id}`))}>#${id}</button></li>`)}
    </ul></section>`}
  </main>`;
}

function Notifications({ me }) {
  const [items, setItems] = useState(null);
  useEffect(() => {
    if (!me) return undefined;
    api('/api/v1/notifications?limit=30').then(setItems);
    return stream('user:notification', (event, payload) => {
      if (event === 'notification') setItems(old => [payload, ...(old || []).filter(n => n.id !== payload.id)]);
    });
  }, [me]);
  if (!me) return html`<main class="page"><p><a href="#/login">${t('signInToAct')}</a></p></main>`;
  return html`<main class="page"><h1>${t('notifications')}</h1>
    ${items === null ? html`<p>${t('loading')}</p>` : items.length === 0 ? html`<p class="muted">${t('noNotifications')}</p>` :
      html`<ul class="notifications" aria-live="polite">${items.map(n => html`<li key=${n.id}>
        <a href=${`#/@${n.account.acct}`}>@${n.account.acct}</a> ${t(`n_${n.type}`)}
        ${n.status && html` · <a href=${`#/s/${n.status.id}`}>${plainText(n.status.content) || t('video')}</a>`}</li>`)}</ul>`}
  </main>`;
}

function Search() {
  const [q, setQ] = useState('');
  const [results, setResults] = useState(null);
  const submit = async e => {
    e.preventDefault();
    setResults(await api(`/api/v2/search?q=${encodeURIComponent(q)}&resolve=true&limit=20`));
  };
  const empty = results && !results.accounts.length && !results.statuses.length && !results.hashtags.length;
  return html`<main class="page"><h1>${t('search')}</h1>
    <form role="search" onSubmit=${submit}>
      <label class="sr-only" for="q">${t('search')}</label>
      <input id="q" type="search" value=${q} onInput=${e => setQ(e.target.value)} placeholder=${t('searchPlaceholder')} />
    </form>
    ${empty && html`<p class="muted">${t('noResults')}</p>`}
    ${results && results.accounts.length > 0 && html`<h2>${t('accounts')}</h2><ul class="accounts">
      ${results.accounts.map(a => html`<li key=${a.id}><a href=${`#/@${a.acct}`}>${a.display_name || a.username} <span class="muted">@${a.acct}</span></a></li>`)}</ul>`}
    ${results && results.hashtags.length > 0 && html`<h2>${t('hashtags')}</h2><ul>
      ${results.hashtags.map(h => html`<li key=${h.name}>#${h.name}</li>`)}</ul>`}
    ${results && results.statuses.length > 0 && html`<h2>${t('statuses')}</h2><${Grid} statuses=${results.statuses} />`}
  </main>`;
}

/** For You steering: plain words of what to see more or less of, personalisation on/off (PUT /for_you/preferences). */
function FeedPreferences() {
  const [prefs, setPrefs] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => { api('/api/v1/vitascope/for_you/preferences').then(setPrefs, () => setPrefs(null)); }, []);
  if (!prefs) return null;
  const save = async e => {
    e.preventDefault();
    setPrefs(await api('/api/v1/vitascope/for_you/preferences', { method: 'PUT',
      body: { more: prefs.more, less: prefs.less, personalized: prefs.personalized } }));
    setSaved(true);
  };
  return html`<form class="feed-prefs" onSubmit=${save}><h2>${t('feedSettings')}</h2>
    <label class="check"><input type="checkbox" checked=${prefs.personalized}
      onChange=${e => setPrefs({ ...prefs, personalized: e.target.checked })} /> ${t('personalised')}</label>
    <p>${t('steering')}</p>
    <label>${t('more')}<textarea name="more" value=${prefs.more} onInput=${e => setPrefs({ ...prefs, more: e.target.value })}></textarea></label>
    <label>${t('less')}<textarea name="less" value=${prefs.less} onInput=${e => setPrefs({ ...prefs, less: e.target.value })}></textarea></label>
    <button type="submit">${t('save')}</button> ${saved && html`<span role="status">${t('saved')}</span>`}
  </form>`;
}

/** Parental controls (docs/parental-controls.md): ask to link a teen, accept or decline a pending request,
 *  and, as a guardian, each teen's controls; a teen sees its own. The node enforces them for every client. */
function ParentalControls() {
  const [state, setState] = useState(null);
  const [teen, setTeen] = useState('');
  const [message, setMessage] = useState(null);
  const load = async () => {
    const [own, requests, wards] = await Promise.all([api('/api/v1/vitascope/parental_controls'),
      api('/api/v1/vitascope/guardian_requests'), api('/api/v1/vitascope/wards')]);
    setState({ own, requests, wards });
  };
  useEffect(() => { load(); }, []);
  if (!state) return null;
  const ask = async e => {
    e.preventDefault();
    setMessage(null);
    try {
      const account = await api(`/api/v1/accounts/lookup?acct=${encodeURIComponent(teen.replace(/^@/, ''))}`);
      await api('/api/v1/vitascope/guardian_requests', { method: 'POST', body: { teen_id: account.id } });
      setTeen('');
      setMessage(t('requestSent'));
      await load();
    } catch (err) { setMessage(err.message); }
  };
  const answer = async (request, verb) => {
    await api(`/api/v1/vitascope/guardian_requests/${request.id}/${verb}`, { method: 'POST' });
    await load();
  };
  const other = r => (r.requested_by === 'guardian' ? r.guardian : r.teen);
  return html`<section class="parental"><h2>${t('parental')}</h2>
    ${state.own.teen && html`<p>${t('yourGuardian')} @${state.own.guardian ? state.own.guardian.acct : '—'}</p>
      <${ControlsView} controls=${state.own.controls} />`}
    ${state.requests.map(r => html`<p key=${r.id} class="request">
      ${r.incoming ? `${t(r.requested_by === 'guardian' ? 'wantsToBeGuardian' : 'asksYouToBeGuardian')} @${other(r).acct}`
                   : `${t('requestPending')} @${(r.requested_by === 'guardian' ? r.teen : r.guardian).acct}`}
      ${r.incoming && html` <button onClick=${() => answer(r, 'accept')}>${t('accept')}</button>`}
      <button onClick=${() => answer(r, 'decline')}>${t(r.incoming ? 'decline' : 'withdraw')}</button></p>`)}
    ${!state.own.teen && html`<form onSubmit=${ask}>
      <label>${t('linkTeen')}<input name="teen" value=${teen} onInput=${e => setTeen(e.target.value)} required /></label>
      <button type="submit">${t('sendRequest')}</button></form>`}
    ${message && html`<p role="status">${message}</p>`}
    ${state.wards.map(w => html`<${WardForm} key=${w.account.id} ward=${w} />`)}
  </section>`;
}

const DM_CHOICES = ['nobody', 'mutuals', 'everyone'];

function ControlsView({ controls }) {
  return html`<dl class="controls">
    <dt>${t('personalised')}</dt><dd>${controls.personalisation ? t('yes') : t('no')}</dd>
    <dt>${t('dailyFeedVideos')}</dt><dd>${controls.daily_feed_videos ?? '∞'}</dd>
    <dt>${t('directMessages')}</dt><dd>${t(`who_${controls.direct_messages}`)}</dd>
    <dt>${t('cameo')}</dt><dd>${t(`who_${controls.cameo}`)}</dd>
    <dt>${t('generationsPerDay')}</dt><dd>${controls.generations_per_day ?? '∞'}</dd></dl>`;
}

/** A guardian's form for one teen's controls (PATCH /wards/:id); an empty number means "no limit". */
function WardForm({ ward }) {
  const [controls, setControls] = useState(ward.controls);
  const [saved, setSaved] = useState(false);
  const [error, setError] = useState(null);
  const set = (key, value) => { setSaved(false); setControls({ ...controls, [key]: value }); };
  const number = key => html`<input type="number" min="0" max="1000" value=${controls[key] ?? ''}
    onInput=${e => set(key, e.target.value === '' ? null : Number(e.target.value))} />`;
  const choice = key => html`<select value=${controls[key]} onChange=${e => set(key, e.target.value)}>
    ${DM_CHOICES.map(c => html`<option value=${c}>${t(`who_${c}`)}</option>`)}</select>`;
  const save = async e => {
    e.preventDefault();
    setError(null);
    try {
      const updated = await api(`/api/v1/vitascope/wards/${ward.account.id}`, { method: 'PATCH', body: controls });
      setControls(updated.controls);
      setSaved(true);
    } catch (err) { setError(err.message); }
  };
  return html`<form class="ward" onSubmit=${save} aria-label=${`${t('controlsOf')} @${ward.account.acct}`}>
    <h3>${t('controlsOf')} @${ward.account.acct}</h3>
    <label class="check"><input type="checkbox" checked=${controls.personalisation}
      onChange=${e => set('personalisation', e.target.checked)} /> ${t('personalised')}</label>
    <label>${t('dailyFeedVideos')}${number('daily_feed_videos')}</label>
    <label>${t('directMessages')}${choice('direct_messages')}</label>
    <label>${t('cameo')}${choice('cameo')}</label>
    <label>${t('generationsPerDay')}${number('generations_per_day')}</label>
    <button type="submit">${t('save')}</button> ${saved && html`<span role="status">${t('saved')}</span>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

function Settings({ me, onMe, onLanguage }) {
  const [profile, setProfile] = useState({ display_name: me ? me.display_name : '', note: me ? plainText(me.note) : '' });
  const [saved, setSaved] = useState(false);
  const save = async e => {
    e.preventDefault();
    const body = new FormData();
    body.set('display_name', profile.display_name);
    body.set('note', profile.note);
    onMe(await api('/api/v1/accounts/update_credentials', { method: 'PATCH', body }));
    setSaved(true);
  };
  return html`<main class="page"><h1>${t('settings')}</h1>
    <label>${t('language')}<select value=${lang()} onChange=${e => onLanguage(e.target.value)}>
      ${Object.entries(LANGUAGES).map(([code, name]) => html`<option value=${code}>${name}</option>`)}</select></label>
    ${me && html`<form onSubmit=${save}><h2>${t('profile')}</h2>
      <label>${t('displayName')}<input value=${profile.display_name} onInput=${e => setProfile({ ...profile, display_name: e.target.value })} /></label>
      <label>${t('bio')}<textarea value=${profile.note} onInput=${e => setProfile({ ...profile, note: e.target.value })}></textarea></label>
      <button type="submit">${t('save')}</button> ${saved && html`<span role="status">${t('saved')}</span>`}
    </form>
    <${FeedPreferences} />
    <${ParentalControls} />
    <${Cameos} me=${me} />
    <button class="logout" onClick=${async () => { await logOut(); onMe(null); go('/'); }}>${t('logOut')}</button>`}
  </main>`;
}

function Login({ onToken }) {
  const [instance, setInstance] = useState(null);
  const [form, setForm] = useState({ username: '', email: '', password: '', reason: '' });
  const [error, setError] = useState(null);
  const [pending, setPending] = useState(false);
  useEffect(() => { api('/api/v2/instance').then(setInstance); }, []);
  const reg = instance && instance.registrations;
  const submit = async e => {
    e.preventDefault();
    setError(null);
    try {
      const token = await signUp({ ...form, locale: lang() });
      if (reg.approval_required) setPending(true);
      else onToken(token);
    } catch (err) { setError(err.message); }
  };
  const field = (key, type, auto) => html`<label>${t(key)}<input name=${key} type=${type} autocomplete=${auto} required
    value=${form[key]} onInput=${e => setForm({ ...form, [key]: e.target.value })} /></label>`;
  return html`<main class="page login">
    <h1>${instance ? instance.title : ''}</h1>
    <button class="primary" onClick=${() => startLogin()}>${t('logIn')}</button>
    <h2>${t('signUp')}</h2>
    ${reg && !reg.enabled && html`<p>${t('registrationsClosed')}</p>`}
    ${pending && html`<p role="status">${t('pendingApproval')}</p>`}
    ${reg && reg.enabled && !pending && html`<form onSubmit=${submit}>
      ${reg.approval_required && html`<p class="muted">${t('approvalRequired')}</p>`}
      ${field('username', 'text', 'username')}
      ${field('email', 'email', 'email')}
      ${field('password', 'password', 'new-password')}
      ${reg.approval_required && html`<label>${t('reason')}<textarea name="reason" value=${form.reason}
        onInput=${e => setForm({ ...form, reason: e.target.value })}></textarea></label>`}
      <label class="check"><input type="checkbox" name="agreement" required /> ${t('agreement')}</label>
      <button type="submit">${t('signUp')}</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </main>`;
}

function App() {
  const { path, query } = useRoute();
  const [me, setMe] = useState(undefined);
  const [toast, setToast] = useState(null);
  const [, setLang] = useState(lang());
  const signIn = async () => {
    if (!session.token) return setMe(null);
    try { setMe(await api('/api/v1/accounts/verify_credentials')); }
    catch { session.token = null; setMe(null); }
  };
  useEffect(() => { finishLogin().catch(() => false).then(signIn); }, []);
  useEffect(() => { if (!toast) return undefined; const id = setTimeout(() => setToast(null), 2500); return () => clearTimeout(id); }, [toast]);
  if (me === undefined) return html`<p class="page">${t('loading')}</p>`;
  const onToken = token => { session.token = token; signIn(); go('/'); };
  const changeLanguage = code => { setLanguage(code); setLang(code); };
  let screen;
  if (path === '/' || path === '') screen = html`<${Feed} me=${me} onToast=${setToast} />`;
  else if (path === '/create') screen = html`<${Create} me=${me} remixId=${query.get('remix')} />`;
  else if (path.startsWith('/@')) screen = html`<${Profile} acct=${decodeURIComponent(path.slice(2))} me=${me} />`;
  else if (path.startsWith('/s/')) screen = html`<${StatusPage} id=${path.slice(3)} me=${me} onToast=${setToast} />`;
  else if (path === '/notifications') screen = html`<${Notifications} me=${me} />`;
  else if (path === '/search') screen = html`<${Search} />`;
  else if (path === '/settings') screen = html`<${Settings} me=${me} onMe=${setMe} onLanguage=${changeLanguage} />`;
  else if (path === '/login') screen = html`<${Login} onToken=${onToken} />`;
  else screen = html`<main class="page"><p>404</p></main>`;
  return html`${screen}<${Nav} me=${me} />${toast && html`<${Toast} text=${toast} />`}`;
}

setLanguage(lang());
render(html`<${App} />`, document.getElementById('app'));
