// Page and server time of the Run and Compare pages for big archived runs (issue 6's benchmark).
//
//   node end2end/bench/page_time.mjs BASE_URL RUN_A RUN_B [ROUNDS]
//
// BASE_URL is a running `tokenscope serve` (loopback, no token) whose archive holds RUN_A and RUN_B. For each page it
// loads the page ROUNDS times in Debian's Chromium and reports the median time from navigation to "data shown":
// the Run page's latency note reporting its request count, and the Compare page's delta table with both rows plus
// the CDFs (fetched before the table is drawn). Server time is the median of the API reads those pages make, timed from Node.
//
// THROTTLE=MBPS,RTT_MS (e.g. THROTTLE=50,40) makes each page load over an emulated link of that bandwidth and round-trip
// time (Chromium's network emulation), as through a GPU pod's HTTPS proxy from another continent. BASE_URL may be
// an https:// proxy (self-signed certificates are accepted); over HTTPS Chromium asks for brotli.
import { chromium } from '@playwright/test';

const [base, runA, runB, roundsArg] = process.argv.slice(2);
if (!base || !runA || !runB) {
  console.error('usage: node end2end/bench/page_time.mjs BASE_URL RUN_A RUN_B [ROUNDS]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 5);
const throttle = process.env.THROTTLE
  ? (([mbps, rttMs]) => ({ mbps: Number(mbps), rttMs: Number(rttMs) }))(process.env.THROTTLE.split(','))
  : null;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function apiTime(path) {
  const times = [];
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const res = await fetch(base + path);
    const body = await res.arrayBuffer();
    times.push(performance.now() - t0);
    bytes = body.byteLength;
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  }
  return { path, ms: median(times), bytes };
}

async function pageTime(browser, path, ready) {
  const times = [];
  for (let i = 0; i < rounds; i++) {
    const page = await browser.newPage({ ignoreHTTPSErrors: true });
    if (throttle) {
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: throttle.rttMs,
        downloadThroughput: (throttle.mbps * 1e6) / 8,
        uploadThroughput: (throttle.mbps * 1e6) / 8,
      });
    }
    const t0 = Date.now();
    await page.goto(base + path);
    await ready(page);
    times.push(Date.now() - t0);
    await page.close();
  }
  return { path, ms: median(times) };
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
});
const api = [];
for (const id of [runA, runB]) {
  for (const suffix of ['', '/series', '/latency']) api.push(await apiTime(`/api/runs/${id}${suffix}`));
}
const runPage = await pageTime(browser, `/runs/${runA}`, async (page) => {
  await page.getByTestId('latency-note').filter({ hasText: 'measured, successful requests' }).waitFor({ timeout: 120_000 });
});
const comparePage = await pageTime(browser, `/compare?runs=${runA},${runB}`, async (page) => {
  await page.getByTestId('compare-row').nth(1).waitFor({ timeout: 120_000 });
});
await browser.close();

console.log('| read | median ms | bytes |');
console.log('|---|---:|---:|');
for (const a of api) console.log(`| GET ${a.path} | ${a.ms.toFixed(1)} | ${a.bytes} |`);
console.log(`| page ${runPage.path} (to latency CDF) | ${runPage.ms} | |`);
console.log(`| page ${comparePage.path} (to delta table) | ${comparePage.ms} | |`);
