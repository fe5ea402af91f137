import { test, expect } from '@playwright/test';
import { spawn, ChildProcess } from 'node:child_process';
import { demoRun, hydrated } from './helpers';

// The New run form's Check: a live status while the server is waited for (with Cancel), failures in the form's
// words with one-click fixes, a dataset path checked at its field, and the preflight log kept on an ended run.

const bin = process.env.TOKENSCOPE_BIN ?? '../target/debug/tokenscope';

/** `tokenscope mock` on a free port with `flags`; resolves with its URL once it listens. */
function startMock(flags: string[]): Promise<{ url: string; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, ['mock', '--port', '0', '--ttft-ms', '1', '--itl-ms', '1', ...flags], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      const m = said.match(/server at (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve({ url: m[1], proc });
    });
    proc.on('exit', (code) => reject(new Error(`tokenscope mock exited (${code}): ${said}`)));
  });
}

let completionsOnly: { url: string; proc: ChildProcess } | undefined;

test.afterAll(() => {
  completionsOnly?.proc.kill('SIGINT');
});

test('Check against a dead port shows the live wait, then a clear failure with a fix', async ({ page }) => {
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('input-target').fill('http://127.0.0.1:9');
  await page.getByTestId('ready-timeout').fill('4');
  await page.getByTestId('check').click();

  const status = page.getByTestId('check-status');
  await expect(status).toContainText('waiting for 127.0.0.1:9 — connection refused');
  await expect(status).toContainText(/\(attempt [2-9]\d*, [1-3] s of 4 s\)/);
  // The form stays usable while it waits: only Check itself is busy.
  await expect(page.getByTestId('start')).toBeEnabled();
  await expect(page.getByTestId('check-cancel')).toBeVisible();
  await page.screenshot({ path: 'test-results/screens/check-waiting.png', fullPage: true });

  const error = page.getByTestId('preflight-error');
  await expect(error).toContainText('the target was not ready after');
  await expect(error).toContainText('raise Ready timeout');
  await expect(error).not.toContainText('--');
  await expect(page.getByTestId('check-status')).toHaveCount(0);
  await expect(page.getByTestId('fix-button')).toHaveText('Wait longer (60 s)');
});

test('Cancel stops a Check that is waiting', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('input-target').fill('http://127.0.0.1:9');
  await page.getByTestId('ready-timeout').fill('60');
  await page.getByTestId('check').click();
  await expect(page.getByTestId('check-status')).toContainText('connection refused');
  await page.getByTestId('check-cancel').click();
  await expect(page.getByTestId('check-status')).toHaveText('Check cancelled: nothing more is sent to the target.');
  await expect(page.getByTestId('check')).toBeEnabled();
});

test('a ready timeout out of range is refused at its field', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('input-target').fill('http://127.0.0.1:9');
  await page.getByTestId('ready-timeout').fill('9000');
  await page.getByTestId('check').click();
  await expect(page.getByTestId('error-ready_timeout_s')).toContainText('Ready timeout must be a whole number of seconds from 1 to 600');
  await expect(page.getByTestId('check-status')).toHaveCount(0);
});

test('a completions-only server: the one-click fix sets the endpoint and checks green', async ({ page }) => {
  completionsOnly = await startMock(['--no-chat']);
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('input-target').fill(completionsOnly.url);
  await page.getByTestId('input-endpoint').selectOption('chat');
  await page.getByTestId('check').click();

  const error = page.getByTestId('preflight-error');
  await expect(error).toContainText('/v1/chat/completions: HTTP 404');
  await expect(error).toContainText('set Endpoint to /v1/completions');
  await expect(error).not.toContainText('--endpoint');
  const fix = page.getByTestId('fix-button').first();
  await expect(fix).toHaveText('Use /v1/completions');
  await page.screenshot({ path: 'test-results/screens/check-fix.png', fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'test-results/screens/check-fix-phone.png', fullPage: true });
  await page.setViewportSize({ width: 1400, height: 900 });

  await fix.click();
  await expect(page.getByTestId('input-endpoint')).toHaveValue('completions');
  await expect(page.getByTestId('preflight')).toContainText('/v1/completions');
  await expect(page.getByTestId('preflight')).toContainText('yes');
  await expect(page.getByTestId('preflight-error')).toHaveCount(0);
});

test('a dataset path that does not exist is refused at its field and blocks Start', async ({ page }) => {
  await page.goto('/runs/new');
  await hydrated(page);
  await page.getByTestId('use-demo').click();
  await page.getByTestId('input-workload.kind').selectOption('jsonl');
  await page.getByTestId('input-workload.path').fill('nope.jsonl');
  await page.getByTestId('input-workload.path').blur();
  const error = page.getByTestId('dataset-error');
  await expect(error).toContainText('Dataset path: no file "nope.jsonl" in the dataset folder');
  await expect(error).toContainText('upload it on the New run page, or give a path under');
  await expect(page.getByTestId('start')).toBeDisabled();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: 'test-results/screens/check-dataset-phone.png', fullPage: true });

  // Typing again clears it until the next check.
  await page.getByTestId('input-workload.path').fill('nope2.jsonl');
  await expect(error).toHaveCount(0);
  await expect(page.getByTestId('start')).toBeEnabled();
});

test('the preflight log stays on an ended run, folded', async ({ page, request }) => {
  const id = await demoRun(request, 'preflight log', 2, 10);
  await page.goto(`/runs/${id}`);
  await hydrated(page);
  await expect(page.getByTestId('run-status')).toHaveText('completed');
  const summary = page.getByTestId('preflight-log-summary');
  await expect(summary).toHaveText(/^Waiting and checks \(\d+\)$/);
  const log = page.getByTestId('preflight-log');
  await expect(log.getByText('ready: 1 model')).toBeHidden();
  await summary.click();
  await expect(log.getByText('ready: 1 model')).toBeVisible();
});
