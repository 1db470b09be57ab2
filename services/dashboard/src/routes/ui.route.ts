import { readFileSync } from 'node:fs';
import { FailureCategorySchema, TaskStatusSchema } from '@runway-relay/contracts';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where the task browser is served (a static page over the JSON API). */
export const TASKS_PAGE_PATH = '/tasks';

/**
 * Scripts and styles from this origin only, no inline ones, fetches to this origin only, no
 * framing, no plugins: with every value already written as text, this is the second wall
 * against task data that carries markup (docs/dashboard.md, "The task browser").
 */
export const TASKS_PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const asset = (name: string) => readFileSync(new URL(`../ui/${name}`, import.meta.url), 'utf8');

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const options = (values: readonly string[]) =>
  values.map((value) => `<option value="${escapeHtml(value)}">${escapeHtml(value)}</option>`).join('');

function secure(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-security-policy', TASKS_PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

/** The task browser: `GET /tasks` (HTML), `/tasks/app.js`, `/tasks/app.css`; read once at start. */
export function registerUiRoutes(app: FastifyInstance): void {
  const html = asset('tasks.html')
    .replace('{{STATUS_OPTIONS}}', options(TaskStatusSchema.options))
    .replace('{{CATEGORY_OPTIONS}}', options(FailureCategorySchema.options));
  const script = asset('app.js');
  const style = asset('app.css');
  app.get(TASKS_PAGE_PATH, (_request, reply) => secure(reply, 'text/html; charset=utf-8').send(html));
  app.get(`${TASKS_PAGE_PATH}/app.js`, (_request, reply) =>
    secure(reply, 'text/javascript; charset=utf-8').send(script),
  );
  app.get(`${TASKS_PAGE_PATH}/app.css`, (_request, reply) => secure(reply, 'text/css; charset=utf-8').send(style));
}
