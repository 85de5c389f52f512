// A real browser (Debian's chromium, driven by playwright-core) logs in
// through gatehouse's hosted login and consent pages with examples/webapp as
// the relying party: code -> tokens -> ID token checks -> API call ->
// userinfo -> refresh -> logout. Run by test/interop/browser_test.go.
//
//   WEBAPP=http://127.0.0.1:8081 EMAIL=... PASSWORD=... SHOTS=DIR node browser.mjs
import { chromium } from 'playwright-core';

const { WEBAPP, EMAIL, PASSWORD, SHOTS } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const step = (s) => console.log('ok: ' + s);
const expectText = async (locator, text, what) => {
  await locator.waitFor({ timeout: 10000 });
  const got = await locator.innerText();
  if (!got.includes(text)) throw new Error(`${what}: want ${JSON.stringify(text)} in ${JSON.stringify(got)}`);
};

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const page = await browser.newPage({ viewport: { width: 720, height: 640 } });
  await page.goto(WEBAPP + '/');
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByLabel('Email').waitFor();
  step('login page');

  await page.getByLabel('Email').fill(EMAIL);
  await page.getByLabel('Password').fill(PASSWORD);
  if (SHOTS) await page.screenshot({ path: SHOTS + '/login-page.png' });
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expectText(page.getByRole('alert'), 'Wrong email or password.', 'wrong password');
  step('wrong password refused');

  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Allow' }).waitFor();
  await page.getByRole('button', { name: 'Deny' }).waitFor();
  if (SHOTS) await page.screenshot({ path: SHOTS + '/consent-page.png' });
  step('consent page');

  await page.getByRole('button', { name: 'Allow' }).click();
  await expectText(page.locator('#user'), 'Logged in as', 'after consent');
  step('logged in: code redeemed, ID token checked');

  await page.getByRole('link', { name: 'Call the API' }).click();
  await expectText(page.locator('#result'), '"pong":true', 'API call');
  step('API called with the user token');

  await page.getByRole('link', { name: 'User info' }).click();
  await expectText(page.locator('#result'), EMAIL, 'userinfo');
  step('userinfo');

  await page.getByRole('link', { name: 'Refresh the token' }).click();
  await expectText(page.locator('#message'), 'refresh token rotated: true', 'refresh');
  step('refreshed');

  await page.getByRole('link', { name: 'Log out' }).click();
  await expectText(page.locator('#message'), 'Logged out.', 'logout');
  step('logged out');

  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByLabel('Password').waitFor();
  step('the session is gone');
} finally {
  await browser.close();
}
