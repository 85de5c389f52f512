// A real browser (Debian's chromium, driven by playwright-core) runs a
// single-page app against gatehouse: PKCE in the page, the code redeemed with
// fetch (CORS), /userinfo called with the access token; the same request
// from a page of another origin is refused by CORS; a login with
// response_mode=form_post completes through the auto-submitting page. Run by
// test/interop/browser_test.go (TestBrowserSPA).
//
//   SPA=http://127.0.0.1:8082 OTHER=http://127.0.0.1:8083 EMAIL=... PASSWORD=... node spa.mjs
import { chromium } from 'playwright-core';

const { SPA, OTHER, EMAIL, PASSWORD } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const step = (s) => console.log('ok: ' + s);
const expectResult = async (page, text, what) => {
  const result = page.locator('#result');
  try {
    await result.filter({ hasText: text }).waitFor({ timeout: 15000 });
  } catch (e) {
    throw new Error(`${what}: want ${JSON.stringify(text)} in ${JSON.stringify(await result.innerText())} at ${page.url()}`);
  }
};
const logIn = async (page) => {
  await page.getByLabel('Email').waitFor();
  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
};

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await page.goto(SPA + '/');
  await page.getByRole('button', { name: 'Log in', exact: true }).click();
  await logIn(page);
  await expectResult(page, 'token: Bearer', 'code redeemed with fetch');
  step('spa: code redeemed with fetch (CORS)');
  await expectResult(page, 'userinfo: ' + EMAIL, 'userinfo');
  step('spa: userinfo');

  await page.getByRole('button', { name: 'Probe the token endpoint' }).click();
  await expectResult(page, 'probe: readable 400 invalid_grant', 'probe from the spa origin');
  step('spa: its own origin reads the token endpoint');

  const other = await browser.newPage();
  await other.goto(OTHER + '/');
  await other.getByRole('button', { name: 'Probe the token endpoint' }).click();
  await expectResult(other, 'probe: refused TypeError', 'probe from another origin');
  step('other origin: refused by CORS');

  await page.goto(SPA + '/');
  await page.getByRole('button', { name: 'Log in with form_post' }).click();
  await logIn(page); // prompt=login: the password is asked again
  await expectResult(page, 'posted: form_post', 'form_post');
  await expectResult(page, 'userinfo: ' + EMAIL, 'userinfo after form_post');
  step('form_post login completed');
  const csp = errors.filter((e) => e.includes('Content Security Policy'));
  if (csp.length) throw new Error('CSP violations: ' + csp.join('; '));
} finally {
  await browser.close();
}
