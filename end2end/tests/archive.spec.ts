import { test, expect, Page, Locator, APIRequestContext } from '@playwright/test';
import { hydrated, demoRun, linePixels, BLUE, GREEN, RED } from './helpers';
import { readFileSync } from 'fs';

// The archive: two short demo runs land on the Runs page, get compared, renamed, exported and deleted.



const row = (page: Page, id: string) => page.locator(`[data-testid="run-row"][data-id="${id}"]`);

test('two runs: listed, filtered, compared, renamed, exported, deleted', async ({ page }) => {
  test.setTimeout(150_000);
  const a = await demoRun(page.request, 'e2e archive A', 4, 48);
  const b = await demoRun(page.request, 'e2e archive B', 8, 96);

  // The Runs page lists both, newest first, with real links.
  await page.goto('/runs');
  await hydrated(page);
  await expect(row(page, a).locator(`a[href="/runs/${a}"]`)).toHaveText('e2e archive A');
  await expect(row(page, b).locator(`a[href="/runs/${b}"]`)).toHaveText('e2e archive B');
  await expect(row(page, a).getByTestId('run-row-status')).toHaveText('completed');
  const ids = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')));
  expect(ids.indexOf(b)).toBeLessThan(ids.indexOf(a));

  // The filter narrows by name.
  await page.getByTestId('runs-search').fill('archive a');
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(row(page, a)).toBeVisible();
  await page.getByTestId('runs-search').fill('');
  await expect(row(page, b)).toBeVisible();

  // Rename in place.
  await row(page, a).getByTestId('run-rename').click();
  await row(page, a).getByTestId('rename-input').fill('vLLM c=4');
  await row(page, a).getByTestId('rename-input').press('Enter');
  await expect(row(page, a).getByTestId('run-link')).toHaveText('vLLM c=4');
  expect((await (await page.request.get(`/api/runs/${a}`)).json()).spec.name).toBe('vLLM c=4');
  await page.screenshot({ path: 'test-results/screens/runs.png', fullPage: true });

  // Tick both and compare.
  await expect(page.getByTestId('compare-selected')).toBeDisabled();
  await row(page, a).getByTestId('run-select').check();
  await row(page, b).getByTestId('run-select').check();
  await page.getByTestId('compare-selected').click();
  await expect(page).toHaveURL(new RegExp(`/compare\\?runs=${a},${b}$`));
  await hydrated(page);
  await expect(page.getByTestId('compare-row')).toHaveCount(2);
  await expect(page.getByTestId('compare-table')).toContainText('vLLM c=4');
  await expect(page.getByTestId('compare-table')).toContainText('e2e archive B');
  await expect(page.getByTestId('compare-outcome')).toHaveText(['completed', 'completed']);
  await expect(page.getByTestId('compare-table').locator('.delta').first()).toHaveText(/^[+-]\d+\.\d%$/);
  // One line per run on each chart, in the run's colour.
  for (const chart of ['compare-tokens', 'compare-ttft', 'compare-ttft-cdf', 'compare-e2e-cdf']) {
    await expect.poll(() => linePixels(page.getByTestId(chart), BLUE), { timeout: 15_000 }).toBeGreaterThan(50);
    await expect.poll(() => linePixels(page.getByTestId(chart), GREEN), { timeout: 15_000 }).toBeGreaterThan(50);
  }
  // GPU power and energy per token: one row per run, both with (simulated) figures; no sweep, no sweep chart.
  await expect(page.getByTestId('energy-row')).toHaveCount(2);
  await expect(page.getByTestId('compare-energy')).toContainText(/\d W/);
  await expect(page.getByTestId('compare-energy')).toContainText(/J\/token/);
  await expect(page.getByTestId('compare-sweep')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/screens/compare.png', fullPage: true });

  // The run page of an archived run: charts from the archive, the latency distribution, the downloads.
  await page.goto(`/runs/${a}`);
  await hydrated(page);
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  await expect.poll(() => linePixels(page.getByTestId('chart-tokens'), BLUE), { timeout: 15_000 }).toBeGreaterThan(50);
  await expect(page.getByTestId('latency-note')).toContainText('48 measured');
  await expect.poll(() => linePixels(page.getByTestId('chart-latency-cdf'), RED), { timeout: 15_000 }).toBeGreaterThan(50);
  await page.screenshot({ path: 'test-results/screens/run-archived.png', fullPage: true });

  // The run's charts as one PNG, drawn by the server and named after the run.
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-png').click()]);
  expect(png.suggestedFilename()).toBe('tokenscope-vLLM-c-4-charts.png');
  await png.saveAs('test-results/screens/run-charts-download.png');
  const pngBytes = readFileSync(await png.path());
  expect(pngBytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(pngBytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
  // Width and height (big-endian at bytes 16 and 20): 1600 px wide, the title block and seven time panels tall.
  expect(pngBytes.readUInt32BE(16)).toBe(1600);
  expect(pngBytes.readUInt32BE(20)).toBeGreaterThan(1500);

  const [json] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-json').click()]);
  expect(json.suggestedFilename()).toBe(`tokenscope-${a}-report.json`);
  const report = JSON.parse(readFileSync(await json.path(), 'utf8'));
  expect(report.requests_completed).toBe(48);
  expect(report.ttft_ms.p50).toBeGreaterThan(0);

  const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-requests').click()]);
  const lines = readFileSync(await csv.path(), 'utf8').trim().split('\n');
  expect(lines[0]).toMatch(/^step,index,t_send_ms,scheduler_lag_ms,ttft_ms,e2e_ms,/);
  expect(lines).toHaveLength(49);
  expect(lines.slice(1).every((l) => l.split(',').length === lines[0].split(',').length)).toBe(true);

  const [gpu] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-telemetry').click()]);
  const gpuLines = readFileSync(await gpu.path(), 'utf8').trim().split('\n');
  expect(gpuLines[0]).toMatch(/^unix_ms,t_s,gpu_index,uuid,simulated,/);
  expect(gpuLines.length).toBeGreaterThan(2);

  // Back to the Runs page by the navigation (rows fetched in the browser this time); delete after a confirmation.
  await page.getByTestId('nav-runs').click();
  await expect(page).toHaveURL(/\/runs$/);
  page.once('dialog', (d) => d.accept());
  await row(page, b).getByTestId('run-delete').click();
  await expect(row(page, b)).toHaveCount(0);
  expect((await page.request.get(`/api/runs/${b}`)).status()).toBe(404);
});

test('an imported sweep report is compared with a run: throughput against TTFT p99', async ({ page }) => {
  test.setTimeout(90_000);
  const a = await demoRun(page.request, 'e2e sweep base', 2, 24);
  const report = await (await page.request.get(`/api/runs/${a}/export.json`)).json();
  // Two steps made from the run's report: the second twice as fast and slower to first token.
  const faster = { ...report, load: { kind: 'concurrency', concurrency: 8 },
    output_tokens_per_s: report.output_tokens_per_s * 2, ttft_ms: { ...report.ttft_ms, p99: report.ttft_ms.p99 * 1.5 } };
  const sweep = { started_at_ms: report.started_at_ms, steps: [report, faster], best_step: 1, stopped: false,
    verdict: null, preflight: null };
  const resp = await page.request.post('/api/runs/import', { data: { report: sweep, name: 'e2e imported sweep' } });
  expect(resp.status()).toBe(201);
  const { id } = await resp.json();

  await page.goto(`/compare?runs=${a},${id}`);
  await hydrated(page);
  await expect(page.getByTestId('compare-row')).toHaveCount(2);
  await expect(page.getByTestId('compare-table')).toContainText('e2e imported sweep');
  await expect(page.getByTestId('compare-table')).toContainText('concurrency 2, 8');
  // The sweep's line (second colour) on the throughput-vs-latency chart.
  await expect.poll(() => linePixels(page.getByTestId('compare-sweep'), GREEN), { timeout: 15_000 }).toBeGreaterThan(50);
  await expect(page.getByTestId('energy-row')).toHaveCount(2);
  await page.screenshot({ path: 'test-results/screens/compare-sweep.png', fullPage: true });

  // The imported run's page: tagged, with its note, its summary per step.
  await page.goto(`/runs/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  await expect(page.getByTestId('run-notes')).toContainText('Imported from a report file');
  await expect(page.getByTestId('latency-note')).toContainText('No per-request records');
});

test('notes and tags are edited on the run page, kept by the archive and filterable on the Runs page', async ({ page }) => {
  test.setTimeout(90_000);
  const id = await demoRun(page.request, 'e2e notes', 2, 8);
  await page.goto(`/runs/${id}`);
  await hydrated(page);
  await page.getByTestId('edit-meta').click();
  await page.getByTestId('notes-input').fill('baseline before the <b>kernel</b> upgrade');
  await page.getByTestId('tags-input').fill(' h200, baseline,, h200 ');
  await page.getByTestId('meta-save').click();
  await expect(page.getByTestId('run-notes')).toHaveText('baseline before the <b>kernel</b> upgrade');
  await expect(page.getByTestId('edit-meta')).toBeVisible();
  const stored = await (await page.request.get(`/api/runs/${id}`)).json();
  expect(stored.notes).toBe('baseline before the <b>kernel</b> upgrade');
  expect(stored.tags).toEqual(['h200', 'baseline']);
  await page.screenshot({ path: 'test-results/screens/run-notes.png' });

  // A refused edit says why and keeps what was typed.
  await page.getByTestId('edit-meta').click();
  await page.getByTestId('tags-input').fill(Array.from({ length: 25 }, (_, i) => `t${i}`).join(','));
  await page.getByTestId('meta-save').click();
  await expect(page.getByTestId('meta-message')).toContainText('tags');
  await expect(page.getByTestId('tags-input')).toHaveValue(/t24/);

  // The Runs page filters by tag.
  await page.goto('/runs');
  await hydrated(page);
  await page.getByTestId('runs-search').fill('baseline');
  await expect(row(page, id)).toBeVisible();
});
