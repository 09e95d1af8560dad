// webui_test.js - the web UI in a real browser: playwright-core drives
// Debian's Chromium (headless) through every page of webui.cgi.
//
// Run by tests/integration/test_webui.py, which starts the gateway, the
// smarthost sink, busybox httpd and `mailgw webui-tls` in front of it
// (HTTPS), queues two deferred messages (senders
// keep@ and delete@), and checks delivery afterwards. Environment:
//   WEBUI_URL    https://127.0.0.1:PORT/cgi-bin/webui.cgi
//   SINK_PORT    the smtp-sink the smarthost is to be switched to
//   SETUP_TOKEN  the one-time setup token master logged at start
//   MAIN_CF      the gateway's main.cf (to check that nothing changed)
//   ARTIFACTS    where the screenshots go (one per page)
//   CHROMIUM     the browser (default /usr/bin/chromium)
// Exits 0 when every check passed; prints what failed otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const URL = process.env.WEBUI_URL;
const SINK_PORT = process.env.SINK_PORT;
const MAIN_CF = process.env.MAIN_CF;
const ARTIFACTS = process.env.ARTIFACTS;
const SETUP_TOKEN = process.env.SETUP_TOKEN;
const FIRST_PASSWORD = 'correct horse battery';
const PASSWORD = 'a new staple for the battery';
const SMTP_PASSWORD = 'submission secret 1'; // test_webui.py logs in with it

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `webui-${name}.png`), fullPage: true });
}

async function submit(page) {
  await Promise.all([page.waitForNavigation(), page.click('main button[type=submit]')]);
}

async function queueRow(page, sender) {
  return page.locator('#queue tbody tr', { hasText: sender });
}

(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.rmSync(path.join(ARTIFACTS, 'webui-failure.png'), { force: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
  const context = await browser.newContext({
    viewport: { width: 420, height: 900 },
    ignoreHTTPSErrors: true, // mailgw webui-tls' self-signed certificate
  });
  const page = await context.newPage();
  let dialogs = 0;
  page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
  try {
    // First run: any page leads to the setup form.
    await page.goto(URL + '/dashboard');
    check(page.url().endsWith('/setup'), 'first run redirects to /setup');
    await shot(page, 'setup');
    // The setup token from the log is required.
    await page.fill('#token', '0'.repeat(32));
    await page.fill('#password', FIRST_PASSWORD);
    await page.fill('#confirm', FIRST_PASSWORD);
    await submit(page);
    check((await page.textContent('#token-error')).includes('setup token is wrong'), 'setup: a wrong setup token is refused');
    check((await page.getAttribute('#token', 'aria-invalid')) === 'true', 'setup: token field marked');
    await shot(page, 'setup-token-error');
    let r = await page.request.get(URL + '/dashboard', { maxRedirects: 0 });
    check(r.status() === 303 && r.headers()['location'].endsWith('/setup'), 'setup: a wrong token sets no password');
    await page.fill('#token', SETUP_TOKEN.toUpperCase());
    await page.fill('#password', FIRST_PASSWORD);
    await page.fill('#confirm', FIRST_PASSWORD + 'x');
    await submit(page);
    check((await page.textContent('#password-error')).includes('differ'), 'setup: mismatched passwords refused');
    await page.fill('#token', SETUP_TOKEN);
    await page.fill('#password', FIRST_PASSWORD);
    await page.fill('#confirm', FIRST_PASSWORD);
    await submit(page);
    check(page.url().endsWith('/dashboard'), 'setup with the token logs in and shows the dashboard');

    // Session cookie attributes.
    const cookies = await context.cookies();
    const sc = cookies.find((c) => c.name === 'mgw_session');
    check(sc && /^[0-9a-f]{32}$/.test(sc.value), 'session id is 128 bits (32 hex digits)');
    check(sc.httpOnly && sc.sameSite === 'Strict', 'session cookie is HttpOnly and SameSite=Strict');
    check(sc.secure, 'session cookie is Secure');

    // Dashboard.
    check((await page.textContent('#state')).includes('running'), 'dashboard: gateway running');
    check((await page.textContent('#version')).includes('mailgw'), 'dashboard: version');
    check(/\d+d \d+h/.test(await page.textContent('#uptime')), 'dashboard: uptime');
    check((await page.textContent('#queue-sizes')).includes('deferred'), 'dashboard: queue sizes');
    check((await page.textContent('#today')).includes('accepted'), 'dashboard: today\'s counts');
    await shot(page, 'dashboard');

    // Change the password: wrong current one, mismatch, then done.
    await page.click('header a[href$="/password"]');
    await page.waitForURL(/\/password$/);
    await shot(page, 'password');
    await page.fill('#current', 'not the password');
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await submit(page);
    check((await page.textContent('#current-error')).includes('current password is wrong'), 'password: wrong current password refused');
    await page.fill('#current', FIRST_PASSWORD);
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD + 'x');
    await submit(page);
    check((await page.textContent('#password-error')).includes('differ'), 'password: mismatched new passwords refused');
    r = await page.request.post(URL + '/password', { form: { current: FIRST_PASSWORD, password: 'x'.repeat(12), confirm: 'x'.repeat(12) }, maxRedirects: 0 });
    check(r.status() === 403, `password change without CSRF token: ${r.status()}`);
    await page.fill('#current', FIRST_PASSWORD);
    await page.fill('#password', PASSWORD);
    await page.fill('#confirm', PASSWORD);
    await submit(page);
    check((await page.textContent('#note')).includes('password is changed'), 'password: changed');
    await shot(page, 'password-changed');

    // Mail users of the submission ports (mailgw passwd via master).
    await page.click('header a[href$="/users"]');
    await page.waitForURL(/\/users$/);
    check((await page.textContent('main')).includes('No users yet'), 'users: none at first');
    await page.fill('#name', 'bad name');
    await page.fill('#password', SMTP_PASSWORD);
    await page.fill('#confirm', SMTP_PASSWORD);
    await Promise.all([page.waitForNavigation(), page.click('button[value=add]')]);
    check((await page.textContent('#name-error')).includes('user name'), 'users: a bad name is refused');
    await page.fill('#name', 'bob');
    await page.fill('#password', SMTP_PASSWORD);
    await page.fill('#confirm', SMTP_PASSWORD + 'x');
    await Promise.all([page.waitForNavigation(), page.click('button[value=add]')]);
    check((await page.textContent('#password-error')).includes('differ'), 'users: mismatched passwords refused');
    for (const u of ['alice', 'bob']) {
      await page.fill('#name', u);
      await page.fill('#password', SMTP_PASSWORD);
      await page.fill('#confirm', SMTP_PASSWORD);
      await Promise.all([page.waitForNavigation(), page.click('button[value=add]')]);
      check((await page.textContent('#note')).includes(`add ${u}: done`), `users: ${u} added`);
    }
    await Promise.all([page.waitForNavigation(),
      page.locator('#users tr', { hasText: 'bob' }).locator('button[value=delete]').click()]);
    check((await page.textContent('#note')).includes('delete bob: done'), 'users: bob deleted');
    check((await page.textContent('#users')).includes('alice') && !(await page.textContent('#users')).includes('bob'),
      'users: alice listed, bob gone');
    r = await page.request.post(URL + '/users', { form: { action: 'add', name: 'eve', password: 'x'.repeat(12), confirm: 'x'.repeat(12) }, maxRedirects: 0 });
    check(r.status() === 403, `users: add without CSRF token: ${r.status()}`);
    await shot(page, 'users');

    // Logout, a wrong password (the old one), login with the new one.
    await Promise.all([page.waitForNavigation(), page.click('header button')]);
    check(page.url().endsWith('/login'), 'logout leads to /login');
    await page.fill('#password', FIRST_PASSWORD);
    await submit(page);
    check((await page.textContent('#password-error')).includes('Wrong password'), 'login: wrong password refused');
    await shot(page, 'login');
    await page.fill('#password', PASSWORD);
    await submit(page);
    check(page.url().endsWith('/dashboard'), 'login works');

    // Settings: an invalid hostname shows its error and changes nothing.
    const before = fs.readFileSync(MAIN_CF, 'utf8');
    await page.goto(URL + '/settings');
    await shot(page, 'settings');
    await page.fill('#hostname', 'bad host!');
    await submit(page);
    check((await page.textContent('#hostname-error')).includes('not a fully qualified host name'),
      'invalid hostname: error next to the field');
    check((await page.getAttribute('#hostname', 'aria-invalid')) === 'true', 'invalid hostname: field marked');
    await shot(page, 'settings-error');
    check(fs.readFileSync(MAIN_CF, 'utf8') === before, 'invalid hostname: main.cf unchanged');
    await page.goto(URL + '/apply');
    check((await page.textContent('main')).includes('No staged changes'), 'invalid hostname: nothing staged');

    // XSS probe: comes back escaped, never as markup.
    const probe = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
    await page.goto(URL + '/settings');
    await page.fill('#hostname', probe);
    await submit(page);
    check((await page.inputValue('#hostname')) === probe, 'XSS probe: shown back as the text typed');
    check((await page.locator('main script, main img').count()) === 0, 'XSS probe: no element injected');
    const raw = await (await page.request.get(URL + '/settings')).text();
    check(!raw.includes('<script>alert(1)'), 'XSS probe: no raw markup in a fresh page');
    check(dialogs === 0, 'XSS probe: no script ran');

    // CSRF: a POST without the token, or with a wrong one, is refused.
    r = await page.request.post(URL + '/settings', { form: { hostname: 'evil.example' }, maxRedirects: 0 });
    check(r.status() === 403, `POST without CSRF token: ${r.status()}`);
    r = await page.request.post(URL + '/apply', { form: { action: 'apply', csrf: '0'.repeat(32) }, maxRedirects: 0 });
    check(r.status() === 403, `POST with a wrong CSRF token: ${r.status()}`);
    r = await page.request.post(URL + '/queue', { form: { action: 'flush' }, maxRedirects: 0 });
    check(r.status() === 403, `queue action without CSRF token: ${r.status()}`);

    // Queue: list, view headers, delete, hold, release.
    await page.goto(URL + '/queue');
    check(await (await queueRow(page, 'keep@example.test')).count() === 1, 'queue: keep@ listed');
    check(await (await queueRow(page, 'delete@example.test')).count() === 1, 'queue: delete@ listed');
    await shot(page, 'queue');
    await Promise.all([page.waitForNavigation(),
      (await queueRow(page, 'delete@example.test')).locator('button[value=delete]').click()]);
    check((await page.textContent('#note')).includes('done'), 'queue: delete done');
    check(await (await queueRow(page, 'delete@example.test')).count() === 0, 'queue: delete@ gone');
    await Promise.all([page.waitForNavigation(),
      (await queueRow(page, 'keep@example.test')).locator('button[value=hold]').click()]);
    check((await (await queueRow(page, 'keep@example.test')).textContent()).includes('hold'), 'queue: held');
    await Promise.all([page.waitForNavigation(),
      (await queueRow(page, 'keep@example.test')).locator('button[value=release]').click()]);
    check(!(await (await queueRow(page, 'keep@example.test')).textContent()).includes('hold'), 'queue: released');
    await Promise.all([page.waitForNavigation(),
      (await queueRow(page, 'keep@example.test')).locator('a').click()]);
    check((await page.textContent('#headers')).includes('Subject: keep me'), 'queue: headers shown');
    await shot(page, 'queue-view');

    // The smarthost to the test sink: staged, diffed, applied.
    await page.goto(URL + '/settings');
    await page.fill('#hostname', 'gw.example.test');
    await page.fill('#smarthost_port', SINK_PORT);
    await submit(page);
    check(page.url().endsWith('/apply'), 'valid settings are staged (apply page)');
    const diff = await page.textContent('main');
    check(diff.includes(`+ relay_transport = relay:[127.0.0.1]:${SINK_PORT}`), 'apply: the diff shows the new relay_transport');
    check(fs.readFileSync(MAIN_CF, 'utf8') === before, 'staged: main.cf not yet changed');
    await shot(page, 'apply');
    await page.goto(URL + '/dashboard');
    await page.goto(URL + '/apply');
    check((await page.textContent('main')).includes(`:${SINK_PORT}`), 'staged changes survive navigation');
    await Promise.all([page.waitForNavigation(), page.click('button[value=apply]')]);
    check((await page.textContent('main')).includes('gateway has reloaded'), 'apply: applied and reloaded');
    await shot(page, 'applied');
    check(fs.readFileSync(MAIN_CF, 'utf8').includes(`relay:[127.0.0.1]:${SINK_PORT}`), 'apply: main.cf changed');

    // Flush: the deferred message goes to the new smarthost.
    await page.goto(URL + '/queue');
    await Promise.all([page.waitForNavigation(), page.click('button[value=flush]')]);
    check((await page.textContent('#note')).includes('done'), 'queue: flush done');

    // Logout ends the session: the old cookie no longer works.
    await Promise.all([page.waitForNavigation(), page.click('header button')]);
    check(page.url().endsWith('/login'), 'logout');
    const old = sc.value;
    r = await page.request.get(URL + '/dashboard', { headers: { Cookie: `mgw_session=${old}` }, maxRedirects: 0 });
    check(r.status() === 303 && r.headers()['location'].endsWith('/login'), 'logout: the old session is gone');
    console.log('all checks passed');
    await browser.close();
    process.exit(0);
  } catch (e) {
    console.log(e.stack || String(e));
    try { await shot(page, 'failure'); } catch (e2) { /* nothing */ }
    await browser.close();
    process.exit(1);
  }
})();
