// OmniChat web page: plain DOM, no framework. It runs under a strict CSP (script-src 'self',
// no inline code, no eval) and talks only to its own origin with the session cookie, so it
// never holds a token. User text is put into the page with textContent; model replies are
// rendered as Markdown by markdown-it with raw HTML disabled and sanitized by DOMPurify
// (./markdown.js, built by scripts/build-web.ts), never assigned as HTML by this file.

import { renderReply } from './markdown.js';

const API = '/api/v1';
const CHAT_PATH = '/app/chat';
const PAGE_SIZE = 20;
// A 401 sends the browser to the page again, where the edge's login takes over. Should the
// edge still serve the page while the API refuses the session, this keeps it from looping.
const REDIRECT_GUARD_KEY = 'omnichat.redirectedAt';
const REDIRECT_GUARD_MS = 10_000;

const $ = (id) => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
};

const ui = {
  signedIn: $('signed-in'),
  menuToggle: $('menu-toggle'),
  sidebar: $('sidebar'),
  newConversation: $('new-conversation'),
  list: $('conversation-list'),
  listStatus: $('list-status'),
  loadMore: $('load-more'),
  exportData: $('export-data'),
  eraseData: $('erase-data'),
  chatTitle: $('chat-title'),
  deleteConversation: $('delete-conversation'),
  scroller: $('message-scroller'),
  messages: $('messages'),
  emptyChat: $('empty-chat'),
  notice: $('notice'),
  announcer: $('announcer'),
  composer: $('composer'),
  model: $('model'),
  message: $('message'),
  send: $('send'),
  stop: $('stop'),
  dialog: $('confirm-dialog'),
  dialogTitle: $('confirm-title'),
  dialogBody: $('confirm-body'),
  dialogOk: $('confirm-ok'),
  dialogCancel: $('confirm-cancel'),
};

const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');

const state = {
  conversationId: undefined,
  nextCursor: undefined,
  sending: false,
  /** Aborts the reply being received (the Stop button). */
  abort: undefined,
  /** Bumped on every navigation so a late answer never paints over another conversation. */
  view: 0,
  /** Friendly names of the catalogue's models by id, from `GET /api/v1/models`. */
  modelNames: new Map(),
};

// ---------------------------------------------------------------------------------------
// API

/** An error answer of the API: `{ "error": { code, message, requestId } }`. */
class ApiError extends Error {
  constructor(status, code, message, retryAfterSeconds, requestId) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = retryAfterSeconds;
    this.requestId = requestId;
  }
}

/** Thrown after a 401: the browser is already on its way to the login. */
class SessionEndedError extends Error {
  constructor() {
    super('The session has ended.');
    this.name = 'SessionEndedError';
  }
}

/** Seconds from a Retry-After header (delta-seconds or an HTTP date), or undefined. */
function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

function sessionEnded() {
  const last = Number(sessionStorage.getItem(REDIRECT_GUARD_KEY) ?? '0');
  if (Date.now() - last > REDIRECT_GUARD_MS) {
    sessionStorage.setItem(REDIRECT_GUARD_KEY, String(Date.now()));
    window.location.assign(CHAT_PATH);
  } else {
    showNotice('Your session has ended. Reload the page to sign in again.', 'error');
  }
  return new SessionEndedError();
}

/** Calls the API with the session cookie; resolves to the JSON body (null for 204). */
async function api(path, { method = 'GET', body, raw = false, accept = 'application/json', signal } = {}) {
  const headers = { Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(`${API}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      // A load balancer that answers an ended session with a redirect to its login gets
      // the same treatment as a 401, instead of the login page parsed as JSON.
      redirect: 'manual',
      signal,
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new ApiError(0, 'network_error', 'OmniChat could not be reached. Check your connection and retry.');
  }
  if (response.status === 401 || response.type === 'opaqueredirect') throw sessionEnded();
  if (response.ok) {
    sessionStorage.removeItem(REDIRECT_GUARD_KEY);
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }
  let error = {};
  try {
    error = (await response.json())?.error ?? {};
  } catch {
    // Not JSON (a proxy's page): the status alone has to do.
  }
  throw new ApiError(
    response.status,
    typeof error.code === 'string' ? error.code : `http_${response.status}`,
    typeof error.message === 'string' ? error.message : `The request failed (HTTP ${response.status}).`,
    parseRetryAfter(response.headers.get('Retry-After')),
    typeof error.requestId === 'string' ? error.requestId : undefined,
  );
}

// ---------------------------------------------------------------------------------------
// Messages to the user

/** "42 seconds", "3 minutes", "5 hours": how long to wait, in words. */
function describeWait(seconds) {
  if (seconds === undefined) return 'a little while';
  if (seconds < 90) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 90) return `${minutes} minutes`;
  return `${Math.ceil(minutes / 60)} hours`;
}

function clockAfter(seconds) {
  return new Date(Date.now() + seconds * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** What to tell the user about a failed request. */
function explain(error) {
  if (!(error instanceof ApiError)) return { text: 'Something went wrong. Please retry.', kind: 'error' };
  const wait = error.retryAfterSeconds;
  switch (error.code) {
    case 'guardrail_blocked':
      return { title: 'Blocked.', text: error.message, kind: 'blocked' };
    case 'rate_limited':
      return {
        title: 'Rate limit reached.',
        text: `You are sending messages too quickly. Please wait ${describeWait(wait)} before sending again.`,
        kind: 'limit',
      };
    case 'quota_exceeded':
      return {
        title: 'Daily limit reached.',
        text:
          wait === undefined
            ? "You have used today's token budget. Please try again later."
            : `You have used today's token budget. You can chat again in ${describeWait(wait)} (around ${clockAfter(wait)}).`,
        kind: 'limit',
      };
    default:
      break;
  }
  if (error.status === 503) {
    return {
      title: 'Busy.',
      text: `The service is busy. Please retry in ${describeWait(wait)}.`,
      kind: 'limit',
    };
  }
  if (error.status === 404) return { text: 'That conversation does not exist any more.', kind: 'error' };
  const reference = error.requestId ? ` (request ${error.requestId})` : '';
  return { text: `${error.message}${reference}`, kind: 'error' };
}

function showNotice(text, kind = 'error', title = undefined) {
  ui.notice.replaceChildren();
  if (title) {
    const strong = document.createElement('strong');
    strong.textContent = title;
    ui.notice.append(strong, ' ');
  }
  ui.notice.append(text);
  ui.notice.dataset.kind = kind;
  ui.notice.hidden = false;
}

function clearNotice() {
  ui.notice.hidden = true;
  ui.notice.textContent = '';
  delete ui.notice.dataset.kind;
}

function announce(text) {
  // Emptied first so the same words twice are announced twice.
  ui.announcer.textContent = '';
  window.setTimeout(() => {
    ui.announcer.textContent = text;
  }, 50);
}

function reportError(error) {
  if (error instanceof SessionEndedError) return;
  const { text, kind, title } = explain(error);
  showNotice(text, kind, title);
}

// ---------------------------------------------------------------------------------------
// Rendering text safely: plain text for the user, sanitized Markdown for replies.

/** Gives each fenced code block a Copy button (the code's text, to the clipboard). */
function addCopyButtons(container) {
  for (const pre of container.querySelectorAll('pre')) {
    if (pre.parentElement?.classList.contains('code-block')) continue;
    const wrapper = document.createElement('div');
    wrapper.className = 'code-block';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary small copy-code';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy code');
    pre.replaceWith(wrapper);
    wrapper.append(button, pre);
  }
}

async function copyCode(button) {
  const code = button.parentElement?.querySelector('pre')?.textContent ?? '';
  try {
    await navigator.clipboard.writeText(code);
    button.textContent = 'Copied';
    announce('Code copied to the clipboard.');
  } catch {
    button.textContent = 'Copy failed';
  }
  setTimeout(() => {
    button.textContent = 'Copy';
  }, 2000);
}

/** Renders a reply's Markdown into `body` (replacing what it held). */
function renderReplyInto(body, text) {
  body.replaceChildren(renderReply(text));
  addCopyButtons(body);
}

function formatTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime())
    ? ''
    : date.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** Adds one message to the conversation view and returns its element. */
function appendMessage({ role, text, at, meta, modelId, usage, pending = false, scroll = true }) {
  const item = document.createElement('li');
  item.className = `message ${role}`;
  if (pending) item.classList.add('pending');
  const who = document.createElement('p');
  who.className = 'who';
  const name = document.createElement('span');
  name.textContent = role === 'user' ? 'You' : 'OmniChat';
  who.append(name);
  if (at) {
    const time = document.createElement('time');
    time.dateTime = at;
    time.textContent = formatTime(at);
    who.append(' ', time);
  }
  const body = document.createElement('div');
  body.className = 'body';
  if (role === 'assistant') renderReplyInto(body, text);
  else body.textContent = text;
  item.append(who, body);
  if (meta) {
    const footer = document.createElement('p');
    footer.className = 'meta';
    footer.textContent = meta;
    // A stored turn names its model by id: the footer is relabelled with the friendly name
    // when the model list arrives after the history (both are loaded at the same time).
    if (modelId) {
      footer.dataset.modelId = modelId;
      if (usage) footer.dataset.usage = JSON.stringify(usage);
    }
    item.append(footer);
  }
  ui.messages.append(item);
  ui.emptyChat.hidden = true;
  if (scroll) item.scrollIntoView({ block: 'end', behavior: reducedMotion.matches ? 'auto' : 'smooth' });
  return item;
}

function usageText(modelLabel, usage, guardrail) {
  const parts = [];
  if (modelLabel) parts.push(modelLabel);
  if (usage) parts.push(`${usage.inputTokens} in / ${usage.outputTokens} out tokens`);
  if (guardrail === 'mask') parts.push('some content was masked');
  return parts.join(' · ');
}

/** The catalogue's friendly name of a model id; the id itself when the catalogue has no such model. */
function modelName(modelId) {
  return state.modelNames.get(modelId) ?? modelId;
}

/** The footer of a stored reply: its model's friendly name and usage. */
function historyMeta(modelId, usage) {
  return usageText(modelId ? modelName(modelId) : undefined, usage);
}

/** Relabels stored replies' footers once the model names are known. */
function relabelHistory() {
  for (const footer of ui.messages.querySelectorAll('.meta[data-model-id]')) {
    const usage = footer.dataset.usage ? JSON.parse(footer.dataset.usage) : undefined;
    footer.textContent = historyMeta(footer.dataset.modelId, usage);
  }
}

// ---------------------------------------------------------------------------------------
// Conversation list

function conversationHref(id) {
  return `${CHAT_PATH}/${encodeURIComponent(id)}`;
}

function listItem(conversation) {
  const item = document.createElement('li');
  item.dataset.id = conversation.id;
  const link = document.createElement('a');
  link.href = conversationHref(conversation.id);
  link.className = 'conversation-link';
  const title = document.createElement('span');
  title.className = 'conversation-title';
  title.textContent = conversation.title || 'Untitled conversation';
  const details = document.createElement('span');
  details.className = 'conversation-details';
  const turns = Number(conversation.turns) || 0;
  item.dataset.turns = String(turns);
  details.textContent = `${formatTime(conversation.updatedAt)} · ${turns} ${turns === 1 ? 'turn' : 'turns'}`;
  link.append(title, details);
  item.append(link);
  return item;
}

function markCurrent() {
  for (const link of ui.list.querySelectorAll('a.conversation-link')) {
    const current = link.parentElement?.dataset.id === state.conversationId;
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function updateListStatus() {
  const count = ui.list.children.length;
  ui.listStatus.textContent = count === 0 ? 'No conversations yet.' : '';
  ui.listStatus.hidden = count !== 0;
  ui.loadMore.hidden = state.nextCursor === undefined;
}

async function loadConversations({ append = false } = {}) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (append && state.nextCursor) query.set('cursor', state.nextCursor);
  ui.loadMore.disabled = true;
  try {
    const page = await api(`/conversations?${query}`);
    if (!append) ui.list.replaceChildren();
    const known = new Set([...ui.list.children].map((li) => li.dataset.id));
    for (const conversation of page.items ?? []) {
      if (!known.has(conversation.id)) ui.list.append(listItem(conversation));
    }
    state.nextCursor = typeof page.nextCursor === 'string' ? page.nextCursor : undefined;
    markCurrent();
    updateListStatus();
  } catch (error) {
    if (!append) {
      ui.listStatus.hidden = false;
      ui.listStatus.textContent = 'The conversations could not be loaded.';
    }
    reportError(error);
  } finally {
    ui.loadMore.disabled = false;
  }
}

/** Moves (or adds) a conversation to the top of the list after a reply. */
function bumpConversation(id, title) {
  const existing = [...ui.list.children].find((li) => li.dataset.id === id);
  existing?.remove();
  ui.list.prepend(
    listItem({
      id,
      // The stored title is the first message's start; a known conversation keeps its own.
      title: existing?.querySelector('.conversation-title')?.textContent ?? title,
      updatedAt: new Date().toISOString(),
      turns: Number(existing?.dataset.turns ?? '0') + 1,
    }),
  );
  markCurrent();
  updateListStatus();
}

// ---------------------------------------------------------------------------------------
// Conversation view

function setSidebar(open) {
  document.body.classList.toggle('sidebar-open', open);
  ui.menuToggle.setAttribute('aria-expanded', String(open));
}

function resetView(title) {
  state.view++;
  ui.messages.replaceChildren();
  ui.emptyChat.hidden = false;
  ui.chatTitle.textContent = title;
  clearNotice();
}

function showNewConversation({ push = true, focus = true } = {}) {
  state.conversationId = undefined;
  resetView('New conversation');
  ui.deleteConversation.hidden = true;
  document.title = 'OmniChat';
  if (push && window.location.pathname !== CHAT_PATH) window.history.pushState({}, '', CHAT_PATH);
  markCurrent();
  setSidebar(false);
  if (focus) ui.message.focus();
}

async function openConversation(id, { push = true } = {}) {
  state.conversationId = id;
  resetView('Loading…');
  const view = state.view;
  ui.deleteConversation.hidden = false;
  if (push) window.history.pushState({}, '', conversationHref(id));
  markCurrent();
  setSidebar(false);
  try {
    const conversation = await api(`/conversations/${encodeURIComponent(id)}`);
    if (view !== state.view) return;
    const title = conversation.title || 'Untitled conversation';
    ui.chatTitle.textContent = title;
    document.title = `${title} - OmniChat`;
    for (const message of conversation.messages ?? []) {
      appendMessage({
        role: message.role === 'user' ? 'user' : 'assistant',
        text: String(message.text ?? ''),
        at: message.at,
        meta: message.role === 'user' ? undefined : historyMeta(message.modelId, message.usage),
        modelId: message.role === 'user' ? undefined : message.modelId,
        usage: message.role === 'user' ? undefined : message.usage,
        scroll: false,
      });
    }
    ui.scroller.scrollTop = ui.scroller.scrollHeight;
    selectModel(conversation.modelId);
  } catch (error) {
    if (view !== state.view) return;
    ui.chatTitle.textContent = 'Conversation unavailable';
    ui.deleteConversation.hidden = true;
    reportError(error);
  }
}

function conversationIdFromPath(pathname) {
  const rest = pathname.startsWith(`${CHAT_PATH}/`) ? pathname.slice(CHAT_PATH.length + 1) : '';
  if (rest === '') return undefined;
  try {
    const id = decodeURIComponent(rest);
    return /^c_[A-Za-z0-9_-]{22}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

function route({ push = false } = {}) {
  const id = conversationIdFromPath(window.location.pathname);
  if (id) void openConversation(id, { push });
  else showNewConversation({ push, focus: false });
}

// ---------------------------------------------------------------------------------------
// Models

function selectModel(modelId) {
  if (!modelId) return;
  const option = [...ui.model.options].find((o) => o.value === modelId);
  if (option) ui.model.value = modelId;
}

/** Shows who is signed in (`GET /api/v1/me`); the label stays "Signed in" without an address. */
async function loadIdentity() {
  try {
    const me = await api('/me');
    if (typeof me.email === 'string' && me.email !== '') {
      // On a phone only the address is shown; the words stay for screen readers (app.css).
      const label = document.createElement('span');
      label.className = 'signed-in-label';
      label.textContent = 'Signed in as ';
      ui.signedIn.replaceChildren(label, me.email);
      // The label is cut to fit on a phone: the whole address is in the tooltip.
      ui.signedIn.title = me.email;
    }
  } catch {
    // Only a label: a real failure (401, network) is reported by the models and history requests
    // made at the same time, so it is not reported twice.
  }
}

async function loadModels() {
  try {
    const models = await api('/models');
    ui.model.replaceChildren();
    state.modelNames = new Map(
      (models.items ?? []).filter((item) => item.name).map((item) => [item.id, String(item.name)]),
    );
    relabelHistory();
    for (const item of models.items ?? []) {
      const option = document.createElement('option');
      option.value = item.id;
      // The catalogue's friendly name; the raw id stays in the value and the tooltip.
      option.textContent = item.name || item.id;
      option.title = item.id;
      ui.model.append(option);
    }
    if (ui.model.options.length === 0) {
      const option = document.createElement('option');
      option.value = '';
      option.textContent = 'No models available';
      ui.model.append(option);
      return;
    }
    selectModel(models.defaultModelId);
    ui.model.disabled = false;
  } catch (error) {
    ui.model.replaceChildren(new Option('Models unavailable', ''));
    reportError(error);
  }
}

// ---------------------------------------------------------------------------------------
// Sending

function setSending(sending) {
  state.sending = sending;
  ui.send.disabled = sending;
  ui.send.textContent = sending ? 'Sending…' : 'Send';
  ui.stop.hidden = !sending;
  ui.messages.setAttribute('aria-busy', String(sending));
}

/** The events of a `text/event-stream` body, as they arrive: `{ event, data }` (data parsed as JSON). */
async function* readEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let event = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    // The last piece may be a partial line (or a lone CR of a CRLF): keep it for the next read.
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: JSON.parse(data.join('\n')) };
        event = '';
        data = [];
      } else if (line.startsWith(':')) {
        // A heartbeat comment.
      } else {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const raw = colon === -1 ? '' : line.slice(colon + 1);
        const content = raw.startsWith(' ') ? raw.slice(1) : raw;
        if (field === 'event') event = content;
        else if (field === 'data') data.push(content);
      }
    }
  }
}

/** An error event of the stream, as the API's error shape. */
function streamError(payload, status) {
  const error = payload?.error ?? {};
  return new ApiError(
    status,
    typeof error.code === 'string' ? error.code : 'stream_error',
    typeof error.message === 'string' ? error.message : 'The reply could not be completed.',
    undefined,
    typeof error.requestId === 'string' ? error.requestId : undefined,
  );
}

/**
 * Receives a streamed reply into a new assistant message, rendering as deltas arrive (at most
 * once per frame). Resolves to the chat result (`conversationId`, `reply`, `model`, `usage`).
 */
async function receiveStream(response, view) {
  const item = appendMessage({ role: 'assistant', text: '', at: new Date().toISOString(), pending: true });
  const body = item.querySelector('.body');
  body.setAttribute('aria-busy', 'true');
  const result = { conversationId: state.conversationId, reply: '', model: '', usage: undefined };
  let scheduled = false;
  const paint = () => {
    scheduled = false;
    if (view === state.view) renderReplyInto(body, result.reply);
  };
  try {
    for await (const { event, data } of readEvents(response)) {
      if (view !== state.view) return undefined;
      if (event === 'meta') {
        result.conversationId = data.conversationId ?? result.conversationId;
        result.model = data.model ?? '';
      } else if (event === 'delta') {
        result.reply += String(data.text ?? '');
        if (!scheduled) {
          scheduled = true;
          requestAnimationFrame(paint);
        }
      } else if (event === 'done') {
        Object.assign(result, { usage: data.usage, guardrail: data.guardrail });
      } else if (event === 'blocked' || event === 'error') {
        // Nothing of a blocked reply stays on screen.
        item.remove();
        throw streamError(data, event === 'blocked' ? 422 : 502);
      }
    }
  } catch (error) {
    if (state.abort?.signal.aborted && view === state.view) {
      // Stopped by the user: keep what arrived, marked as stopped.
      paint();
      result.stopped = true;
    } else {
      item.remove();
      throw error;
    }
  } finally {
    body.setAttribute('aria-busy', 'false');
  }
  if (result.usage === undefined && !result.stopped) {
    item.remove();
    throw new ApiError(0, 'stream_incomplete', 'The reply was cut off. Please retry.');
  }
  paint();
  item.classList.remove('pending');
  const footer = document.createElement('p');
  footer.className = 'meta';
  footer.textContent = result.stopped
    ? `${result.model} · stopped, not saved`
    : usageText(result.model, result.usage, result.guardrail);
  item.append(footer);
  return result;
}

async function sendMessage() {
  if (state.sending) return;
  const message = ui.message.value;
  if (message.trim() === '') {
    showNotice('Type a message first.', 'error');
    ui.message.focus();
    return;
  }
  clearNotice();
  setSending(true);
  const view = state.view;
  const pending = appendMessage({ role: 'user', text: message, at: new Date().toISOString(), pending: true });
  ui.message.value = '';
  const body = { message };
  if (state.conversationId) body.conversationId = state.conversationId;
  if (ui.model.value) body.modelId = ui.model.value;
  state.abort = new AbortController();
  try {
    // Streams where the server can (text/event-stream); the whole-reply JSON otherwise.
    const response = await api('/chat', {
      method: 'POST',
      body,
      raw: true,
      accept: 'text/event-stream, application/json;q=0.9',
      signal: state.abort.signal,
    });
    if (view !== state.view) return;
    pending.classList.remove('pending');
    let result;
    if ((response.headers.get('Content-Type') ?? '').startsWith('text/event-stream')) {
      result = await receiveStream(response, view);
      if (result === undefined) return;
    } else {
      result = await response.json();
      if (view !== state.view) return;
      appendMessage({
        role: 'assistant',
        text: String(result.reply ?? ''),
        at: new Date().toISOString(),
        meta: usageText(result.model || result.modelId, result.usage, result.guardrail),
      });
    }
    if (result.stopped) {
      // The server stores no turn of a stopped stream (nor the conversation it would have
      // started): the view keeps what arrived, and the conversation stays as it was.
      announce('Stopped. The partial reply was not saved.');
      return;
    }
    announce(`OmniChat replied: ${String(result.reply ?? '').slice(0, 300)}`);
    if (!result.conversationId) return;
    const isNew = state.conversationId === undefined;
    state.conversationId = result.conversationId;
    if (isNew) {
      const title = message.trim().slice(0, 80);
      ui.chatTitle.textContent = title;
      document.title = `${title} - OmniChat`;
      ui.deleteConversation.hidden = false;
      window.history.pushState({}, '', conversationHref(result.conversationId));
    }
    bumpConversation(result.conversationId, message.trim().slice(0, 80));
  } catch (error) {
    if (view !== state.view) return;
    if (state.abort?.signal.aborted) {
      // Stopped before any reply arrived: the message stays visible, marked as not answered.
      pending.classList.remove('pending');
      announce('Stopped.');
      return;
    }
    // Nothing was stored: take the message back out of the view and give it back to edit.
    pending.remove();
    if (ui.messages.children.length === 0) ui.emptyChat.hidden = false;
    if (ui.message.value === '') ui.message.value = message;
    reportError(error);
  } finally {
    state.abort = undefined;
    setSending(false);
    ui.message.focus();
  }
}

// ---------------------------------------------------------------------------------------
// Confirmation dialog

/** Asks with the modal dialog; resolves to true only when the user confirms. */
function confirmAction({ title, body, confirmLabel }) {
  ui.dialogTitle.textContent = title;
  ui.dialogBody.textContent = body;
  ui.dialogOk.textContent = confirmLabel;
  ui.dialog.returnValue = '';
  return new Promise((resolve) => {
    ui.dialog.addEventListener('close', () => resolve(ui.dialog.returnValue === 'confirm'), { once: true });
    ui.dialog.showModal();
    // The safe choice has the focus.
    ui.dialogCancel.focus();
  });
}

// ---------------------------------------------------------------------------------------
// Actions

async function deleteCurrentConversation() {
  const id = state.conversationId;
  if (!id) return;
  const confirmed = await confirmAction({
    title: 'Delete this conversation?',
    body: `"${ui.chatTitle.textContent}" and all its messages will be deleted. This cannot be undone.`,
    confirmLabel: 'Delete conversation',
  });
  if (!confirmed) {
    ui.deleteConversation.focus();
    return;
  }
  try {
    await api(`/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' });
    [...ui.list.children].find((li) => li.dataset.id === id)?.remove();
    updateListStatus();
    showNewConversation();
    showNotice('The conversation was deleted.', 'success');
    announce('The conversation was deleted.');
  } catch (error) {
    reportError(error);
  }
}

function exportFileName() {
  return `omnichat-export-${new Date().toISOString().slice(0, 10)}.json`;
}

async function exportMyData() {
  ui.exportData.disabled = true;
  clearNotice();
  try {
    const response = await api('/me/export', { raw: true });
    const blob = new Blob([await response.text()], { type: 'application/json' });
    // A blob: URL on a download link is a navigation, not a fetch: connect-src is not involved.
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = exportFileName();
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
    showNotice(`Your data was exported as ${link.download}.`, 'success');
  } catch (error) {
    reportError(error);
  } finally {
    ui.exportData.disabled = false;
  }
}

async function eraseMyData() {
  const confirmed = await confirmAction({
    title: 'Delete all your data?',
    body:
      'Every conversation, message and personal API key of yours will be erased for good. ' +
      'The security audit trail keeps a record that the erasure happened. This cannot be undone.',
    confirmLabel: 'Delete everything',
  });
  if (!confirmed) {
    ui.eraseData.focus();
    return;
  }
  ui.eraseData.disabled = true;
  try {
    const result = await api('/me', { method: 'DELETE' });
    state.nextCursor = undefined;
    ui.list.replaceChildren();
    updateListStatus();
    showNewConversation();
    const text = `Your data was deleted: ${Number(result?.items) || 0} stored items and ${Number(result?.apiKeys) || 0} API keys.`;
    showNotice(text, 'success');
    announce(text);
  } catch (error) {
    reportError(error);
  } finally {
    ui.eraseData.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------
// Wiring

function wire() {
  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendMessage();
  });
  ui.message.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });
  ui.stop.addEventListener('click', () => state.abort?.abort());
  ui.messages.addEventListener('click', (event) => {
    const button = event.target instanceof Element ? event.target.closest('button.copy-code') : null;
    if (button) void copyCode(button);
  });
  ui.newConversation.addEventListener('click', () => showNewConversation());
  ui.list.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a.conversation-link') : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    const id = link.parentElement?.dataset.id;
    if (id) void openConversation(id);
  });
  ui.loadMore.addEventListener('click', () => void loadConversations({ append: true }));
  ui.deleteConversation.addEventListener('click', () => void deleteCurrentConversation());
  ui.exportData.addEventListener('click', () => void exportMyData());
  ui.eraseData.addEventListener('click', () => void eraseMyData());
  ui.menuToggle.addEventListener('click', () => {
    const open = !document.body.classList.contains('sidebar-open');
    setSidebar(open);
    if (open) ui.newConversation.focus();
  });
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('sidebar-open') && !ui.dialog.open) {
      setSidebar(false);
      ui.menuToggle.focus();
    }
  });
  window.addEventListener('popstate', () => route());
}

wire();
route();
void loadIdentity();
void loadModels();
void loadConversations();
