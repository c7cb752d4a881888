// End-to-end journeys through the portal in real headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core), axe-core on every
// page type in both themes, a live update over Server-Sent Events, layout
// checks with a hostile entity, and the README's screenshots.
//
// Started by internal/cli/portal_e2e_test.go against a live greenroom serve:
//   GREENROOM_URL          the portal
//   GREENROOM_FILES        a loopback file server allowed by backend.reading.allow
//   GREENROOM_PUSH_TOKEN   a backend.auth.externalAccess static token (push API)
//   GREENROOM_SCREENSHOTS  where the PNGs go
//   CHROMIUM               the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const axePath = require.resolve('axe-core/axe.min.js');
const BASE = process.env.GREENROOM_URL;
const FILES = process.env.GREENROOM_FILES;
const TOKEN = process.env.GREENROOM_PUSH_TOKEN;
const SHOTS = process.env.GREENROOM_SCREENSHOTS;
assert.ok(BASE && FILES && TOKEN && SHOTS, 'GREENROOM_URL, GREENROOM_FILES, GREENROOM_PUSH_TOKEN and GREENROOM_SCREENSHOTS must be set');

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // root in a container: Chromium's sandbox needs user namespaces.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
});
after(async () => { if (browser) await browser.close(); });

// page opens a page in a fresh context with the portal's real CSP, and
// records CSP violations and script errors, which fail the journey.
async function open(t, opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push('script error: ' + e.message));
  t.after(async () => {
    await ctx.close();
    assert.deepEqual(problems, [], 'the page broke its CSP or threw');
  });
  return page;
}

async function push(source, entities) {
  const r = await fetch(`${BASE}/api/catalog/push/${source}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ entities }),
  });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  for (const res of body.results) assert.equal(res.error, undefined, JSON.stringify(res));
  return body;
}

function component(name, extra = {}) {
  return {
    apiVersion: 'backstage.io/v1alpha1', kind: 'Component',
    metadata: { name, description: 'Pushed by the portal e2e test.', ...extra.metadata },
    spec: { type: 'service', owner: 'team-invoicing', lifecycle: 'production', ...extra.spec },
  };
}

// tabTo presses Tab until the focused element matches pred (evaluated in
// the page), failing after max presses: keyboard-only reachability.
async function tabTo(page, pred, arg, max = 150) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(pred, arg)) return i + 1;
  }
  assert.fail(`nothing matching ${pred} reached by ${max} Tab presses`);
}

const h1 = (page) => page.locator('h1').innerText();

// First, while the catalog is the demo company alone.
test('screenshots of the main pages, light and dark', async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const shots = {
    home: '/',
    catalog: '/catalog',
    entity: '/catalog/default/component/invoice-service',
    graph: '/catalog/default/component/invoice-service/dependencies',
  };
  for (const scheme of ['light', 'dark']) {
    const page = await open(t, { colorScheme: scheme });
    for (const [name, p] of Object.entries(shots)) {
      await page.goto(BASE + p);
      await page.screenshot({ path: join(SHOTS, `${name}-${scheme}.png`) });
    }
  }
});

test('find a service by filter (keyboard) and by text, then open it', async (t) => {
  const page = await open(t);
  await page.goto(`${BASE}/catalog`);
  assert.equal(await h1(page), 'Catalog: Components');
  // Keyboard only: Tab to the owner checkbox, Space ticks it, the form
  // applies itself and focus comes back to the checkbox.
  await tabTo(page, () => document.activeElement?.value === 'group:default/team-invoicing');
  await Promise.all([page.waitForURL(/filters%5Bowners%5D=group/), page.keyboard.press('Space')]);
  assert.equal(await page.evaluate(() => document.activeElement?.value), 'group:default/team-invoicing', 'focus returns to the changed filter');
  const names = await page.locator('td.name a').allInnerTexts();
  assert.ok(names.includes('Invoice Service'), names.join(', '));
  assert.ok(!names.includes('Merchant Dashboard'), 'the owner filter kept other teams');
  // Text filter, applied with Enter.
  await page.getByLabel('Name or title contains').fill('pdf');
  await Promise.all([page.waitForURL(/filters%5Btext%5D=pdf/), page.keyboard.press('Enter')]);
  assert.deepEqual(await page.locator('td.name a').allInnerTexts(), ['Invoice PDF Renderer']);
  // Mouse: open it.
  await Promise.all([page.waitForURL(/\/catalog\/default\/component\/invoice-pdf-renderer$/), page.getByRole('link', { name: 'Invoice PDF Renderer' }).click()]);
  assert.equal(await h1(page), 'Invoice PDF Renderer');

  // The home page's search box finds by text too.
  await page.goto(`${BASE}/`);
  const search = page.getByRole('search').getByRole('searchbox');
  await search.fill('tax calc');
  await Promise.all([page.waitForURL(/\/catalog\?/), search.press('Enter')]);
  assert.ok((await page.locator('td.name a').allInnerTexts()).includes('Tax Calculator'));
});

test('follow a dependency in the graph with the keyboard, then open the team and a member', async (t) => {
  const page = await open(t);
  await page.goto(`${BASE}/catalog/default/component/invoice-service`);
  // The Dependencies tab, by keyboard.
  await tabTo(page, () => document.activeElement?.textContent === 'Dependencies');
  await Promise.all([page.waitForURL(/\/dependencies$/), page.keyboard.press('Enter')]);
  const nodes = page.locator('svg a.gr-graph-node');
  assert.ok(await nodes.count() >= 5, 'the graph has nodes');
  // Graph nodes are links reachable by Tab; Enter follows one.
  await tabTo(page, () => document.activeElement?.getAttribute('href') === '/catalog/default/component/tax-calculator' &&
    document.activeElement.closest('svg') !== null);
  await Promise.all([page.waitForURL(/\/component\/tax-calculator$/), page.keyboard.press('Enter')]);
  assert.equal(await h1(page), 'Tax Calculator');
  // The text alternative lists the relations.
  await page.goto(`${BASE}/catalog/default/component/invoice-service/dependencies`);
  assert.ok(await page.getByRole('table', { name: 'Depends on' }).getByRole('link', { name: 'Tax Calculator' }).isVisible());
  // The mouse follows a node as well.
  await Promise.all([page.waitForURL(/\/component\/invoice-pdf-renderer$/), page.locator('svg a.gr-graph-node[href="/catalog/default/component/invoice-pdf-renderer"]').click()]);

  // The owning team, then one of its members.
  await Promise.all([page.waitForURL(/\/group\/team-invoicing$/), page.locator('.entity-meta').getByRole('link', { name: 'team-invoicing' }).click()]);
  assert.equal(await h1(page), 'Invoicing');
  const owned = page.locator('section[aria-labelledby="owned-h"]');
  assert.ok((await owned.locator('td.name a').allInnerTexts()).includes('Invoice Service'));
  const members = page.locator('section[aria-labelledby="rel-members"] td.name a');
  assert.ok(await members.count() >= 3);
  const member = await members.first().innerText();
  await Promise.all([page.waitForURL(/\/user\//), members.first().click()]);
  assert.equal(await h1(page), member);
});

test('register an existing component with a dry-run preview', async (t) => {
  const page = await open(t);
  await page.goto(`${BASE}/catalog-import`);
  await page.getByLabel('Catalog file URL').fill(`${FILES}/repo/catalog-info.yaml`);
  await Promise.all([page.waitForLoadState('load'), page.keyboard.press('Enter')]);
  const main = page.locator('main');
  await main.getByRole('table').getByText('E2E Registered').waitFor();
  // The dry run stored nothing.
  let r = await fetch(`${BASE}/api/catalog/entities/by-name/component/default/e2e-registered`);
  assert.equal(r.status, 404, 'the preview stored the entity');
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Import' }).click()]);
  await main.getByRole('link', { name: /e2e-registered|E2E Registered/ }).first().waitFor();
  for (let i = 0; i < 100; i++) {
    r = await fetch(`${BASE}/api/catalog/entities/by-name/component/default/e2e-registered`);
    if (r.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(r.status, 200, 'the import did not store the entity');
  await Promise.all([page.waitForURL(/\/component\/e2e-registered$/), main.getByRole('link', { name: /e2e-registered|E2E Registered/ }).first().click()]);
  assert.equal(await h1(page), 'E2E Registered');
});

test('live update: an open entity page updates without reload and announces it', async (t) => {
  await push('portal-e2e', [component('live-demo', { metadata: { description: 'Version one.' } })]);
  const page = await open(t);
  await page.goto(`${BASE}/catalog/default/component/live-demo`);
  await page.locator('main[data-live-state="open"]').waitFor();
  await page.evaluate(() => { window.__noReload = true; });
  // Focus a link in main; it must keep focus across the update.
  await page.locator('.entity-meta a').focus();
  await push('portal-e2e', [component('live-demo', { metadata: { description: 'Version two, pushed while the page was open.' } })]);
  await page.locator('main .description', { hasText: 'Version two' }).waitFor({ timeout: 20000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page reloaded');
  await page.waitForFunction(() => /was updated/.test(document.getElementById('live').textContent));
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('href')), '/catalog/default/group/team-invoicing', 'focus was lost');

  // A hidden tab gives up its stream; shown again, it catches up on what
  // changed meanwhile (?since= the last event id it saw).
  const setHidden = (hidden) => page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
  await setHidden(true);
  await page.locator('main[data-live-state="closed"]').waitFor();
  await push('portal-e2e', [component('live-demo', { metadata: { description: 'Version 2b, pushed while the tab was hidden.' } })]);
  await setHidden(false);
  await page.locator('main .description', { hasText: 'Version 2b' }).waitFor({ timeout: 20000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page reloaded');

  // A list shows how many entities changed and offers a refresh.
  const list = await open(t);
  await list.goto(`${BASE}/catalog`);
  await list.locator('main[data-live-state="open"]').waitFor();
  await push('portal-e2e', [component('live-demo', { metadata: { description: 'Version three.' } })]);
  await list.locator('#live-banner', { hasText: /entit(y|ies) changed/ }).waitFor({ timeout: 20000 });
  await list.waitForFunction(() => /changed/.test(document.getElementById('live').textContent));
  await Promise.all([list.waitForLoadState('load'), list.locator('#live-banner').getByRole('button', { name: 'Refresh' }).click()]);
  assert.equal(await list.locator('#live-banner').count(), 0);
});

test('bad input: unknown entity suggests, hostile entity keeps the layout and refuses javascript: links', async (t) => {
  const tags = Array.from({ length: 300 }, (_, i) => `tag-${String(i).padStart(3, '0')}`);
  await push('portal-e2e-hostile', [component('a'.repeat(63), {
    metadata: {
      title: 'Very long title '.repeat(30) + 'end',
      description: 'x'.repeat(3000) + ' <script>window.__pwned = true</script>',
      tags,
      links: [{ url: 'javascript:window.__pwned=true', title: 'Evil link' }, { url: 'https://example.com/ok', title: 'Fine link' }],
      annotations: { 'example.com/dashboard': 'javascript:window.__pwned=true' },
    },
    spec: { dependsOn: Array.from({ length: 120 }, (_, i) => `component:default/missing-${i}`) },
  })]);
  const page = await open(t);
  const path = `/catalog/default/component/${'a'.repeat(63)}`;
  for (const width of [320, 768, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const p of [path, path + '/dependencies', `/catalog?filters%5Bkind%5D=component&filters%5Btext%5D=very+long`]) {
      const res = await page.goto(BASE + p);
      assert.equal(res.status(), 200, p);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `${p} at ${width}px scrolls sideways by ${overflow}px`);
    }
  }
  await page.goto(BASE + path);
  assert.equal(await page.locator('.tags li').count() >= 100, true, 'the tags are not shown');
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'script ran');
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0, 'a javascript: link was rendered');
  assert.ok(await page.getByRole('link', { name: 'Fine link' }).isVisible());

  const res = await page.goto(`${BASE}/catalog/default/component/invoice-servic`);
  assert.equal(res.status(), 404);
  assert.match(await h1(page), /No component named .invoice-servic./);
  assert.ok(await page.locator('main').getByRole('link', { name: 'Invoice Service' }).first().isVisible(), 'no suggestion');
});

// Every page type, for axe and screenshots.
const pages = {
  home: '/',
  catalog: '/catalog',
  entity: '/catalog/default/component/invoice-service',
  graph: '/catalog/default/component/invoice-service/dependencies?depth=2',
  apis: '/catalog/default/component/invoice-service/api',
  'api-openapi': '/catalog/default/api/invoices-api/api',
  'api-asyncapi': '/catalog/default/api/payment-events/api',
  'api-graphql': '/catalog/default/api/merchant-graphql/api',
  group: '/catalog/default/group/team-invoicing',
  user: '/catalog/default/user/elena.petrova',
  'api-docs': '/api-docs',
  'catalog-import': '/catalog-import',
  'not-found': '/catalog/default/component/no-such-thing',
  // A notice explains the malformed filter and page size; the rest applies.
  'bad-filters': '/catalog?filters%5Bkind%5D=component&filters%5Bowners%5D=%3Abad&limit=x',
  // Pushed by the bad-input journey above (tests run in file order).
  hostile: `/catalog/default/component/${'a'.repeat(63)}`,
};

async function axe(page) {
  // The portal's CSP forbids injected scripts: these contexts bypass it
  // for the injection only (the journeys above run with it).
  await page.addScriptTag({ path: axePath });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'], // details of violations only: much faster
    });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ` +
      v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + n.failureSummary.replace(/\n/g, ' ')).join('\n    '));
  });
}

for (const scheme of ['light', 'dark']) {
  test(`axe: zero WCAG 2.1 A/AA violations on every page type, ${scheme} system theme`, async (t) => {
    const page = await open(t, { colorScheme: scheme, bypassCSP: true });
    const found = [];
    for (const [name, p] of Object.entries(pages)) {
      await page.goto(BASE + p);
      for (const v of await axe(page)) found.push(`${name} (${p}): ${v}`);
    }
    assert.deepEqual(found, [], found.join('\n'));
  });
}

// The toggle's choice overrides the system theme both ways: dark under a
// light system on every page type, light under a dark one on the main ones.
for (const { scheme, clicks, want, only } of [
  { scheme: 'light', clicks: 2, want: 'dark' }, // system → light → dark
  { scheme: 'dark', clicks: 1, want: 'light', only: ['home', 'catalog', 'entity', 'graph', 'api-openapi'] },
]) {
  test(`axe: the theme toggle set to ${want} under a ${scheme} system passes too`, async (t) => {
    const page = await open(t, { colorScheme: scheme, bypassCSP: true });
    await page.goto(BASE + '/');
    const toggle = page.locator('#theme-toggle');
    for (let i = 0; i < clicks; i++) await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), want);
    assert.match(await toggle.innerText(), new RegExp(want));
    await page.waitForFunction((w) => new RegExp(w + ' theme', 'i').test(document.getElementById('live').textContent), want);
    const found = [];
    for (const [name, p] of Object.entries(pages)) {
      if (only && !only.includes(name)) continue;
      await page.goto(BASE + p);
      assert.equal(await page.evaluate(() => document.documentElement.getAttribute('data-theme')), want, 'the choice did not persist');
      for (const v of await axe(page)) found.push(`${name} (${p}): ${v}`);
    }
    assert.deepEqual(found, [], found.join('\n'));
  });
}
