// Headless Chromium check of the report pages.
//
//   node report-check.mjs SPEC.json SCREENSHOT_DIR
//
// SPEC.json is a list of pages:
//   [{"name": "call", "url": "file:///tmp/x/call-0.html",
//     "expect": ["text in the page", {"selector": "time[datetime]"},
//                {"selector": "li.msg", "count": 7}, {"html": "raw substring"}],
//     "forbid": ["text", {"selector": "script"}, {"html": "<img"}],
//     "linksWork": true,
//     "choose": {"select": "form.zone select", "value": "UTC",
//                "submit": "form.zone button", "expect": ["text after"]}}]
// Strings are matched against the rendered text (document.body.innerText),
// "html" against the serialised DOM, "selector" against elements.
// linksWork: every link to the page's own origin answers below 400.
// choose: select an option of a form, submit it, check the new page.
//
// Each page is loaded twice: desktop (1280x900, light) and phone (390x844,
// dark). Any request other than file:, data:, about: or http(s) to
// localhost fails the check, as does a script error, a console error (CSP
// violations are reported there) or a page wider than the phone screen.
// Full-page screenshots go to SCREENSHOT_DIR/<name>-desktop.png and
// <name>-phone-dark.png. Exit status: 0 when every check passed, 1 when one
// failed, 2 for a usage or setup error.
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function allowed(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (['file:', 'data:', 'about:', 'blob:'].includes(u.protocol)) return true;
  if (u.protocol === 'http:' || u.protocol === 'https:')
    return ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  return false;
}

const viewports = [
  { label: 'desktop', width: 1280, height: 900, colorScheme: 'light' },
  { label: 'phone-dark', width: 390, height: 844, colorScheme: 'dark' },
];

async function checkPage(page, spec, vp, shots, failures) {
  const where = `${spec.name || spec.url} [${vp.label}]`;
  const fail = (msg) => failures.push(`${where}: ${msg}`);
  const blocked = [];
  const errors = [];
  const onRequest = (req) => {
    if (!allowed(req.url())) blocked.push(req.url());
  };
  const onConsole = (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  };
  const onPageError = (err) => errors.push(String(err));
  page.on('request', onRequest);
  page.on('console', onConsole);
  page.on('pageerror', onPageError);
  try {
    await page.setViewportSize({ width: vp.width, height: vp.height });
    await page.emulateMedia({ colorScheme: vp.colorScheme });
    const resp = await page.goto(spec.url, { waitUntil: 'load', timeout: 15000 });
    if (resp && !resp.ok() && !spec.allowHttpError) fail(`HTTP status ${resp.status()}`);
    await page.waitForLoadState('networkidle', { timeout: 5000 }).catch(() => {});
    const text = await page.evaluate(() => document.body ? document.body.innerText : '');
    const html = await page.content();
    for (const e of spec.expect || []) {
      if (typeof e === 'string') {
        if (!text.includes(e)) fail(`expected text not found: ${JSON.stringify(e)}`);
      } else if (e.selector) {
        const n = await page.locator(e.selector).count();
        if (e.count !== undefined ? n !== e.count : n === 0)
          fail(`selector ${e.selector}: ${n} element(s), expected ${e.count ?? 'at least 1'}`);
      } else if (e.html) {
        if (!html.includes(e.html)) fail(`expected HTML not found: ${JSON.stringify(e.html)}`);
      }
    }
    for (const f of spec.forbid || []) {
      if (typeof f === 'string') {
        if (text.includes(f)) fail(`forbidden text present: ${JSON.stringify(f)}`);
      } else if (f.selector) {
        const n = await page.locator(f.selector).count();
        if (n) fail(`forbidden selector ${f.selector}: ${n} element(s)`);
      } else if (f.html) {
        if (html.includes(f.html)) fail(`forbidden HTML present: ${JSON.stringify(f.html)}`);
      }
    }
    // Every link to the page's own server opens (no 401/404 behind a link).
    if (spec.linksWork) {
      const origin = new URL(page.url()).origin;
      const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
      for (const href of hrefs) {
        if (new URL(href).origin !== origin) continue;
        const r = await page.context().request.get(href, { failOnStatusCode: false });
        if (r.status() >= 400) fail(`link ${href} answers HTTP ${r.status()}`);
      }
    }
    // A form used as a viewer would: choose an option, submit, and check
    // the page it leads to.
    if (spec.choose) {
      await page.selectOption(spec.choose.select, spec.choose.value);
      const [resp] = await Promise.all([
        page.waitForNavigation({ waitUntil: 'load', timeout: 15000 }),
        page.click(spec.choose.submit),
      ]);
      if (resp && !resp.ok()) fail(`after choosing ${spec.choose.value}: HTTP ${resp.status()}`);
      const after = await page.evaluate(() => document.body ? document.body.innerText : '');
      for (const e of spec.choose.expect || [])
        if (!after.includes(e)) fail(`after choosing ${spec.choose.value}: text not found: ${JSON.stringify(e)}`);
      await page.goto(spec.url, { waitUntil: 'load', timeout: 15000 });
    }
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) fail(`page is ${overflow}px wider than the viewport`);
    const file = path.join(shots, `${spec.name || 'page'}-${vp.label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot ${file}`);
  } catch (err) {
    fail(`load failed: ${err.message}`);
  } finally {
    page.off('request', onRequest);
    page.off('console', onConsole);
    page.off('pageerror', onPageError);
  }
  for (const u of blocked) fail(`external request: ${u}`);
  for (const e of errors) fail(`console/page error: ${e}`);
}

async function main() {
  const [specPath, shots] = process.argv.slice(2);
  if (!specPath || !shots) {
    console.error('usage: node report-check.mjs SPEC.json SCREENSHOT_DIR');
    return 2;
  }
  const specs = JSON.parse(readFileSync(specPath, 'utf8'));
  mkdirSync(shots, { recursive: true });
  const profile = mkdtempSync(path.join(tmpdir(), 'ccai-chromium-'));
  const failures = [];
  let context;
  try {
    // A persistent context is how Playwright takes --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      offline: false,
    });
    // Belt and braces: refuse, not just record, anything external.
    await context.route('**/*', (route) =>
      allowed(route.request().url()) ? route.continue() : route.abort('blockedbyclient'));
    const page = context.pages()[0] || (await context.newPage());
    for (const spec of specs)
      for (const vp of viewports) await checkPage(page, spec, vp, shots, failures);
  } finally {
    if (context) await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  for (const f of failures) console.log(`not ok - ${f}`);
  console.log(failures.length ? `${failures.length} failure(s)` : `ok - ${specs.length} page(s) checked`);
  return failures.length ? 1 : 0;
}

main().then((code) => process.exit(code), (err) => {
  console.error(err);
  process.exit(2);
});
