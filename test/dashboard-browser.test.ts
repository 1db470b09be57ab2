import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@runway-relay/testkit';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_PASSWORD, DASHBOARD_USER, startStackDashboard, type TestDashboard } from './helpers/dashboard.js';
import { failureBody } from './helpers/ingress.js';
import { type Backing, newTaskId, type Stack, simulatedSuccess, startBacking, startStack } from './helpers/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.log(
    `dashboard-browser: skipped, no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`,
  );
}

/** A provider message that would run script if the page ever wrote task data as HTML. */
const HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';

describe.skipIf(!hasChromium)('the task browser in headless Chromium', () => {
  let backing: Backing;
  let stack: Stack;
  let dashboard: TestDashboard;
  let baseUrl: string;
  let profile: string;

  beforeAll(async () => {
    backing = await startBacking();
    stack = await startStack(backing);
    dashboard = await startStackDashboard(backing, stack);
    baseUrl = `http://127.0.0.1:${dashboard.port}`;
    profile = mkdtempSync(join(tmpdir(), 'relay-chromium-'));
  });
  afterAll(async () => {
    await dashboard?.close();
    await stack?.close();
    await backing?.dispose();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('lists tasks, opens one with its events and presigned links, and never runs task data as markup', async () => {
    const stored = newTaskId();
    const failed = newTaskId();
    await stack.deliver(simulatedSuccess(backing.media, stored));
    await stack.deliver(failureBody(failed, HOSTILE, 400));
    await stack.waitForEvents(2);

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD },
    });
    try {
      const page = await context.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      const response = await page.goto(`${baseUrl}/tasks`);
      expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.locator('#tasks tbody tr').nth(1).waitFor({ timeout: 15_000 });
      // Newest status change first: which of the two finished last depends on the download.
      const rows = (await page.locator('#tasks tbody tr').allInnerTexts()).join('\n');
      expect(rows).toContain(failed);
      expect(rows).toContain(stored);

      // Filter by status through the form.
      await page.selectOption('select[name=status]', 'stored');
      await page.click('button[type=submit]');
      await waitFor(async () => (await page.locator('#tasks tbody tr').count()) === 1, { description: 'one row' });

      // The hostile message is shown as text, and nothing of it ran.
      await page.goto(`${baseUrl}/tasks#task=${failed}`);
      await page.locator('#detail:not([hidden])').waitFor();
      await page.getByText('task.failed').first().waitFor();
      expect(await page.locator('#detail-fields').textContent()).toContain(HOSTILE);
      expect(await page.locator('#detail img, #detail script').count()).toBe(0);
      expect(await page.evaluate('typeof window.__xss')).toBe('undefined');

      // A stored task: its events and working presigned links.
      await page.goto(`${baseUrl}/tasks#task=${stored}`);
      await page.getByText('media.stored').first().waitFor();
      const href = await page.locator('#detail-objects a').first().getAttribute('href');
      expect(href).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/runway-media\/.+X-Amz-Signature=/);
      expect((await fetch(href ?? '')).status).toBe(200);
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
