/**
 * Opens Bull Board of a running stack (e.g. `npm run dev`) in headless Chromium and saves a
 * screenshot, checking that the queue and its finished jobs really render in a browser.
 *   npx tsx scripts/screenshot-dashboard.ts [url] [out.png]
 * Needs Debian's chromium (apt-get install -y chromium) or CHROMIUM_PATH.
 */
import { chromium } from 'playwright-core';

const url = process.argv[2] ?? 'http://127.0.0.1:3001/admin/queues/queue/runway-callbacks?status=completed';
const out = process.argv[3] ?? 'docs/img/bull-board.png';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
try {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    httpCredentials: {
      username: process.env.DASHBOARD_USER ?? 'admin',
      password: process.env.DASHBOARD_PASSWORD ?? 'admin',
    },
  });
  const page = await context.newPage();
  await page.goto(url);
  // The queue page has rendered once a job card (or the empty-state text) is visible.
  await page
    .getByText(/runway-callbacks/)
    .first()
    .waitFor({ timeout: 15_000 });
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: out });
  const text = await page.locator('body').innerText();
  console.log(
    JSON.stringify({
      url,
      out,
      mentionsQueue: text.includes('runway-callbacks'),
      completedJobs: (text.match(/\.success|\.failure/g) ?? []).length,
    }),
  );
} finally {
  await browser.close();
}
