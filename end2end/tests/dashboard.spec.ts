import { test, expect, Page, Locator } from '@playwright/test';
import { demoRun, hydrated } from './helpers';

// The live dashboard against the built-in demo target (in-process mock + simulated GPU telemetry).

/** Number of non-background pixels drawn on a canvas (0 for a blank one). */
async function inkedPixels(canvas: Locator): Promise<number> {
  return canvas.evaluate((el: HTMLCanvasElement) => {
    const ctx = el.getContext('2d');
    if (!ctx || el.width === 0 || el.height === 0) return 0;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    const [r0, g0, b0] = [data[0], data[1], data[2]];
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - r0) + Math.abs(data[i + 1] - g0) + Math.abs(data[i + 2] - b0) > 30) n++;
    }
    return n;
  });
}

/** Pixels of a given series colour (the line itself, not axes or labels). */
async function linePixels(canvas: Locator, rgb: [number, number, number]): Promise<number> {
  return canvas.evaluate((el: HTMLCanvasElement, c) => {
    const ctx = el.getContext('2d');
    if (!ctx) return 0;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]) < 40) n++;
    }
    return n;
  }, rgb);
}

test('form validation shows per-field errors without starting a run', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('input-target').fill('not a url');
  await page.getByTestId('input-load.concurrency').fill('0');
  await page.getByTestId('start').click();
  await expect(page.getByTestId('error-target')).toBeVisible();
  await expect(page.getByTestId('error-load.concurrency')).toBeVisible();
  await expect(page).toHaveURL(/\/runs\/new$/);
  await page.screenshot({ path: 'test-results/screens/new-run-errors.png', fullPage: true });
});

test('typing another URL puts the backend preset back to auto-detection', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('use-demo').click();
  await expect(page.getByTestId('input-backend')).toHaveValue('mock');
  await page.getByTestId('input-target').fill('http://127.0.0.1:9');
  await expect(page.getByTestId('input-backend')).toHaveValue('auto');
});

test('demo run: start, watch it move, stop, read the summary', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('use-demo').click();
  await expect(page.getByTestId('input-target')).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+$/);
  await page.getByTestId('check').click();
  await expect(page.getByTestId('preflight')).toContainText('yes');
  await page.screenshot({ path: 'test-results/screens/new-run-preflight.png', fullPage: true });

  await page.getByTestId('input-load.concurrency').fill('16');
  await page.getByTestId('input-requests').fill('100000');
  await page.getByTestId('start').click();
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9]{20,}$/);
  await expect(page.getByTestId('run-status')).toHaveText('running');
  await expect(page.getByText('demo target')).toBeVisible();

  // The progress bar advances.
  const fill = page.locator('.progress-fill');
  const width = async () => Number((await fill.getAttribute('style'))?.match(/width: ([\d.]+)%/)?.[1] ?? 0);
  await expect.poll(async () => (await page.getByTestId('progress-text').textContent()) ?? '').toMatch(/[1-9]\d* \/ 100000 requests/);
  const first = await width();
  await expect.poll(width, { timeout: 15_000 }).toBeGreaterThan(first);

  // Charts draw real lines: throughput (series colour 76,194,255) and GPU utilization.
  await expect.poll(() => linePixels(page.getByTestId('chart-tokens'), [48, 149, 238]), { timeout: 15_000 }).toBeGreaterThan(50);
  await expect.poll(() => inkedPixels(page.getByTestId('chart-ttft')), { timeout: 15_000 }).toBeGreaterThan(500);
  await expect.poll(() => linePixels(page.getByTestId('chart-gpu-util').first(), [48, 149, 238]), { timeout: 15_000 }).toBeGreaterThan(50);
  await page.screenshot({ path: 'test-results/screens/run-live.png', fullPage: true });

  await page.getByTestId('stop').click();
  await expect(page.getByTestId('run-status')).toHaveText('stopped', { timeout: 20_000 });
  await expect(page.getByTestId('summary')).toBeVisible();
  await expect(page.getByTestId('percentiles')).toContainText('TTFT');
  await page.screenshot({ path: 'test-results/screens/run-stopped.png', fullPage: true });

  // A late viewer (a teammate opening the link) gets the same run with its history.
  const url = page.url();
  const late = await page.context().newPage();
  await late.goto(url);
  await expect(late.getByTestId('run-status')).toHaveText('stopped');
  await expect.poll(() => linePixels(late.getByTestId('chart-tokens'), [48, 149, 238]), { timeout: 15_000 }).toBeGreaterThan(50);
});

test('a dataset uploaded from the form lands in the dataset folder and runs', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('use-demo').click();
  await page.getByTestId('input-workload.kind').selectOption('jsonl');
  const lines = ['first', 'second', 'third'].map((p) => JSON.stringify({ prompt: `a ${p} prompt`, max_tokens: 8 }));
  await page.getByTestId('dataset-upload').setInputFiles({
    name: 'e2e prompts.jsonl',
    mimeType: 'application/x-ndjson',
    buffer: Buffer.from(lines.join('\n') + '\n'),
  });
  await expect(page.getByTestId('dataset-upload-message')).toContainText('3 prompts');
  await expect(page.getByTestId('input-workload.path')).toHaveValue(/^uploads\/e2e_prompts-[0-9a-f]{12}\.jsonl$/);
  await page.screenshot({ path: 'test-results/screens/new-run-upload.png', fullPage: true });

  // A file that is not a dataset is refused where it was picked, and the path is left as it was.
  await page.getByTestId('dataset-upload').setInputFiles({
    name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello'),
  });
  await expect(page.getByTestId('dataset-upload-message')).toContainText('not uploaded');
  await expect(page.getByTestId('input-workload.path')).toHaveValue(/^uploads\/e2e_prompts-/);

  // No request count: a dataset runs each prompt once.
  await page.getByTestId('input-requests').fill('');
  await page.getByTestId('start').click();
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9]{20,}$/);
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 30_000 });
  await expect(page.getByTestId('progress-text')).toContainText('3 done');
});

test('a run that missed its SLO says so on its page and in the Runs list, not just "completed"', async ({ page }) => {
  // The demo target's TTFT is about 120 ms: an objective of 1 ms is missed, one of 60 s is met.
  const missed = await demoRun(page.request, 'slo missed e2e', 2, 4, { slo: { ttft_ms: 1 } });
  const met = await demoRun(page.request, 'slo met e2e', 2, 4, { slo: { ttft_ms: 60000 } });
  await page.goto(`/runs/${missed}`);
  await hydrated(page);
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  await expect(page.getByTestId('run-outcome')).toHaveText('SLO missed');
  await expect(page.getByTestId('run-outcome')).toHaveClass(/badge-bad/);
  await page.screenshot({ path: 'test-results/screens/run-slo-missed.png' });
  await page.goto('/runs');
  await hydrated(page);
  const row = (id: string) => page.locator(`[data-testid="run-row"][data-id="${id}"]`);
  await expect(row(missed).getByTestId('run-row-outcome')).toHaveText('SLO missed');
  await expect(row(met).getByTestId('run-row-outcome')).toHaveText('SLO met');
  await page.screenshot({ path: 'test-results/screens/runs-outcomes.png', fullPage: true });
});

test('GPU page shows every simulated GPU, labelled, with live charts', async ({ page }) => {
  await page.goto('/gpu');
  await hydrated(page);
  await expect(page.getByTestId('gpu-status')).toContainText('simulated');
  await expect(page.getByTestId('gpu-0')).toBeVisible();
  await expect(page.getByTestId('gpu-1')).toBeVisible();
  await expect.poll(() => linePixels(page.getByTestId('chart-gpu-power').first(), [209, 125, 0]), { timeout: 15_000 }).toBeGreaterThan(50);
  await page.screenshot({ path: 'test-results/screens/gpu.png', fullPage: true });
});
