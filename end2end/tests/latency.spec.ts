import { test, expect, Locator, Page } from '@playwright/test';
import { hydrated, demoRun, linePixels, BLUE, GREEN, ORANGE, RED } from './helpers';

// A sweep's latency distribution on its run page: one CDF line per step (its load in the legend), and a selector
// to see every step merged or one step alone, with a note that counts the requests shown.



type Step = { index: number; load: string; requests: number };

/** Scrolls the latency section to the top of the window, clear of the sticky top bar. */
async function showLatency(page: Page) {
  await page.getByRole('heading', { name: 'Latency distribution' }).evaluate((h) => {
    window.scrollTo(0, h.getBoundingClientRect().top + window.scrollY - 70);
  });
}

test('a sweep: one CDF line per step, a selector isolates a step and the note counts its requests', async ({ page }) => {
  test.setTimeout(120_000);
  // Steps of 3 s each at concurrency 1, 4 and 8: each step completes a different number of requests (read from
  // the API, not assumed).
  const id = await demoRun(page.request, 'e2e cdf steps', 1, 0, { sweep: [1, 4, 8], requests: null, duration_s: 3 });
  const api = await (await page.request.get(`/api/runs/${id}/latency`)).json();
  const steps: Step[] = api.steps;
  expect(steps.map((s) => s.load)).toEqual(['concurrency 1', 'concurrency 4', 'concurrency 8']);
  const total = steps.reduce((n, s) => n + s.requests, 0);
  expect(total).toBe(api.requests);
  expect(steps[1].requests).toBeGreaterThan(0);
  expect(steps[1].requests).toBeLessThan(total);

  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto(`/runs/${id}`);
  await hydrated(page);
  const select = page.getByTestId('cdf-step');
  const note = page.getByTestId('latency-note');
  await expect(note).toContainText(`${total} measured, successful requests in 3 steps`);
  // "Each step" (the default), "all steps merged", then one entry per step with its load and request count.
  await expect(select.locator('option')).toHaveText([
    /^Each step/,
    /^All steps merged/,
    `step 1 · concurrency 1 (${steps[0].requests} requests)`,
    `step 2 · concurrency 4 (${steps[1].requests} requests)`,
    `step 3 · concurrency 8 (${steps[2].requests} requests)`,
  ]);
  await expect(select).toHaveValue('each');
  // Each step's line in its own colour on both per-step charts.
  for (const chart of ['chart-latency-cdf-ttft', 'chart-latency-cdf-e2e']) {
    for (const colour of [BLUE, GREEN, ORANGE]) {
      await expect.poll(() => linePixels(page.getByTestId(chart), colour)).toBeGreaterThan(30);
    }
  }
  await showLatency(page);
  await page.screenshot({ path: 'test-results/screens/cdf-steps.png' });

  // One step alone: its TTFT and E2E on one chart; the note counts that step's requests only.
  await select.selectOption('1');
  await expect(note).toHaveText(`${steps[1].requests} measured, successful requests in step 2 · concurrency 4 (warmup excluded).`);
  await expect(page.getByTestId('chart-latency-cdf-ttft')).toHaveCount(0);
  await expect.poll(() => linePixels(page.getByTestId('chart-latency-cdf'), BLUE)).toBeGreaterThan(30);
  await expect.poll(() => linePixels(page.getByTestId('chart-latency-cdf'), RED)).toBeGreaterThan(30);
  await showLatency(page);
  await page.screenshot({ path: 'test-results/screens/cdf-step-2.png' });

  // Every step merged: the whole run's count again.
  await select.selectOption('all');
  await expect(note).toContainText(`${total} measured, successful requests in 3 steps (warmup excluded), all steps merged`);

  // A phone: the selector and the per-step charts fit the width.
  await page.setViewportSize({ width: 390, height: 900 });
  await select.selectOption('each');
  await expect.poll(() => linePixels(page.getByTestId('chart-latency-cdf-e2e'), ORANGE)).toBeGreaterThan(10);
  const box = await select.boundingBox();
  expect(box && box.x + box.width).toBeLessThanOrEqual(390);
  await showLatency(page);
  await page.screenshot({ path: 'test-results/screens/cdf-steps-phone.png' });
});
