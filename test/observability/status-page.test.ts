/**
 * The status page in headless Chromium (Debian's, driven by playwright-core): it renders the
 * services of a known emulator state, updates itself when a task is killed, escapes user input,
 * runs under its Content-Security-Policy without errors and fits a phone's width.
 *
 * PACER_UPDATE_SCREENSHOT=1 also writes docs/status-page.png.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.ts';
import { startEmulator, startPacer, waitFor, type EmulatorProc, type PacerProc } from '../helpers/processes.ts';

const CHROMIUM = '/usr/bin/chromium';
const [WEB, ECHO] = (await freePorts(2)) as [number, number];
const EVIL = '<img src=x onerror="window.pwned=1">';

const APPS = [
  {
    backend: 'http',
    autoHealthy: true,
    app: {
      id: '/shop/web',
      instances: 3,
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.example.com' },
      portDefinitions: [{ port: WEB, protocol: 'tcp', name: 'http' }],
      healthChecks: [{ protocol: 'HTTP', path: '/', portIndex: 0, intervalSeconds: 1, gracePeriodSeconds: 1 }],
    },
  },
  {
    backend: 'tcp',
    app: {
      id: '/shop/echo',
      instances: 2,
      labels: { HAPROXY_GROUP: 'external', HAPROXY_0_BALANCE: 'leastconn', HAPROXY_0_MODE: EVIL },
      portDefinitions: [{ port: ECHO, protocol: 'tcp', name: 'echo' }],
    },
  },
];

let emulator: EmulatorProc;
let pacer: PacerProc;
let context: BrowserContext;
let page: Page;
const userDataDir = mkdtempSync(join(tmpdir(), 'pacer-chromium-'));
const pageErrors: string[] = [];

interface Task {
  id: string;
  state: string;
}

async function running(appId: string): Promise<string[]> {
  const state = (await emulator.get(`/state`)) as { apps: { id: string; tasks: Task[] }[] };
  return (state.apps.find((a) => a.id === appId)?.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING').map((t) => t.id).sort();
}

function rows(port: number): Promise<{ task: string; verdict: string }[]> {
  return page.$$eval(`article.svc[data-port="${port}"] tr[data-task]`, (trs) =>
    trs.map((tr) => ({ task: tr.getAttribute('data-task') ?? '', verdict: tr.getAttribute('data-verdict') ?? '' })),
  );
}

/**
 * Poll a JavaScript expression in the page until it is true. (page.waitForFunction with a string
 * compiles it in the page, which the page's Content-Security-Policy forbids; evaluate does not.)
 */
async function pageWaitFor(expression: string, timeoutMs: number): Promise<void> {
  await waitFor(expression, async () => ((await page.evaluate<boolean>(expression)) ? true : undefined), timeoutMs, 50);
}

beforeAll(async () => {
  emulator = await startEmulator(['--keepalive-ms', '1000']);
  for (const a of APPS) await emulator.post('/apps', a);
  await waitFor('the emulator to run every task', async () => ((await running('/shop/web')).length === 3 && (await running('/shop/echo')).length === 2 ? true : undefined), 10_000);
  pacer = await startPacer(['--marathon', emulator.leader, '--bind', '127.0.0.1', '--http-port', '0', '--https-port', '0', '--dns-port', '0']);
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 900 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') pageErrors.push(`console ${m.type()}: ${m.text()}`);
  });
}, 60_000);

afterAll(async () => {
  await context?.close();
  await pacer?.stop();
  await emulator?.stop();
  rmSync(userDataDir, { recursive: true, force: true });
});

describe('the status page in Chromium', () => {
  it('renders the Marathon connection and every service of the emulator with its backends', async () => {
    const response = await page.goto(`${pacer.admin}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await page.waitForSelector(`article.svc[data-port="${WEB}"] tr[data-verdict="routable"]`, { timeout: 10_000 });
    await pageWaitFor(`document.querySelectorAll('article.svc[data-port="${WEB}"] tr[data-verdict="routable"]').length === 3`, 10_000);
    expect(await page.title()).toBe('pacer status');

    const web = await rows(WEB);
    expect(web.map((r) => r.task).sort()).toEqual(await running('/shop/web'));
    const echo = await rows(ECHO);
    expect(echo.map((r) => r.task).sort()).toEqual(await running('/shop/echo'));

    const webCard = await page.textContent(`article.svc[data-port="${WEB}"]`);
    expect(webCard).toContain('/shop/web');
    expect(webCard).toContain('shop.example.com');
    expect(webCard).toMatch(/http/i);
    expect(webCard).toContain('3/3 routable');
    expect(await page.textContent(`article.svc[data-port="${ECHO}"]`)).toContain('leastconn');

    const marathon = (await page.textContent('#marathon')) ?? '';
    expect(marathon).toContain('connected');
    expect(marathon).toContain(new URL(emulator.leader).host);
    expect(marathon).toMatch(/last resync\s*\d+ s ago/);
  });

  it('shows user input as text: a label value with HTML in it is escaped', async () => {
    const problems = (await page.textContent('#problems')) ?? '';
    expect(problems).toContain('HAPROXY_0_MODE');
    expect(problems).toContain(EVIL);
    expect(await page.$$('#problems img')).toHaveLength(0);
    expect(await page.evaluate('typeof window.pwned')).toBe('undefined');
    expect(await page.$$('script')).toHaveLength(1);
  });

  it('updates itself when a task is killed, and lists the change', async () => {
    const before = await rows(WEB);
    const victim = before[0]!.task;
    await emulator.post(`/tasks/${encodeURIComponent(victim)}/kill`, { scale: true });
    await pageWaitFor(
      `!Array.from(document.querySelectorAll('article.svc[data-port="${WEB}"] tr[data-task]')).some((tr) => tr.getAttribute('data-task') === ${JSON.stringify(victim)})`, 10_000
    );
    expect((await rows(WEB)).map((r) => r.task).sort()).toEqual(await running('/shop/web'));
    await pageWaitFor(`(document.querySelector('#changes')?.textContent ?? '').includes(${JSON.stringify(victim)})`, 5_000);
    expect(await page.textContent(`article.svc[data-port="${WEB}"]`)).toContain('2/2 routable');
  });

  it('marks unhealthy and draining backends', async () => {
    const sick = (await rows(WEB))[0]!.task;
    const leaving = (await rows(ECHO))[0]!.task;
    await emulator.post(`/tasks/${encodeURIComponent(sick)}/health`, { alive: false });
    await emulator.post(`/tasks/${encodeURIComponent(leaving)}/state`, { state: 'TASK_KILLING' });
    await page.waitForSelector(`article.svc[data-port="${WEB}"] tr[data-verdict="unhealthy"]`, { timeout: 10_000 });
    await page.waitForSelector(`article.svc[data-port="${ECHO}"] tr[data-verdict="draining"]`, { timeout: 10_000 });
    expect((await rows(WEB)).find((r) => r.task === sick)?.verdict).toBe('unhealthy');
    expect((await rows(ECHO)).find((r) => r.task === leaving)?.verdict).toBe('draining');
    expect(await page.textContent(`article.svc[data-port="${WEB}"]`)).toContain('1/2 routable');
  });

  it('loads nothing from elsewhere and logs no errors (CSP included)', async () => {
    const external = await page.evaluate<string[]>(`performance.getEntriesByType('resource').map((e) => e.name).filter((n) => !n.startsWith(location.origin))`);
    expect(external).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('fits a phone screen without horizontal scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(0);
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(userDataDir, 'phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1100, height: 900 });
    if (process.env['PACER_UPDATE_SCREENSHOT'] === '1') {
      await page.screenshot({ path: new URL('../../docs/status-page.png', import.meta.url).pathname, fullPage: true });
    }
  });
});
