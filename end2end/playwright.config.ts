import { defineConfig } from '@playwright/test';

// Real headless Chromium from Debian (/usr/bin/chromium): Playwright's own browser download is not used.
const port = Number(process.env.E2E_PORT ?? 3939);
const baseURL = process.env.BASE_URL ?? `http://127.0.0.1:${port}`;
const bin = process.env.TOKENSCOPE_BIN ?? '../target/debug/tokenscope';

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
  // The server under test: started here (fresh archive in test-results/), or reused when BASE_URL is given.
  webServer: process.env.BASE_URL ? undefined : {
    command: `rm -f test-results/e2e.db* && mkdir -p test-results && ${bin} serve --host 127.0.0.1 --port ${port} --db sqlite://test-results/e2e.db --simulate-gpu 2`,
    url: `${baseURL}/api/health`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
  },
});
