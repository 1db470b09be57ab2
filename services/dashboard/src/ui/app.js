// The dashboard's task browser: plain DOM, no framework, no build step. Every value from the
// API goes into the page with textContent (never innerHTML), so task data cannot inject
// markup or script; links are set only for http(s) URLs. The page's CSP allows scripts from
// this origin only, so an injected inline script would not run either.

const $ = (selector) => document.querySelector(selector);
let nextCursor = null;
let currentTask = null;

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function say(text) {
  $('#message').textContent = text;
}

function safeLink(url, text) {
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return el('span', text);
  const link = el('a', text);
  link.href = parsed.href;
  link.rel = 'noreferrer noopener';
  link.target = '_blank';
  return link;
}

async function api(path, init) {
  const response = await fetch(path, { credentials: 'same-origin', ...init });
  const body = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(body?.message ?? `HTTP ${response.status}`);
  return body;
}

function toMs(value) {
  return value ? String(new Date(value).getTime()) : '';
}

function queryFromForm() {
  const form = new FormData($('#filters'));
  const params = new URLSearchParams();
  for (const name of ['status', 'category']) {
    const value = form.get(name);
    if (value) params.set(name, String(value));
  }
  const since = toMs(form.get('since'));
  const until = toMs(form.get('until'));
  if (since) params.set('since', since);
  if (until) params.set('until', until);
  params.set('limit', '50');
  return params;
}

function renderRows(tasks, append) {
  const body = $('#tasks tbody');
  if (!append) body.replaceChildren();
  for (const task of tasks) {
    const row = el('tr');
    const idCell = el('td');
    const open = el('a', task.task_id);
    open.href = `#task=${encodeURIComponent(task.task_id)}`;
    idCell.append(open);
    row.append(
      idCell,
      el('td', task.status, `status-${task.status}`),
      el('td', `${task.accepted_outcome} ${task.code ?? ''}`),
      el('td', task.attempts),
      el('td', task.last_error ? `${task.last_error.category}: ${task.last_error.detail}` : ''),
      el('td', task.updated_at),
    );
    body.append(row);
  }
}

async function search(append) {
  const params = queryFromForm();
  if (append && nextCursor) params.set('cursor', nextCursor);
  try {
    const page = await api(`/api/tasks?${params}`);
    renderRows(page.tasks, append);
    nextCursor = page.next_cursor;
    $('#more').hidden = nextCursor === null;
    say(page.tasks.length === 0 && !append ? 'no tasks match' : '');
  } catch (error) {
    say(error.message);
  }
}

function field(list, name, value) {
  list.append(el('dt', name), el('dd', value ?? '—'));
}

async function openTask(taskId) {
  try {
    const task = await api(`/api/tasks/${encodeURIComponent(taskId)}`);
    currentTask = task.task_id;
    $('#detail').hidden = false;
    $('#detail-title').textContent = task.task_id;
    const fields = $('#detail-fields');
    fields.replaceChildren();
    field(fields, 'status', task.status);
    field(fields, 'outcome', `${task.accepted_outcome} (code ${task.code})`);
    field(fields, 'provider message', task.msg);
    field(fields, 'video id', task.video_id);
    field(fields, 'attempts', task.attempts);
    field(fields, 'last error', task.last_error ? `${task.last_error.category}: ${task.last_error.detail}` : null);
    field(fields, 'deliveries', `${task.deliveries} (${task.duplicates} duplicates)`);
    field(fields, 'first received', task.first_received_at);
    field(fields, 'revision', task.revision);
    field(fields, 'conflict', task.conflict ? task.conflict.state : null);
    $('#detail-objects').replaceChildren(
      ...task.objects.map((object) => {
        const item = el('li');
        item.append(
          object.url
            ? safeLink(object.url, `${object.kind}: ${object.key}`)
            : el('span', `${object.kind}: ${object.key}`),
          el('span', ` ${object.size} bytes, ${object.content_type}`),
        );
        return item;
      }),
    );
    $('#detail-events').replaceChildren(
      ...task.events.map((event) => el('li', `${event.at} ${event.type} (${event.id})`)),
    );
    $('#detail-jobs').replaceChildren(
      ...task.jobs.map((job) =>
        el(
          'li',
          `${job.id}: ${job.state}, ${job.attemptsMade} attempts${job.failedReason ? `, ${job.failedReason}` : ''}`,
        ),
      ),
    );
    $('#detail-audit').replaceChildren(
      ...task.audit.map((entry) =>
        el(
          'li',
          `${entry.at} ${entry.action} by ${entry.operator} via ${entry.via}${entry.reason ? `: ${entry.reason}` : ''}`,
        ),
      ),
    );
    say('');
  } catch (error) {
    $('#detail').hidden = true;
    say(error.message);
  }
}

async function reprocess() {
  if (!currentTask) return;
  try {
    await api(`/api/tasks/${encodeURIComponent(currentTask)}/reprocess`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'from the task browser' }),
    });
    await openTask(currentTask);
  } catch (error) {
    say(error.message);
  }
}

function openFromHash() {
  const match = /^#task=(.+)$/.exec(location.hash);
  if (match) void openTask(decodeURIComponent(match[1]));
}

document.addEventListener('DOMContentLoaded', () => {
  $('#filters').addEventListener('submit', (event) => {
    event.preventDefault();
    const task = new FormData($('#filters')).get('task');
    if (task) location.hash = `task=${encodeURIComponent(String(task))}`;
    else void search(false);
  });
  $('#more').addEventListener('click', () => void search(true));
  $('#reprocess').addEventListener('click', () => void reprocess());
  window.addEventListener('hashchange', openFromHash);
  void search(false);
  openFromHash();
});
