import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { hydrated, demoRun } from './helpers';
import { loginPort, loginToken } from '../env';

// Every page at a phone's width (390 px) and a desktop's (1400 px), in the light and the dark theme: nothing wider
// than the window (wide tables scroll inside their own box), the navigation's four entries visible and clickable;
// the theme switch (Auto / Light / Dark) applied before the first paint and kept across reloads; the Runs list's
// backend, target-with-port and outcome columns.

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1400, height: 900 };
const NAV = ['nav-runs', 'nav-new-run', 'nav-gpu', 'nav-compare'];
const loginOrigin = `http://127.0.0.1:${loginPort}`;

let runs: { a: string; b: string };

test.beforeAll(async ({ playwright }, info) => {
  test.setTimeout(120_000);
  const request = await playwright.request.newContext({ baseURL: info.project.use.baseURL });
  const a = await demoRun(request, 'layout run with a long name to see how it wraps on a phone', 4, 12);
  const b = await demoRun(request, 'layout run b', 2, 8, { slo: { ttft_ms: 60000 } });
  runs = { a, b };
  await request.dispose();
});

/** The pages of the check: path, the testid that says it rendered. */
function pages(): [string, string][] {
  return [
    ['/runs', 'page-runs'],
    ['/runs/new', 'page-new-run'],
    [`/runs/${runs.a}`, 'page-run'],
    ['/gpu', 'page-gpu'],
    [`/compare?runs=${runs.a},${runs.b}`, 'page-compare'],
  ];
}

/** The page's width beyond the window, in px (0 when it fits). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** The theme applied to <html> and the page's background colour. */
async function applied(page: Page): Promise<{ theme: string | null; bg: string }> {
  return page.evaluate(() => ({
    theme: document.documentElement.getAttribute('data-theme'),
    bg: getComputedStyle(document.body).backgroundColor,
  }));
}

const BG = { light: 'rgb(246, 248, 250)', dark: 'rgb(15, 18, 22)' };

for (const scheme of ['light', 'dark'] as const) {
  for (const [label, size] of [['phone', PHONE], ['desktop', DESKTOP]] as const) {
    test(`every page fits a ${label} (${size.width} px) in the ${scheme} theme`, async ({ page }) => {
      test.setTimeout(120_000);
      await page.emulateMedia({ colorScheme: scheme });
      await page.setViewportSize(size);
      for (const [path, testid] of pages()) {
        await page.goto(path);
        await expect(page.getByTestId(testid)).toBeVisible();
        await hydrated(page);
        expect(await applied(page), path).toEqual({ theme: scheme, bg: BG[scheme] });
        expect(await overflow(page), `${path}: page wider than the window`).toBeLessThanOrEqual(0);
        for (const nav of NAV) {
          await expect(page.getByTestId(nav), `${path}: ${nav}`).toBeInViewport({ ratio: 1 });
        }
        await expect(page.getByTestId('theme-switch')).toBeInViewport({ ratio: 1 });
      }
      if (label === 'phone') {
        // The Runs list is wider than a phone: it scrolls inside its box, the page does not.
        await page.goto('/runs');
        await hydrated(page);
        const box = page.locator('.table-scroll').first();
        expect(await box.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
        expect(await box.evaluate((el) => getComputedStyle(el).overflowX)).toBe('auto');
      }
    });
  }
}

test('on a phone every navigation entry is reachable and works', async ({ page }) => {
  await page.setViewportSize(PHONE);
  await page.goto('/runs');
  await hydrated(page);
  const expected: Record<string, RegExp> = {
    'nav-new-run': /\/runs\/new$/,
    'nav-gpu': /\/gpu$/,
    'nav-compare': /\/compare$/,
    'nav-runs': /\/runs$/,
  };
  for (const [nav, url] of Object.entries(expected)) {
    await page.getByTestId(nav).click();
    await expect(page).toHaveURL(url);
    expect(await overflow(page), nav).toBeLessThanOrEqual(0);
  }
});

test('screenshots of the themes at both widths', async ({ page }) => {
  test.setTimeout(120_000);
  const shot = async (path: string, testid: string, scheme: 'light' | 'dark', size: typeof PHONE, name: string) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize(size);
    await page.goto(path);
    await expect(page.getByTestId(testid)).toBeVisible();
    await hydrated(page);
    await page.screenshot({ path: `test-results/screens/${name}.png`, fullPage: true });
  };
  await shot('/runs', 'page-runs', 'light', DESKTOP, 'runs-light');
  await shot('/runs', 'page-runs', 'dark', PHONE, 'runs-dark-phone');
  await shot(`/runs/${runs.a}`, 'page-run', 'light', PHONE, 'run-light-phone');
  await shot('/runs/new', 'page-new-run', 'dark', PHONE, 'new-run-phone');
  await shot('/gpu', 'page-gpu', 'light', DESKTOP, 'gpu-light');
  await shot(`/compare?runs=${runs.a},${runs.b}`, 'page-compare', 'dark', PHONE, 'compare-phone');
});

test('the theme switch applies at once, before the first paint, and survives a reload', async ({ page }) => {
  // Records the theme <html> carries when <body> first appears: set by then, the first paint has the right theme.
  await page.addInitScript(() => {
    new MutationObserver((_, obs) => {
      if (document.body) {
        (window as any).__themeAtBody = document.documentElement.getAttribute('data-theme');
        obs.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
  });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/runs');
  await hydrated(page);
  const atBody = () => page.evaluate(() => (window as any).__themeAtBody);
  expect(await atBody()).toBe('dark');
  const switcher = page.getByTestId('theme-switch');
  await expect(switcher).toHaveValue('auto');

  await switcher.selectOption('light');
  expect(await applied(page)).toEqual({ theme: 'light', bg: BG.light });
  expect(await page.evaluate(() => localStorage.getItem('tokenscope-theme'))).toBe('light');
  await page.reload();
  expect(await atBody()).toBe('light');
  await hydrated(page);
  await expect(switcher).toHaveValue('light');
  expect(await applied(page)).toEqual({ theme: 'light', bg: BG.light });

  // Another page of the app keeps it too (a client-side navigation and a fresh load).
  await page.getByTestId('nav-gpu').click();
  await expect(page.getByTestId('page-gpu')).toBeVisible();
  expect((await applied(page)).theme).toBe('light');
  await page.goto(`/runs/${runs.a}`);
  expect(await atBody()).toBe('light');

  // Dark, then Auto: Auto follows the system, also when it changes while the page is open.
  await hydrated(page);
  await switcher.selectOption('dark');
  expect(await applied(page)).toEqual({ theme: 'dark', bg: BG.dark });
  await switcher.selectOption('auto');
  expect((await applied(page)).theme).toBe('dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await expect.poll(async () => (await applied(page)).theme).toBe('light');
  await page.reload();
  expect(await atBody()).toBe('light');
  await hydrated(page);
  await expect(switcher).toHaveValue('auto');
});

test('the Runs list shows the backend, the target with its port and the outcome', async ({ page }) => {
  await page.setViewportSize(DESKTOP);
  await page.goto('/runs');
  await hydrated(page);
  const heads = await page.getByTestId('runs-table').locator('thead th').allInnerTexts();
  for (const h of ['Status', 'Outcome', 'Backend', 'Target']) {
    expect(heads.map((t) => t.trim())).toContain(h);
  }
  const row = (id: string) => page.locator(`[data-testid="run-row"][data-id="${id}"]`);
  // The demo target is tokenscope's mock (the preset the demo asks for, or the one preflight detects for auto).
  await expect(row(runs.a).getByTestId('run-row-backend')).toHaveText(/^\s*mock(\s*\(detected\))?\s*$/);
  expect(await row(runs.a).getByTestId('run-row-backend').getAttribute('title')).toMatch(/^mock, /);
  const target = row(runs.a).getByTestId('run-row-target');
  await expect(target).toHaveText(/^127\.0\.0\.1:\d+/);
  expect(await target.getAttribute('title')).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
  // The outcome has its own column; the status cell keeps the status.
  await expect(row(runs.b).getByTestId('run-row-outcome')).toHaveText('SLO met');
  await expect(row(runs.a).getByTestId('run-row-outcome')).toHaveText('no SLO');
  await expect(row(runs.a).getByTestId('run-row-status')).toHaveText('completed');
  await expect(row(runs.a).locator('td.outcome')).toContainText('no SLO');
  await expect(row(runs.a).locator('td').nth(2)).not.toContainText('SLO');
  // Filtering finds runs by backend.
  await page.getByTestId('runs-search').fill('mock');
  await expect(row(runs.a)).toBeVisible();
});

test('a share link fits a phone, in the viewer’s read-only view', async ({ browser, playwright }) => {
  test.skip(!!process.env.BASE_URL, 'needs the token-protected server that playwright.config.ts starts');
  test.setTimeout(120_000);
  const owner: APIRequestContext = await playwright.request.newContext({
    baseURL: loginOrigin,
    extraHTTPHeaders: { authorization: `Bearer ${loginToken}` },
  });
  const id = await demoRun(owner, 'layout shared run', 2, 6);
  const resp = await owner.post('/api/shares', { data: { kind: 'run', runs: [id], label: 'layout' } });
  expect(resp.status()).toBe(201);
  const link = `${loginOrigin}${(await resp.json()).path}`;
  for (const scheme of ['light', 'dark'] as const) {
    const viewer = await browser.newContext({ viewport: PHONE, colorScheme: scheme });
    const page = await viewer.newPage();
    await page.goto(link);
    await expect(page).toHaveURL(`${loginOrigin}/runs/${id}`);
    await hydrated(page);
    await expect(page.getByTestId('read-only-badge')).toBeVisible();
    expect(await applied(page)).toEqual({ theme: scheme, bg: BG[scheme] });
    expect(await overflow(page)).toBeLessThanOrEqual(0);
    await expect(page.getByTestId('theme-switch')).toBeInViewport({ ratio: 1 });
    if (scheme === 'light') await page.screenshot({ path: 'test-results/screens/share-light-phone.png', fullPage: true });
    await viewer.close();
  }
  await owner.dispose();
});
