import { test, expect } from '@playwright/test';
import { hydrated, demoRun } from './helpers';
import { loginPort, loginToken } from '../env';

// The owner opens one of their share links from another site (a chat app, mail): a cross-site top-level
// navigation. The session cookie is SameSite=Lax, so the browser sends it and the owner lands in owner mode at once
// (before, with Strict, they saw the read-only viewer's page until a reload). A cross-site POST from that other
// site is still refused. Runs against the token-protected server (`login` project's, started by the config).

const origin = `http://127.0.0.1:${loginPort}`;
test.use({ baseURL: origin });
test.skip(!!process.env.BASE_URL, 'needs the token-protected server that playwright.config.ts starts');

test('the owner opening a share link from another site arrives as the owner', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto(`/?token=${loginToken}`);
  await expect(page.getByTestId('page-runs')).toBeVisible();
  const run = await demoRun(page.request, 'cross-site e2e run', 2, 6);
  const resp = await page.request.post('/api/shares', { data: { kind: 'run', runs: [run], label: 'chat' } });
  expect(resp.status()).toBe(201);
  const share = await resp.json();

  // Another site with the link, and a form that would stop the run.
  await page.route('http://chat.example/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>chat</title><a id="go" href="${origin}${share.path}">the run</a>
        <form method="post" action="${origin}/api/runs/${run}/stop"><button id="post">stop it</button></form>`,
    }),
  );
  await page.goto('http://chat.example/room');
  await page.click('#go');
  await expect(page).toHaveURL(`${origin}/runs/${run}`);
  // A navigation from http://chat.example is cross-site (Sec-Fetch-Site: cross-site): a SameSite=Strict cookie would
  // have been left out, and the page below would be the read-only viewer's.
  await hydrated(page);
  await expect(page.locator('body')).not.toHaveClass(/viewer/);
  await expect(page.getByTestId('nav')).toBeVisible();
  await expect(page.getByTestId('read-only-badge')).toBeHidden();
  await expect(page.getByTestId('share-create')).toBeVisible();
  expect((await (await page.request.get('/api/session')).json()).role).toBe('owner');

  // A cross-site write is refused (Lax does not send the cookie with it, and the origin check refuses it anyway).
  await page.goto('http://chat.example/room');
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${origin}/api/runs/${run}/stop`),
    page.click('#post'),
  ]);
  expect(post.status()).toBe(403);
  expect(await post.text()).toContain('cross-origin request refused');
});
