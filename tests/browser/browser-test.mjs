// The package browser in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). tests/tests/web_browser.rs seeds a token-mode
// gateway and runs:
//
//   node browser-test.mjs --url http://127.0.0.1:PORT --screenshot OUT.png \
//     --user alice --password PASSWORD
//
// The gateway holds the public WIT package acme:greet (versions 0.9.0
// yanked, 1.0.0, 1.1.0-rc.1) and the private component secret:vault, which
// only the given user may pull. Prints one line per check and a closing
// "N passed, N failed" line; exits 1 if any check failed.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith('--')) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
for (const needed of ['url', 'screenshot', 'user', 'password']) {
  if (!args[needed]) {
    console.error(`missing --${needed}`);
    process.exit(2);
  }
}
const base = args.url.replace(/\/$/, '');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

let passed = 0;
let failed = 0;
async function check(name, body) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  try {
    await body(page, context);
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(error.stack || error).replace(/\n/g, '\n  ')}`);
  } finally {
    await context.close();
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

await check('search finds a published package', async (page) => {
  await page.goto(`${base}/`);
  await page.getByLabel('Search by name, description or interface').fill('greet');
  await Promise.all([page.waitForURL(/\/search\?q=greet/), page.keyboard.press('Enter')]);
  const result = page.locator('ul.package-list a.name', { hasText: 'acme:greet' });
  expect(await result.count() === 1, 'acme:greet is among the results');
  await Promise.all([page.waitForURL(/\/packages\/acme\/greet$/), result.click()]);
  expect((await page.locator('h1').innerText()) === 'acme:greet', 'the package page opens');
});

await check('the package page shows its versions, and a screenshot is saved', async (page) => {
  await page.goto(`${base}/packages/acme/greet`);
  const rows = page.locator('table.versions tbody tr');
  const versions = await rows.locator('td:first-child a').allInnerTexts();
  expect(JSON.stringify(versions) === JSON.stringify(['1.1.0-rc.1', '1.0.0', '0.9.0']),
    `versions newest first, got ${versions}`);
  expect(await rows.nth(2).locator('.badge.yanked').isVisible(), '0.9.0 is marked yanked');
  expect(await rows.nth(0).locator('.badge.pre').isVisible(), '1.1.0-rc.1 is marked pre-release');
  expect(await page.getByText('wkg get acme:greet@1.0.0').isVisible(), 'the install snippet');
  // The stylesheet applied: the latest badge has its own background.
  const badge = await page.locator('.badge.latest').first().evaluate(
    (el) => getComputedStyle(el).backgroundColor);
  expect(badge !== 'rgba(0, 0, 0, 0)', `styled badge, got ${badge}`);
  mkdirSync(dirname(args.screenshot), { recursive: true });
  await page.screenshot({ path: args.screenshot, fullPage: true });
  const dark = args.screenshot.replace(/\.png$/, '-dark.png');
  await page.emulateMedia({ colorScheme: 'dark' });
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background === 'rgb(15, 18, 23)', `dark theme background, got ${background}`);
  await page.screenshot({ path: dark, fullPage: true });
});

await check('the version page shows the WIT, highlighted, with a working outline', async (page) => {
  await page.goto(`${base}/packages/acme/greet`);
  await Promise.all([
    page.waitForURL(/\/packages\/acme\/greet\/1\.0\.0$/),
    page.locator('table.versions a', { hasText: /^1\.0\.0$/ }).click(),
  ]);
  const wit = page.locator('pre.wit');
  const text = await wit.innerText();
  expect(text.includes('interface greeter {'), `WIT text, got ${text}`);
  expect(text.includes('greet: func(who: name, opts: options) -> string;'), 'the function');
  const keyword = await wit.locator('.k', { hasText: 'interface' }).first().evaluate(
    (el) => getComputedStyle(el).color);
  const plain = await wit.evaluate((el) => getComputedStyle(el).color);
  expect(keyword !== plain, 'keywords are coloured');
  await page.locator('.outline a', { hasText: /^greet$/ }).click();
  expect(page.url().endsWith('#wit-greeter-greet'), `outline link, got ${page.url()}`);
  const targeted = await page.locator('#wit-greeter-greet').evaluate((el) => el.matches(':target'));
  expect(targeted, 'the definition is the target');
  await page.screenshot({ path: `${dirname(args.screenshot)}/version-page.png`, fullPage: true });
  await Promise.all([
    page.waitForURL(/\/packages\/acme\/types$/),
    page.locator('#deps-heading + ul a', { hasText: 'acme:types' }).click(),
  ]);
});

await check('the keyboard reaches the skip link first', async (page) => {
  await page.goto(`${base}/packages/acme/greet`);
  await page.keyboard.press('Tab');
  const focused = await page.evaluate(() => document.activeElement.textContent);
  expect(focused === 'Skip to main content', `first focus: ${focused}`);
});

await check('a private package appears only after signing in', async (page) => {
  const hidden = await page.goto(`${base}/packages/secret/vault`);
  expect(hidden.status() === 404, `anonymous: ${hidden.status()}`);
  await page.goto(`${base}/`);
  expect(!(await page.content()).includes('secret:vault'), 'not listed anonymously');
  await Promise.all([page.waitForURL(/\/login$/), page.getByRole('link', { name: 'Sign in' }).first().click()]);
  await page.getByLabel('User name').fill(args.user);
  await page.getByLabel('Password or access token').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  expect(await page.getByRole('alert').isVisible(), 'a wrong password shows an error');
  await page.getByLabel('Password or access token').fill(args.password);
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
  expect(await page.getByText(`Signed in as ${args.user}`).isVisible(), 'signed in');
  const listed = page.locator('a.name', { hasText: 'secret:vault' });
  expect(await listed.count() === 1, 'listed after sign-in');
  await Promise.all([page.waitForURL(/\/packages\/secret\/vault$/), listed.click()]);
  expect((await page.locator('h1').innerText()) === 'secret:vault', 'the private package page');
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Sign out' }).click()]);
  const again = await page.goto(`${base}/packages/secret/vault`);
  expect(again.status() === 404, `signed out: ${again.status()}`);
});

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
