import { expect, Page, APIRequestContext, Locator } from '@playwright/test';

// Shared by the specs: waiting for hydration, and a short run on the built-in demo target.

/** Waits until the page has hydrated and holds its live WebSocket (the top bar says "connected"). */
export async function hydrated(page: Page) {
  await expect(page.getByTestId('connection')).toHaveText(/^\s*connected\s*$/);
}

/** Starts a short run on the built-in demo target and waits until it has completed; returns its id. */
export async function demoRun(
  request: APIRequestContext,
  name: string,
  concurrency: number,
  requests: number,
  extra: Record<string, unknown> = {},
): Promise<string> {
  const demo = await (await request.get('/api/demo')).json();
  const resp = await request.post('/api/runs', {
    data: {
      name,
      target: demo.target,
      load: { kind: 'concurrency', concurrency },
      requests,
      workload: { kind: 'synthetic', input_tokens: { min: 16, max: 16 }, output_tokens: { min: 16, max: 16 } },
      ...extra,
    },
  });
  expect(resp.status()).toBe(201);
  const { id } = await resp.json();
  await expect
    .poll(async () => (await (await request.get(`/api/runs/${id}`)).json()).status, { timeout: 45_000 })
    .toBe('completed');
  return id;
}

/** Pixels of a given series colour on a canvas (the line itself, not axes or labels). */
export async function linePixels(canvas: Locator, rgb: [number, number, number]): Promise<number> {
  return canvas.evaluate((el: HTMLCanvasElement, c) => {
    const ctx = el.getContext('2d');
    if (!ctx || el.width === 0 || el.height === 0) return 0;
    const { data } = ctx.getImageData(0, 0, el.width, el.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - c[0]) + Math.abs(data[i + 1] - c[1]) + Math.abs(data[i + 2] - c[2]) < 40) n++;
    }
    return n;
  }, rgb);
}

/** The chart palette's first colours (protocol::chart::PALETTE). */
export const BLUE: [number, number, number] = [48, 149, 238];
export const GREEN: [number, number, number] = [24, 166, 95];
export const ORANGE: [number, number, number] = [209, 125, 0];
export const RED: [number, number, number] = [238, 99, 111];
