import { test, expect, Page } from '@playwright/test';
import { hydrated } from './helpers';
import * as tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { proxyPorts } from '../env';

// tokenscope behind a TLS-terminating reverse proxy (nginx, end2end/proxy/run-nginx.sh; started by
// playwright.config.ts): https:// pages, wss:// live data, and under a path prefix (`serve --base-path /pod`) with
// the proxy forwarding the prefix or stripping it. The `proxy` project's baseURL is https://127.0.0.1:8443/.

/** nginx closes a proxied socket idle for this long (proxy_read_timeout in nginx.conf.template). */
const PROXY_TIMEOUT_S = 100;

/** Every request and WebSocket the page makes, and its errors. */
function watch(page: Page) {
  const requests: string[] = [];
  const sockets: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { requests, sockets, errors };
}

/** Starts a demo run from the New run page; returns once the run page shows it running and its progress moving. */
async function startDemoRun(page: Page) {
  await page.getByTestId('nav-new-run').click();
  await expect(page.getByTestId('page-new-run')).toBeVisible();
  await page.getByTestId('use-demo').click();
  await expect(page.getByTestId('input-target')).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+$/);
  await page.getByTestId('input-load.concurrency').fill('8');
  await page.getByTestId('input-requests').fill('100000');
  await page.getByTestId('start').click();
  await expect(page).toHaveURL(/\/runs\/[A-Za-z0-9]{20,}$/);
  await expect(page.getByTestId('run-status')).toHaveText('running');
  // Live frames arrive over the (wss) run socket: the request count climbs.
  const done = async () => Number(((await page.getByTestId('progress-text').textContent()) ?? '').match(/(\d+) \/ 100000/)?.[1] ?? 0);
  await expect.poll(done, { timeout: 15_000 }).toBeGreaterThan(0);
  const first = await done();
  await expect.poll(done, { timeout: 15_000 }).toBeGreaterThan(first);
}

async function stopRun(page: Page) {
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('run-status')).toHaveText('stopped', { timeout: 20_000 });
}

// ---------- WebSocket keep-alive through the proxy ----------

type PingLog = {
  url: string; opened: boolean; pings: number[]; closed: number | null; error: string | null; socket?: tls.TLSSocket;
};

/** Opens a raw WebSocket through the TLS proxy and records when ping frames arrive (s since the upgrade); a browser
 *  never shows pings, which are what keeps an idle socket alive past the proxy's read timeout. */
function watchPings(port: number, path: string): PingLog {
  const log: PingLog = { url: `wss://127.0.0.1:${port}${path}`, opened: false, pings: [], closed: null, error: null };
  let t0 = 0;
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    if (!log.opened) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      if (!/^HTTP\/1\.1 101/.test(head)) { log.error = head.split('\r\n')[0]; socket.destroy(); return; }
      log.opened = true;
      t0 = Date.now();
      buf = buf.subarray(end + 4);
    }
    // Server frames are unmasked: opcode, length (7 bits, or 16/64-bit extended), payload.
    while (buf.length >= 2) {
      const opcode = buf[0] & 0x0f;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      if (buf.length < at + len) return;
      buf = buf.subarray(at + len);
      if (opcode === 0x9) {
        log.pings.push((Date.now() - t0) / 1000);
        socket.write(Buffer.from([0x8a, 0x80, 1, 2, 3, 4])); // pong, empty, masked as a client must
      } else if (opcode === 0x8) {
        log.closed = (Date.now() - t0) / 1000;
      }
    }
  });
  socket.on('error', (e) => { log.error = String(e); });
  socket.on('close', () => { if (log.closed === null) log.closed = (Date.now() - t0) / 1000; });
  log.socket = socket;
  return log;
}

// Started first, checked last: the sockets sit open while the other tests run.
let pingLogs: PingLog[] = [];
test.beforeAll(() => {
  pingLogs = [watchPings(proxyPorts.root, '/ws/live'), watchPings(proxyPorts.forward, '/pod/ws/gpu')];
});
test.afterAll(() => {
  for (const log of pingLogs) log.socket?.destroy();
});

// ---------- the tests ----------

test('at /: the dashboard over https, live data over wss', async ({ page }) => {
  const seen = watch(page);
  await page.goto('/');
  await expect(page.getByTestId('page-runs')).toBeVisible();
  await hydrated(page);
  await startDemoRun(page);
  await page.screenshot({ path: 'test-results/screens/proxy-root-run.png', fullPage: true });
  await stopRun(page);

  const origin = `https://127.0.0.1:${proxyPorts.root}`;
  expect(seen.sockets.length).toBeGreaterThanOrEqual(2); // /ws/live and /ws/runs/{id}
  for (const url of seen.sockets) expect(url.startsWith(`wss://127.0.0.1:${proxyPorts.root}/ws/`), url).toBe(true);
  for (const url of seen.requests) expect(url.startsWith(`${origin}/`), url).toBe(true);
  expect(seen.errors, seen.errors.join('\n')).toEqual([]);
});

for (const mode of ['forward', 'strip'] as const) {
  test(`under /pod/ (proxy ${mode === 'forward' ? 'forwards' : 'strips'} the prefix): no request leaves the prefix`, async ({ page }) => {
    const origin = `https://127.0.0.1:${proxyPorts[mode]}`;
    const seen = watch(page);
    await page.goto(`${origin}/pod/`);
    await expect(page.getByTestId('page-runs')).toBeVisible();
    await hydrated(page);
    await expect(page.getByTestId('nav-runs')).toHaveAttribute('href', '/pod/runs');

    await startDemoRun(page);
    await expect(page).toHaveURL(new RegExp(`^${origin}/pod/runs/[A-Za-z0-9]{20,}$`));
    await page.screenshot({ path: `test-results/screens/proxy-pod-${mode}-run.png`, fullPage: true });
    await stopRun(page);
    await expect(page.getByTestId('export-json')).toHaveAttribute('href', /^\/pod\/api\/runs\/[A-Za-z0-9]+\/export\.json$/);

    // A teammate opening the link: the run page rendered by the server at the deep address, then hydrated.
    const runUrl = page.url();
    const late = await page.context().newPage();
    const lateSeen = watch(late);
    await late.goto(runUrl);
    await expect(late.getByTestId('run-status')).toHaveText('stopped');
    await hydrated(late);

    // Client-side navigation under the prefix, then the GPU page's socket.
    await page.getByTestId('nav-runs').click();
    await expect(page).toHaveURL(`${origin}/pod/runs`);
    await expect(page.getByTestId('run-link').first()).toHaveAttribute('href', /^\/pod\/runs\//);
    await page.getByTestId('nav-gpu').click();
    await expect(page).toHaveURL(`${origin}/pod/gpu`);
    await expect(page.getByTestId('gpu-status')).toContainText('simulated');
    await page.screenshot({ path: `test-results/screens/proxy-pod-${mode}-gpu.png`, fullPage: true });

    const requests = [...seen.requests, ...lateSeen.requests];
    const sockets = [...seen.sockets, ...lateSeen.sockets];
    expect(requests.length).toBeGreaterThan(5);
    for (const url of requests) expect(url.startsWith(`${origin}/pod/`), `escaped the prefix: ${url}`).toBe(true);
    expect(sockets.length).toBeGreaterThanOrEqual(3); // live, the run, the GPU page
    for (const url of sockets) expect(url.startsWith(`wss://127.0.0.1:${proxyPorts[mode]}/pod/ws/`), url).toBe(true);
    expect([...seen.errors, ...lateSeen.errors], seen.errors.join('\n')).toEqual([]);
    await late.close();
  });
}

test(`idle WebSockets get pings well inside the proxy's ${PROXY_TIMEOUT_S} s read timeout`, async () => {
  // The server pings /ws/live every 15 s (with a heartbeat frame) and /ws/gpu and /ws/runs/{id} every 20 s; the
  // sockets opened in beforeAll have been sitting open through nginx since. Wait for the first ping of each.
  test.setTimeout(45_000);
  for (const log of pingLogs) {
    await expect.poll(() => log.pings.length, { timeout: 30_000, message: log.url }).toBeGreaterThanOrEqual(1);
    expect(log.error, log.url).toBeNull();
    expect(log.opened, log.url).toBe(true);
    expect(log.closed, `${log.url} closed`).toBeNull();
    const gaps = log.pings.map((t, i) => t - (i ? log.pings[i - 1] : 0));
    for (const gap of gaps) expect(gap, `${log.url}: ping gaps ${gaps}`).toBeLessThanOrEqual(22);
    console.log(`${log.url}: open ${log.pings.at(-1)?.toFixed(1)} s through the proxy, pings at ${log.pings.map((t) => t.toFixed(1)).join(', ')} s`);
  }
});
