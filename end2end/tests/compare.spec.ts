import { test, expect, Page, Locator, APIRequestContext } from '@playwright/test';
import { hydrated, linePixels } from './helpers';

// Compare compares like with like: two sweeps on the demo target that share one load (concurrency 4) are compared
// at it, the steps are chosen per run and kept in the link, throughput against TTFT p99 is a labelled scatter, the
// page never scrolls sideways (the table scrolls in its own box), and "Copy summary" / "Copy Markdown" copy the
// comparison or the run — through the Clipboard API, or without it (plain http on a pod's proxy).

/** Starts a sweep on the built-in demo target with a TTFT SLO every step meets, waits for it, returns its id. */
async function demoSweep(request: APIRequestContext, name: string, sweep: number[]): Promise<string> {
  const demo = await (await request.get('/api/demo')).json();
  const resp = await request.post('/api/runs', {
    data: {
      name,
      target: demo.target,
      load: { kind: 'concurrency', concurrency: sweep[0] },
      sweep,
      requests: 16,
      slo: { ttft_ms: 30000 },
      workload: { kind: 'synthetic', input_tokens: { min: 16, max: 16 }, output_tokens: { min: 16, max: 16 } },
    },
  });
  expect(resp.status()).toBe(201);
  const { id } = await resp.json();
  await expect
    .poll(async () => (await (await request.get(`/api/runs/${id}`)).json()).status, { timeout: 60_000 })
    .toBe('completed');
  return id;
}


/** The colour of run `i`, from its legend swatch (the palette follows the theme). */
async function runColour(page: Page, i: number): Promise<[number, number, number]> {
  const swatch = page.getByTestId('compare-legend').locator('.swatch').nth(i);
  const css = await swatch.evaluate((el) => getComputedStyle(el).backgroundColor);
  const [r, g, b] = (css.match(/\d+/g) ?? []).map(Number);
  return [r, g, b];
}

/** The page does not scroll sideways, and every column of the table can be scrolled into its box (or, `fits`,
 * the table needs no scrolling at all). */
async function fitsOrScrolls(page: Page, fits: boolean) {
  const page_ = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(page_.scroll, 'no page-level horizontal overflow').toBeLessThanOrEqual(page_.client);
  const box = page.getByTestId('compare-table-scroll');
  const [inner, outer] = await box.evaluate((el) => [el.scrollWidth, el.clientWidth]);
  expect(inner <= outer, `the table (${inner} px) ${fits ? 'fits' : 'scrolls in'} its box (${outer} px)`).toBe(fits);
  await box.evaluate((el) => { el.scrollLeft = el.scrollWidth; });
  const last = page.getByTestId('compare-table').locator('thead th').last();
  await expect(last).toContainText('J/token');
  const [b, l] = [await box.boundingBox(), await last.boundingBox()];
  expect(b && l && l.x + l.width <= b.x + b.width + 1 && l.x >= b.x - 1, 'the last column scrolls into view').toBe(true);
  await box.evaluate((el) => { el.scrollLeft = 0; });
}

let a = '';
let b = '';

test.beforeAll(async ({ playwright }, info) => {
  test.setTimeout(180_000);
  const request = await playwright.request.newContext({ baseURL: info.project.use.baseURL });
  a = await demoSweep(request, 'compare e2e A', [1, 4]);
  b = await demoSweep(request, 'compare e2e B', [4, 8]);
  await request.dispose();
});

test('two sweeps are compared at the load they share; the steps are chosen per run and kept in the link', async ({ browser }) => {
  test.setTimeout(120_000);
  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`/compare?runs=${a},${b}`);
  await hydrated(page);

  // The default: concurrency 4, which both have; the step lists say so.
  await expect(page.getByTestId('compare-basis')).toHaveText('Compared at concurrency 4 (both runs have it).');
  await expect(page.getByTestId('compare-step-0')).toHaveValue('1');
  await expect(page.getByTestId('compare-step-1')).toHaveValue('0');
  await expect(page.getByTestId('compare-step-0').locator('option:checked')).toHaveText(/^concurrency 4/);
  await expect(page.getByTestId('compare-step-1').locator('option:checked')).toHaveText(/^concurrency 4/);
  await expect(page.getByTestId('compare-outcome')).toHaveText(['SLO met', 'SLO met']);
  await expect(page.getByTestId('compare-noise')).toContainText('differences under ~8 % may be noise');

  // The scatter: both runs' points, labelled; the compared ones named in its description.
  const scatter = page.getByTestId('compare-sweep');
  await expect(scatter).toBeVisible();
  await expect(scatter).toHaveAttribute('aria-label', /compare e2e A: c=1 .* tok\/s at .* ms, c=4 .* \(compared\)/);
  await expect(scatter).toHaveAttribute('aria-label', /compare e2e B: c=4 .* \(compared\), c=8 [^(]*$/);
  for (const i of [0, 1]) {
    const colour = await runColour(page, i);
    await expect.poll(() => linePixels(scatter, colour), { timeout: 15_000 }).toBeGreaterThan(50);
  }

  await fitsOrScrolls(page, true);
  await page.screenshot({ path: 'test-results/screens/compare-sweeps.png', fullPage: true });

  // Copy summary / Copy Markdown of the comparison.
  await page.getByTestId('copy-summary').click();
  await expect(page.getByTestId('copy-summary-done')).toHaveText('Copied');
  const line = await page.evaluate(() => navigator.clipboard.readText());
  expect(line).toMatch(/^compare e2e B vs compare e2e A at c=4: ([+−][\d.]+|±0) % tok\/s, TTFT p99 ([+−][\d.]+|±0) %$/);
  await page.getByTestId('copy-markdown').click();
  await expect(page.getByTestId('copy-markdown-done')).toHaveText('Copied');
  const md = await page.evaluate(() => navigator.clipboard.readText());
  expect(md).toContain('### tokenscope: compare e2e A vs compare e2e B');
  expect(md).toContain('| compare e2e A (baseline) | concurrency 4 | SLO met |');
  expect(md).toContain('| compare e2e B | concurrency 4 | SLO met |');

  // Another step for B: the table, the basis and the link follow.
  const bTokens = page.getByTestId('compare-row').nth(1).locator('td.num').first();
  const before = await bTokens.innerText();
  // The latency distributions follow the step: B's step 1 is asked for.
  const stepCdf = page.waitForResponse((r) => r.url().includes(`/api/runs/${b}/latency?step=1`) && r.ok());
  await page.getByTestId('compare-step-1').selectOption('1');
  await stepCdf;
  await expect(page).toHaveURL(new RegExp(`/compare\\?runs=${a},${b}&steps=1,1$`));
  await expect(page.getByTestId('compare-basis')).toContainText(
    'Compared at the steps chosen: compare e2e A at concurrency 4, compare e2e B at concurrency 8',
  );
  await expect(page.getByTestId('compare-step-1').locator('option:checked')).toHaveText(/^concurrency 8/);
  await expect(bTokens).not.toHaveText(before);
  await expect(scatter).toHaveAttribute('aria-label', /compare e2e B: c=4 [^(]*, c=8 .* \(compared\)$/);

  // The link holds the choice: a reload (or a teammate opening it) shows the same comparison.
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('compare-step-1')).toHaveValue('1');
  await expect(page.getByTestId('compare-basis')).toContainText('compare e2e B at concurrency 8');
  await page.getByTestId('compare-steps-reset').click();
  await expect(page).toHaveURL(new RegExp(`/compare\\?runs=${a},${b}$`));
  await expect(page.getByTestId('compare-basis')).toHaveText('Compared at concurrency 4 (both runs have it).');

  // A phone: the page stays 390 px wide, the table scrolls in its box.
  await page.setViewportSize({ width: 390, height: 844 });
  await fitsOrScrolls(page, false);
  await page.screenshot({ path: 'test-results/screens/compare-sweeps-phone.png', fullPage: true });

  // A run's page: its one-line summary and its Markdown export.
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto(`/runs/${a}`);
  await hydrated(page);
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  await page.getByTestId('copy-summary').click();
  await expect(page.getByTestId('copy-summary-done')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toMatch(
    /^compare e2e A c=\d+ \(best under SLO of 2 steps\): [\d.]+ tok\/s, TTFT p99 [\d.]+ ms, TPOT p50 [\d.]+ ms, SLO met \(demo target\)$/,
  );
  await expect(page.getByTestId('copy-markdown')).toBeEnabled();
  await page.getByTestId('copy-markdown').click();
  await expect(page.getByTestId('copy-markdown-done')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('### tokenscope: compare e2e A');
  await page.screenshot({ path: 'test-results/screens/run-copy.png' });
  await context.close();
});

test('without the Clipboard API (plain http), Copy summary copies through a selected textarea', async ({ browser }) => {
  const context = await browser.newContext();
  // No navigator.clipboard, as on a plain-http address that is not loopback; record what execCommand copies.
  await context.addInitScript(() => {
    Object.defineProperty(navigator, 'clipboard', { value: undefined });
    const exec = document.execCommand.bind(document);
    document.execCommand = (command: string, ...rest: unknown[]) => {
      if (command === 'copy') {
        const el = document.activeElement as HTMLTextAreaElement | null;
        (window as unknown as { copied: string }).copied =
          el && 'value' in el ? el.value.substring(el.selectionStart, el.selectionEnd) : '';
      }
      return exec(command, ...(rest as [boolean?, string?]));
    };
  });
  const page = await context.newPage();
  await page.goto(`/compare?runs=${a},${b}`);
  await hydrated(page);
  await expect(page.getByTestId('compare-basis')).toHaveText('Compared at concurrency 4 (both runs have it).');
  await page.getByTestId('copy-summary').click();
  await expect(page.getByTestId('copy-summary-done')).toHaveText('Copied');
  const copied = await page.evaluate(() => (window as unknown as { copied: string }).copied);
  expect(copied).toMatch(/^compare e2e B vs compare e2e A at c=4: .* tok\/s, TTFT p99 .* %$/);
  await context.close();
});
