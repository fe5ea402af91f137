import { test, expect } from '@playwright/test';

// The dashboard shell: hydration, the live-socket badge, and every navigation entry.
test('hydrates, connects and navigates', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto('/');
  await expect(page.getByTestId('page-runs')).toBeVisible();
  // "connected" is only ever set by the hydrated WASM once the WebSocket opens.
  await expect(page.getByTestId('connection')).toHaveText(/^\s*connected\s*$/);

  const pages: Array<[string, string, string]> = [
    ['nav-new-run', '/runs/new', 'page-new-run'],
    ['nav-gpu', '/gpu', 'page-gpu'],
    ['nav-compare', '/compare', 'page-compare'],
    ['nav-runs', '/runs', 'page-runs'],
  ];
  for (const [nav, path, testid] of pages) {
    await page.getByTestId(nav).click();
    await expect(page).toHaveURL(new RegExp(`${path}$`));
    await expect(page.getByTestId(testid)).toBeVisible();
    await expect(page.getByTestId(nav)).toHaveAttribute('aria-current', 'page');
    // Client-side navigation keeps the same socket.
    await expect(page.getByTestId('connection')).toHaveText(/connected/);
    await page.screenshot({ path: `test-results/screens/${testid}.png`, fullPage: true });
  }
  expect(errors, errors.join('\n')).toEqual([]);
});

test('shows reconnecting when the socket drops, then connects again', async ({ page }) => {
  let connects = 0;
  await page.routeWebSocket(/\/ws\/live$/, (ws) => {
    connects += 1;
    ws.connectToServer();
    // Drop the first connection the way an HTTPS proxy drops an idle socket.
    if (connects === 1) setTimeout(() => ws.close({ code: 1001, reason: 'proxy idle timeout' }), 1500);
  });
  await page.goto('/gpu');
  const badge = page.getByTestId('connection');
  await expect(badge).toHaveText(/^\s*connected\s*$/);
  await expect(badge).toHaveText(/reconnecting in/);
  await expect(badge).toHaveText(/^\s*connected\s*$/);
  expect(connects).toBeGreaterThanOrEqual(2);
});
