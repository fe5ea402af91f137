import { test, expect, Page } from '@playwright/test';
import { hydrated } from './helpers';
import { loginToken } from '../env';

// A dashboard on a public address (`serve --host 0.0.0.0 --token …`, started by playwright.config.ts as the `login`
// project's server): the login form, a wrong token refused, the right one, the cookie, the `?token=` link.

test('the login form refuses a wrong token and lets the right one in', async ({ page, context, request }) => {
  const resp = await page.goto('/runs');
  expect(resp?.status()).toBe(401);
  await expect(page.getByTestId('login-form')).toBeVisible();
  await expect(page.getByTestId('page-runs')).toHaveCount(0);

  await page.getByTestId('login-token').fill('not-the-token');
  await page.getByTestId('login-submit').click();
  await expect(page.getByRole('alert')).toHaveText('That token is not right.');
  await expect(page).toHaveURL(/\/login$/);
  expect(await context.cookies()).toEqual([]);
  await page.screenshot({ path: 'test-results/screens/login-refused.png', fullPage: true });

  await page.getByTestId('login-token').fill(loginToken);
  await page.getByTestId('login-submit').click();
  await expect(page.getByTestId('page-runs')).toBeVisible();
  await expect(page).toHaveURL(/:\d+\/$/);
  // The WebSocket is authorised by the same cookie.
  await hydrated(page);

  const cookies = await context.cookies();
  expect(cookies).toHaveLength(1);
  expect(cookies[0]).toMatchObject({ name: 'tokenscope_token', httpOnly: true, sameSite: 'Lax', path: '/', secure: false });
  // HttpOnly: the page's scripts cannot read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain('tokenscope_token');

  // The API answers the browser's cookie; a client without it gets 401 JSON, one with the bearer token 200.
  expect((await page.request.get('/api/runs/summaries')).status()).toBe(200);
  const bare = await request.get('/api/runs/summaries');
  expect(bare.status()).toBe(401);
  expect((await bare.json()).error).toContain('access token');
  const bearer = await request.get('/api/runs/summaries', { headers: { authorization: `Bearer ${loginToken}` } });
  expect(bearer.status()).toBe(200);
});

test('a ?token= link logs in and strips the token from the address', async ({ page, context }) => {
  await page.goto(`/gpu?token=${loginToken}&x=1`);
  await expect(page.getByTestId('page-gpu')).toBeVisible();
  await expect(page).toHaveURL(/\/gpu\?x=1$/);
  expect(page.url()).not.toContain('token');
  await hydrated(page);
  const cookies = await context.cookies();
  expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([['tokenscope_token', true, 'Lax']]);

  // A wrong token in the link gets the form and a message, and no cookie.
  const other = await context.browser()!.newContext();
  const page2 = await other.newPage();
  const resp = await page2.goto(`${new URL(page.url()).origin}/runs?token=wrong-token`);
  expect(resp?.status()).toBe(401);
  await expect(page2.getByRole('alert')).toHaveText('That token is not right.');
  expect(await other.cookies()).toEqual([]);
  await other.close();
});
