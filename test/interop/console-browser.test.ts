import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startHarness, type Harness } from '../support/harness';
import type { TestDevice } from '../support/test-device';

/**
 * The web console in a real browser (Debian's Chromium, headless, driven by puppeteer-core) against
 * a real gateway with API keys and real UDP test devices: the list follows registrations live, a
 * device's page reads, writes, executes and observes, notifications update the page.
 */

/** The page's globals as the callbacks run in the browser use them (the tests compile without the DOM library). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: { scrollTo(x: number, y: number): void; __pwned?: number };

const CHROMIUM = '/usr/bin/chromium';
const USER = 'admin';
const SECRET = 's3cret-pass';
const OUTPUT = path.join(__dirname, '..', '..', 'test-output');
const KEYS_YAML = `http:\n  api_keys:\n    - key: ${USER}\n      secret: "${SECRET}"`;
const AUTH = { authorization: `Basic ${Buffer.from(`${USER}:${SECRET}`).toString('base64')}` };

jest.setTimeout(90_000);

describe('console files and the objects API over HTTP', () => {
  let h: Harness;
  let base: string;
  beforeAll(async () => {
    h = await startHarness(KEYS_YAML);
    base = `http://127.0.0.1:${h.gw.httpPort}`;
  });
  afterAll(() => h.close());

  it('serves the page behind the API keys, with a CSP, content types and revalidation', async () => {
    const anonymous = await fetch(`${base}/`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);

    const page = await fetch(`${base}/`, { headers: AUTH });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'self'/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<script type="module" src="/console/console.js"></script>');

    const script = await fetch(`${base}/console/console.js`, { headers: AUTH });
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = script.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await fetch(`${base}/console/console.js`, { headers: { ...AUTH, 'if-none-match': etag! } });
    expect(again.status).toBe(304);
    expect((await fetch(`${base}/console/console.css`, { headers: AUTH })).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('serves nothing outside its list of files', async () => {
    for (const attempt of ['/console/package.json', '/console/..%2Fpackage.json', '/console/%2E%2E%2Fsrc%2Fpackage-root.ts', '/console/', '/console/index.html.bak', '/console/../package.json']) {
      const res = await fetch(`${base}${attempt}`, { headers: AUTH });
      expect({ attempt, status: res.status }).toEqual({ attempt, status: 404 });
      const body = (await res.json()) as { code: string };
      expect(body.code).toBe('NOT_FOUND');
    }
  });

  it("answers an object's definition from the model, 404 for an unknown object, 400 for a bad id", async () => {
    const res = await fetch(`${base}/api/v5/gateways/lwm2m/objects/3`, { headers: AUTH });
    expect(res.status).toBe(200);
    const device = (await res.json()) as { id: number; name: string; multiple: boolean; resources: { id: number; name: string; operations: string; type: string; multiple: boolean }[] };
    expect(device).toMatchObject({ id: 3, name: 'Device', multiple: false });
    expect(device.resources.find((r) => r.id === 0)).toMatchObject({ name: 'Manufacturer', operations: 'R', type: 'string', multiple: false });
    expect(device.resources.find((r) => r.id === 4)).toMatchObject({ name: 'Reboot', operations: 'E', type: 'none' });
    expect(device.resources.find((r) => r.id === 7)).toMatchObject({ operations: 'R', type: 'integer', multiple: true });
    expect(device.resources.map((r) => r.id)).toEqual([...device.resources.map((r) => r.id)].sort((a, b) => a - b));

    const unknown = await fetch(`${base}/api/v5/gateways/lwm2m/objects/65000`, { headers: AUTH });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ code: 'OBJECT_NOT_FOUND', message: expect.stringContaining('65000') });

    for (const bad of ['70000', '-1', 'abc', '3.5']) {
      const res400 = await fetch(`${base}/api/v5/gateways/lwm2m/objects/${bad}`, { headers: AUTH });
      expect({ bad, status: res400.status }).toEqual({ bad, status: 400 });
      expect(await res400.json()).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('objectId') });
    }
    expect((await fetch(`${base}/api/v5/gateways/lwm2m/objects/3`)).status).toBe(401);
  });

  it('lists the objects API in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/api/v5/openapi.json`, { headers: AUTH })).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toContain('/api/v5/gateways/lwm2m/objects/{objectId}');
    expect(Object.keys(doc.paths)).not.toContain('/');
  });
});

describe('the console in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let base: string;
  /** Uncaught errors and console errors of the page (a CSP violation is one). */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    fs.mkdirSync(OUTPUT, { recursive: true });
    h = await startHarness(KEYS_YAML);
    base = `http://127.0.0.1:${h.gw.httpPort}`;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage();
    await page.setViewport({ width: 1360, height: 900 });
    page.on('pageerror', (err) => pageErrors.push(`pageerror: ${String(err)}`));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(`console: ${message.text()}`);
    });
    await page.authenticate({ username: USER, password: SECRET });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** Waits until the element of `selector` has exactly `text`. */
  async function waitForText(selector: string, text: string): Promise<void> {
    try {
      await page.waitForFunction((s: string, t: string) => document.querySelector(s)?.textContent?.trim() === t, { timeout: 20_000 }, selector, text);
    } catch (err) {
      const shown = await page.$eval(selector, (e) => e.textContent).catch(() => '(no such element)');
      throw new Error(`${selector} shows ${JSON.stringify(shown)}, not ${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  }

  let ep1: TestDevice;

  it('shows the connection live and a device as it registers', async () => {
    await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 20_000 });
    await page.waitForSelector('.devices + .empty:not([hidden])');

    ep1 = await h.device({ endpoint: 'ep1', lwm2m: '1.1', binding: 'U' });
    expect((await ep1.register()).code).toBe('2.01');
    await page.waitForSelector('tr[data-endpoint="ep1"]', { timeout: 20_000 });
    const cells = await page.$$eval('tr[data-endpoint="ep1"] td', (tds) => tds.map((td) => td.textContent ?? ''));
    expect(cells[0]).toBe('ep1');
    expect(cells[1]).toBe(`127.0.0.1:${ep1.port}`);
    expect(cells[2]).toBe('1.1');
    expect(cells[3]).toBe('U');
    expect(cells[4]).toBe('off');
    expect(cells[5]).toMatch(/s ago$/);
    expect(await page.$eval('.count', (e) => e.textContent)).toBe('1 registered');
  });

  it("opens the device's page with its object tree named from the model", async () => {
    await page.click('tr[data-endpoint="ep1"] a.endpoint-link');
    await page.waitForSelector('tr[data-path="/3/0/0"]', { timeout: 20_000 });
    expect(page.url()).toBe(`${base}/#/clients/ep1`);
    expect(await page.$eval('h1.endpoint', (e) => e.textContent)).toBe('ep1');
    expect(await page.$('details.object[data-object="3"][open]')).not.toBeNull();
    const objects = await page.$$eval('.object h2', (hs) => hs.map((h2) => h2.textContent ?? ''));
    expect(objects).toEqual([expect.stringMatching(/^LwM2M Server \/1/), expect.stringMatching(/^Device \/3/), expect.stringMatching(/^Temperature \/3303/)]);
    expect(await page.$eval('tr[data-path="/3/0/0"] td:nth-child(2)', (e) => e.textContent)).toBe('Manufacturer');
    // Operations decide the actions: Manufacturer is read-only, Reboot executable, Lifetime writable.
    expect(await page.$$eval('tr[data-path="/3/0/0"] button', (bs) => bs.map((b) => b.getAttribute('data-action')))).toEqual(['read', 'observe']);
    expect(await page.$$eval('tr[data-path="/3/0/4"] button', (bs) => bs.map((b) => b.getAttribute('data-action')))).toEqual(['execute']);
    expect(await page.$$eval('tr[data-path="/1/0/1"] button', (bs) => bs.map((b) => b.getAttribute('data-action')))).toEqual(['read', 'write', 'observe']);
  });

  it('reads a resource and shows its value', async () => {
    await page.click('tr[data-path="/3/0/0"] button[data-action="read"]');
    await waitForText('tr[data-path="/3/0/0"] td.value', 'Open Mobile Alliance');
    await waitForText('tr[data-path="/3/0/0"] .row-status', '2.05 content');
    // A multiple resource shows its instances.
    await page.click('tr[data-path="/3/0/7"] button[data-action="read"]');
    await waitForText('tr[data-path="/3/0/7"] td.value', '0: 3800 · 1: 5000');
  });

  it('writes and executes', async () => {
    // The server-setup objects start folded: unfold LwM2M Server.
    expect(await page.$('details.object[data-object="1"]:not([open])')).not.toBeNull();
    await page.click('details.object[data-object="1"] > summary');
    await page.waitForSelector('tr[data-path="/1/0/1"] input[data-input="write"]', { visible: true });
    await page.type('tr[data-path="/1/0/1"] input[data-input="write"]', '600');
    await page.click('tr[data-path="/1/0/1"] button[data-action="write"]');
    await waitForText('tr[data-path="/1/0/1"] .row-status', '2.04 changed');
    expect(ep1.values.get('/1/0/1')?.value).toBe(600);
    expect(await page.$eval('tr[data-path="/1/0/1"] td.value', (e) => e.textContent)).toBe('600');

    // A value the resource's type refuses is not sent.
    await page.type('tr[data-path="/1/0/1"] input[data-input="write"]', 'x');
    await page.click('tr[data-path="/1/0/1"] button[data-action="write"]');
    await waitForText('tr[data-path="/1/0/1"] .row-status', '"600x" is not a number');
    expect(ep1.values.get('/1/0/1')?.value).toBe(600);

    await page.click('tr[data-path="/3/0/4"] button[data-action="execute"]');
    await waitForText('tr[data-path="/3/0/4"] .row-status', '2.04 changed');
    expect(ep1.executed).toEqual([{ path: '/3/0/4', args: '' }]);

    await page.click('details.object[data-object="1"] > summary');
    await page.waitForSelector('details.object[data-object="1"]:not([open])');
  });

  it('observes, and a notification updates the value and the log', async () => {
    await page.click('tr[data-path="/3/0/9"] button[data-action="observe"]');
    await waitForText('tr[data-path="/3/0/9"] button[data-action="observe"]', 'Cancel observe');
    await waitForText('tr[data-path="/3/0/9"] td.value', '100');

    ep1.set('/3/0/9', 42);
    ep1.notify('/3/0/9');
    await waitForText('tr[data-path="/3/0/9"] td.value', '42');
    await page.waitForSelector('.log-list li[data-kind="notify"]');
    const logged = await page.$eval('.log-list li[data-kind="notify"] .log-text', (e) => JSON.parse(e.textContent ?? '{}') as { msgType: string; data: { content: unknown } });
    expect(logged).toMatchObject({ msgType: 'notify', data: { content: [{ path: '/3/0/9', value: 42 }] } });

    // A value from the device is text on the page, never markup.
    ep1.set('/3/0/9', 7);
    ep1.notify('/3/0/9');
    await waitForText('tr[data-path="/3/0/9"] td.value', '7');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(OUTPUT, 'console-device.png') });
    await page.screenshot({ path: path.join(OUTPUT, 'console-device-full.png'), fullPage: true });

    await page.click('tr[data-path="/3/0/9"] button[data-action="observe"]');
    await waitForText('tr[data-path="/3/0/9"] button[data-action="observe"]', 'Observe');
    expect(ep1.observations.has('/3/0/9')).toBe(false);
  });

  it('shows device values as text, never as markup', async () => {
    ep1.set('/3/0/1', '<img src=x onerror="window.__pwned=1">');
    await page.click('tr[data-path="/3/0/1"] button[data-action="read"]');
    await waitForText('tr[data-path="/3/0/1"] td.value', '<img src=x onerror="window.__pwned=1">');
    expect(await page.$$('tr[data-path="/3/0/1"] td.value img')).toHaveLength(0);
    expect(await page.evaluate(() => window.__pwned)).toBeUndefined();
  });

  it('keeps the list live: another device appears, a deregistered one goes', async () => {
    await page.click('nav.crumbs a');
    await page.waitForSelector('tr[data-endpoint="ep1"]', { timeout: 20_000 });
    const sleepy = await h.device({ endpoint: 'urn:imei:356938035643809', lwm2m: '1.2', binding: 'UQ' });
    expect((await sleepy.register()).code).toBe('2.01');
    await page.waitForSelector('tr[data-endpoint="urn:imei:356938035643809"]', { timeout: 20_000 });
    expect(await page.$$eval('tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-endpoint')))).toEqual(['ep1', 'urn:imei:356938035643809']);
    expect(await page.$eval('tr[data-endpoint="urn:imei:356938035643809"] td:nth-child(5)', (e) => e.textContent)).toBe('awake');
    await page.screenshot({ path: path.join(OUTPUT, 'console-list.png') });

    await ep1.deregister();
    await page.waitForSelector('tr[data-endpoint="ep1"]', { hidden: true, timeout: 20_000 });
    expect(await page.$eval('.count', (e) => e.textContent)).toBe('1 registered');
    expect(pageErrors).toEqual([]);
  });
});
