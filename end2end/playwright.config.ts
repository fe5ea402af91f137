import { defineConfig } from '@playwright/test';
import { port, loginPort, podPort, proxyPorts, loginToken } from './env';

// Real headless Chromium from Debian (/usr/bin/chromium): Playwright's own browser download is not used.
//
// Servers, each with a fresh archive in test-results/ (none is started when BASE_URL points at a running one; then
// only the `dashboard` project runs):
//   E2E_PORT (3939)        tokenscope on loopback, no token                         → project `dashboard`
//   LOGIN_PORT (3941)      tokenscope on 0.0.0.0 with --token                       → project `login`
//   POD_PORT (3942)        tokenscope --base-path /pod                              → project `proxy`
//   8443 / 8444 / 8445     nginx, TLS-terminating (end2end/proxy/run-nginx.sh):     → project `proxy`
//                          / → E2E_PORT; /pod/ → POD_PORT with the prefix forwarded; /pod/ → POD_PORT stripped
const reuse = !!process.env.BASE_URL;
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
const bin = process.env.TOKENSCOPE_BIN ?? '../target/debug/tokenscope';

const serve = (name: string, p: number, flags: string, health: string) => ({
  command: `rm -f test-results/${name}.db* && mkdir -p test-results && ${bin} serve --port ${p} --db sqlite://test-results/${name}.db --dataset-dir test-results ${flags}`,
  url: health,
  timeout: 60_000,
  reuseExistingServer: false,
  stdout: 'pipe' as const,
  stderr: 'pipe' as const,
});

export default defineConfig({
  testDir: './tests',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    baseURL,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'dashboard', testIgnore: [/login\.spec\.ts/, /proxy\.spec\.ts/] },
    ...(reuse ? [] : [
      { name: 'login', testMatch: /login\.spec\.ts/, use: { baseURL: `http://127.0.0.1:${loginPort}` } },
      {
        name: 'proxy',
        testMatch: /proxy\.spec\.ts/,
        use: { baseURL: `https://127.0.0.1:${proxyPorts.root}`, ignoreHTTPSErrors: true },
      },
    ]),
  ],
  webServer: reuse ? undefined : [
    serve('e2e', port, '--host 127.0.0.1 --simulate-gpu 2', `${baseURL}/api/health`),
    // A public bind: a token is required (the login form, the cookie, the ?token= link).
    serve('login', loginPort, `--host 0.0.0.0 --token ${loginToken}`, `http://127.0.0.1:${loginPort}/api/health`),
    serve('pod', podPort, '--host 127.0.0.1 --base-path /pod --simulate-gpu 1', `http://127.0.0.1:${podPort}/pod/api/health`),
    {
      command: 'bash proxy/run-nginx.sh',
      url: `https://127.0.0.1:${proxyPorts.root}/api/health`,
      ignoreHTTPSErrors: true,
      timeout: 30_000,
      // SIGTERM (not Playwright's default SIGKILL) so the script stops nginx and removes its temporary folder.
      gracefulShutdown: { signal: 'SIGTERM', timeout: 5_000 },
      reuseExistingServer: false,
      stdout: 'pipe',
      stderr: 'pipe',
      env: {
        PROXY_ROOT_PORT: String(proxyPorts.root), PROXY_FWD_PORT: String(proxyPorts.forward),
        PROXY_STRIP_PORT: String(proxyPorts.strip), ROOT_UPSTREAM: String(port), POD_UPSTREAM: String(podPort),
      },
    },
  ],
});
