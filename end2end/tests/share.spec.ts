import { test, expect, Page, APIRequestContext } from '@playwright/test';
import { hydrated, demoRun } from './helpers';
import { loginPort, loginToken } from '../env';

// Read-only share links on a token-protected dashboard (the `login` project's server, `serve --host 0.0.0.0
// --token …`, started by playwright.config.ts): the owner makes a link on a run's page; a browser that holds only
// the link sees that run read-only and nothing else; the owner revokes it and the viewer's next load says so.

const origin = `http://127.0.0.1:${loginPort}`;
test.use({ baseURL: origin });
test.skip(!!process.env.BASE_URL, 'needs the token-protected server that playwright.config.ts starts');

test('a read-only link: made by the owner, opened by a viewer, revoked', async ({ browser }) => {
  test.setTimeout(120_000);
  const ownerContext = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const owner = await ownerContext.newPage();
  await owner.goto(`/?token=${loginToken}`);
  await expect(owner.getByTestId('page-runs')).toBeVisible();
  const id = await demoRun(owner.request, 'shared e2e run', 4, 24);
  const other = await demoRun(owner.request, 'private e2e run', 4, 8);

  // The owner: Copy link copies the page's own address; Create read-only link shows the full link.
  await owner.goto(`/runs/${id}`);
  await hydrated(owner);
  await expect(owner.getByTestId('run-status')).toHaveText('completed');
  await owner.getByTestId('copy-link').click();
  await expect(owner.getByTestId('copy-link-done')).toHaveText('Copied');
  expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(`${origin}/runs/${id}`);
  await owner.getByTestId('share-label').fill('for the e2e viewer');
  await owner.getByTestId('share-create').click();
  const url = owner.getByTestId('share-url');
  await expect(url).toHaveValue(new RegExp(`^${origin}/s/[0-9A-Za-z]{22}$`));
  const link = await url.inputValue();
  await owner.getByTestId('share-copy').click();
  await expect(owner.getByTestId('share-copy-done')).toHaveText('Copied');
  expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(link);
  const item = owner.getByTestId('share-item');
  await expect(item).toHaveCount(1);
  await expect(item).toContainText(link);
  await expect(item).toContainText('for the e2e viewer');
  await owner.screenshot({ path: 'test-results/screens/share-owner-panel.png', fullPage: true });

  // A fresh browser with only the link, and no clipboard API (as on a plain-http address that is not loopback).
  const viewerContext = await browser.newContext();
  await viewerContext.addInitScript(() => Object.defineProperty(navigator, 'clipboard', { value: undefined }));
  const viewer = await viewerContext.newPage();
  await viewer.goto(link);
  await expect(viewer).toHaveURL(`${origin}/runs/${id}`);
  await hydrated(viewer);
  await expect(viewer.getByTestId('read-only-badge')).toBeVisible();
  await expect(viewer.getByTestId('read-only-badge')).toHaveText('Read-only shared view');
  await expect(viewer.getByRole('heading', { level: 1 })).toHaveText('shared e2e run');
  await expect(viewer.getByTestId('run-status')).toHaveText('completed');
  await expect(viewer.getByTestId('exports')).toBeVisible();
  await expect(viewer.getByTestId('latency-note')).toContainText('measured, successful requests');
  for (const hidden of ['nav', 'brand', 'stop', 'share-create', 'share-label', 'share-panel']) {
    await expect(viewer.getByTestId(hidden)).toBeHidden();
  }
  const cookies = await viewerContext.cookies();
  expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['tokenscope_share', true, 'Lax']]);
  // Copy link gives the viewer the share link (their own address opens nothing for others); no clipboard here, so
  // the link is shown selected in a field.
  await viewer.getByTestId('copy-link').click();
  await expect(viewer.getByTestId('copy-link-field')).toHaveValue(link);
  // Downloads work; writes do not.
  expect((await viewer.request.get(`/api/runs/${id}/export/summary.md`)).status()).toBe(200);
  const patch = await viewer.request.patch(`/api/runs/${id}`, { data: { name: 'renamed by a viewer' } });
  expect(patch.status()).toBe(403);
  expect((await patch.json()).error).toContain('read-only');
  await viewer.screenshot({ path: 'test-results/screens/share-viewer-run.png', fullPage: true });

  // Nothing else: the Runs page and another run are the login form.
  let resp = await viewer.goto('/runs');
  expect(resp?.status()).toBe(401);
  await expect(viewer.getByTestId('login-form')).toBeVisible();
  resp = await viewer.goto(`/runs/${other}`);
  expect(resp?.status()).toBe(401);

  // The owner revokes (after confirming); the viewer's next load says the link was revoked.
  owner.once('dialog', (d) => d.accept());
  await owner.getByTestId('share-revoke').click();
  await expect(owner.getByTestId('share-revoked')).toHaveText('revoked');
  await expect(item).toHaveClass(/revoked/);
  await owner.screenshot({ path: 'test-results/screens/share-owner-revoked.png', fullPage: true });
  resp = await viewer.goto(`/runs/${id}`);
  expect(resp?.status()).toBe(410);
  await expect(viewer.getByRole('heading', { level: 1 })).toHaveText('This share link was revoked by its owner');
  await viewer.screenshot({ path: 'test-results/screens/share-viewer-revoked.png', fullPage: true });
  resp = await viewer.goto(link);
  expect(resp?.status()).toBe(410);

  // The owner's own view is unchanged.
  await owner.reload();
  await hydrated(owner);
  await expect(owner.getByTestId('nav')).toBeVisible();
  await expect(owner.getByTestId('read-only-badge')).toBeHidden();
  await ownerContext.close();
  await viewerContext.close();
});

test('a comparison link opens exactly its runs', async ({ browser }) => {
  test.setTimeout(120_000);
  const ownerContext = await browser.newContext();
  const owner = await ownerContext.newPage();
  await owner.goto(`/?token=${loginToken}`);
  await expect(owner.getByTestId('page-runs')).toBeVisible();
  const a = await demoRun(owner.request, 'compare e2e A', 4, 8);
  const b = await demoRun(owner.request, 'compare e2e B', 4, 8);
  const c = await demoRun(owner.request, 'compare e2e C', 4, 8);

  await owner.goto(`/compare?runs=${a},${b}`);
  await hydrated(owner);
  await expect(owner.getByTestId('compare-legend').locator('li')).toHaveCount(2);
  await owner.getByTestId('share-create').click();
  const link = await owner.getByTestId('share-url').inputValue();
  expect(link).toMatch(/\/s\/[0-9A-Za-z]{22}$/);
  await expect(owner.getByTestId('share-item')).toHaveCount(1);
  await owner.screenshot({ path: 'test-results/screens/share-owner-compare.png' });

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await viewer.goto(link);
  await expect(viewer).toHaveURL(`${origin}/compare?runs=${a},${b}`);
  await hydrated(viewer);
  await expect(viewer.getByTestId('read-only-badge')).toBeVisible();
  await expect(viewer.getByTestId('compare-legend')).toContainText('compare e2e A');
  await expect(viewer.getByTestId('compare-legend')).toContainText('compare e2e B');
  await expect(viewer.getByTestId('compare-problem')).toHaveCount(0);
  await expect(viewer.getByTestId('share-create')).toBeHidden();
  await viewer.screenshot({ path: 'test-results/screens/share-viewer-compare.png' });
  // The comparison's runs open from it; a third run does not, nor a comparison that adds it.
  expect((await viewer.goto(`/runs/${a}`))?.status()).toBe(200);
  expect((await viewer.goto(`/runs/${c}`))?.status()).toBe(401);
  expect((await viewer.goto(`/compare?runs=${a},${b},${c}`))?.status()).toBe(401);
  await ownerContext.close();
  await viewerContext.close();
});
