// A real browser (Debian's chromium, driven by playwright-core) uses the
// admin console: the first administrator signs in through the hosted login,
// creates an API with two scopes, a machine client and a grant, runs the
// test panel's curl snippet for a token, rotates the secret with a grace and
// sees both secrets, revokes the old one, sees the token in the activity
// chart and the actions in the audit trail with the person as actor; a
// person without permissions sees a 403 page. Run by
// test/interop/console_test.go.
//
//   BASE=http://127.0.0.1:8080 EMAIL=... PASSWORD=... NOBODY=... API=... SHOTS=DIR node console.mjs
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';

const { BASE, EMAIL, PASSWORD, NOBODY, API, SHOTS } = process.env;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const step = (s) => console.log('ok: ' + s);
const fail = (s) => { throw new Error(s); };
const shot = async (page, name) => { if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png` }); };
const expectText = async (locator, text, what) => {
  await locator.first().waitFor({ timeout: 10000 });
  const got = await locator.first().innerText();
  if (!got.includes(text)) fail(`${what}: want ${JSON.stringify(text)} in ${JSON.stringify(got)}`);
};

// signIn goes to the console, which sends the browser to the hosted login.
const signIn = async (page, email) => {
  await page.goto(BASE + '/console/applications');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
};

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const page = await ctx.newPage();
  await signIn(page, EMAIL);
  await page.getByRole('heading', { name: 'Applications', level: 1 }).waitFor();
  step('signed in through the hosted login');

  // An API with two scopes; first a bad identifier, refused beside its field.
  await page.getByRole('link', { name: 'APIs' }).click();
  await page.getByLabel('Identifier (the audience)').fill('has space');
  await page.getByRole('button', { name: 'Create API' }).click();
  await expectText(page.locator('.field-error'), 'must not contain white space', 'bad identifier');
  step('bad input refused beside the field');
  await page.getByLabel('Identifier (the audience)').fill(API);
  await page.getByLabel('Name', { exact: true }).fill('Inventory');
  await page.getByLabel('Scopes, one a line').fill('read:items read the items\nwrite:items change the items');
  await page.getByLabel('Token lifetime').fill('1h');
  await page.getByRole('button', { name: 'Create API' }).click();
  await expectText(page.getByRole('status'), 'created', 'API created');
  await expectText(page.locator('table'), 'write:items', 'the API page');
  await shot(page, 'console-api');
  step('API created with two scopes');

  // A machine client, its secret shown once, and a grant.
  await page.getByRole('link', { name: 'Applications' }).click();
  await page.getByLabel('Name', { exact: true }).fill('stock-sync');
  await page.getByRole('button', { name: 'Create application' }).click();
  const first = await page.getByLabel('Client secret').inputValue();
  if (first.length < 32) fail('no secret shown: ' + first);
  const clientId = await page.locator('#client-id').innerText();
  step('machine client created, secret shown');
  await page.getByLabel('API', { exact: true }).selectOption(API);
  await page.getByLabel('Scopes (space-separated)').fill('read:items write:items');
  await page.getByRole('button', { name: 'Grant', exact: true }).click();
  await expectText(page.getByRole('status'), 'Grant for', 'grant created');
  step('grant created');

  // The test panel's curl snippet gets a token.
  const curl = await page.locator('#snippet-curl').innerText();
  const out = execFileSync('bash', ['-c', curl], { env: { ...process.env, CLIENT_SECRET: first }, encoding: 'utf8' });
  if (!JSON.parse(out).access_token) fail('the curl snippet got no token: ' + out);
  step('curl snippet got a token');

  // Rotate with a grace: both secrets are listed.
  await page.getByLabel('Grace period').fill('2h');
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await expectText(page.getByRole('status'), 'Secret rotated', 'rotated');
  const second = await page.getByLabel('Client secret').inputValue();
  if (second === first) fail('the rotation showed the old secret');
  await page.reload(); // the new secret is not shown again
  if (await page.getByLabel('Client secret').count() !== 0) fail('the new secret is shown twice');
  if (await page.locator('tr.secret-row').count() !== 2) fail('want both secrets after the rotation');
  await expectText(page.locator('tr.secret-row').nth(1), 'active, expiring', 'the old secret expires');
  await shot(page, 'console-application');
  step('rotated with a grace: both secrets listed');

  // Revoke the old one.
  await page.locator('tr.secret-row').nth(1).getByRole('button', { name: /Revoke/ }).click();
  await expectText(page.getByRole('status'), 'revoked', 'revoked');
  if (await page.locator('tr.secret-row').count() !== 1) fail('the old secret is still listed');
  const again = execFileSync('bash', ['-c', curl], { env: { ...process.env, CLIENT_SECRET: first }, encoding: 'utf8' });
  if (JSON.parse(again).access_token) fail('the revoked secret still gets a token');
  step('old secret revoked');

  // The token in the activity chart (the hourly counts are written every 10 s).
  let counted = false;
  for (let i = 0; i < 40 && !counted; i++) {
    await page.goto(`${BASE}/console/activity?client=${encodeURIComponent(clientId)}`);
    counted = (await page.locator('#activity-rows').innerText()).includes(API);
    if (!counted) await page.waitForTimeout(500);
  }
  if (!counted) fail('the token is not in the activity');
  if (await page.locator('figure.issued svg rect.bar[height]:not([height="0"])').count() < 1) fail('no bar in the chart');
  await page.goto(`${BASE}/console/activity`);
  await shot(page, 'console-activity');
  step('token in the activity chart');

  // The actions in the audit trail, the person as actor.
  await page.getByRole('link', { name: 'Audit trail' }).click();
  await page.getByLabel('Event type').fill('secret.revoked');
  await page.getByRole('button', { name: 'Filter' }).click();
  const row = await page.locator('#audit-events tbody tr').first().innerText();
  if (!row.includes('secret.revoked') || !row.includes('usr_')) fail('audit: ' + row);
  await page.getByLabel('Event type').fill('');
  await page.getByRole('button', { name: 'Filter' }).click();
  const all = await page.locator('#audit-events').innerText();
  for (const a of ['api.created', 'client.created', 'grant.created', 'secret.rotated', 'secret.revoked']) {
    if (!all.includes(a)) fail('audit lacks ' + a);
  }
  await shot(page, 'console-audit');
  console.log('actor: ' + row.split('\t')[1]);
  if (!row.includes('(' + EMAIL + ')')) fail('the audit trail does not name the person: ' + row);
  step('actions in the audit trail with the person as actor');

  await page.getByRole('link', { name: 'Signing keys' }).click();
  await expectText(page.locator('main'), 'next', 'keys');
  await shot(page, 'console-keys');
  await page.getByRole('link', { name: 'Applications' }).click();
  await shot(page, 'console-applications');
  // Phone width: the page still works.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.getByRole('link', { name: 'stock-sync' }).click();
  await page.getByRole('heading', { name: 'stock-sync' }).waitFor();
  step('main pages');

  // A person without permissions: a 403 page, nothing offered.
  const other = await browser.newContext({ viewport: { width: 1100, height: 600 } });
  const p2 = await other.newPage();
  await signIn(p2, NOBODY);
  await p2.getByRole('heading', { name: 'Not allowed' }).waitFor();
  const resp = await p2.goto(BASE + '/console/apis');
  if (resp.status() !== 403) fail('no-permission GET status ' + resp.status());
  await expectText(p2.locator('main'), 'Nothing was changed', '403 page');
  await shot(p2, 'console-403');
  step('a person without permissions sees a 403 page');
} finally {
  await browser.close();
}
