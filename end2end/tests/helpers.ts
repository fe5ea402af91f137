import { expect, Page, APIRequestContext } from '@playwright/test';

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
