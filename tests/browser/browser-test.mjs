// The package browser in real headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core). tests/tests/external/browser.rs seeds a token-mode
// gateway and runs:
//
//   node browser-test.mjs --url http://127.0.0.1:PORT --screenshot OUT.png \
//     --user alice --password PASSWORD
//
// The gateway holds the public WIT package acme:greet (versions 0.9.0
// yanked, 1.0.0, 1.1.0-rc.1) and the private component secret:vault, which
// only the given user may pull. Beyond the features, it checks
// accessibility: WCAG AA text contrast on every page kind in the light and
// dark themes (the checker itself is tested on a page of known colours),
// and keyboard use (Tab reaches the skip link, both searches and every
// package link, each with a visible focus indicator; Enter follows a link).
// Prints one line per check and a closing "N passed, N failed" line; exits
// 1 if any check failed.

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

// WCAG 2 contrast of every visible piece of text on the page: its colour
// against its effective background (the first opaque background up the
// ancestor chain, with translucent ones composited over it). Runs in the
// page; returns one line per element below the AA minimum (4.5:1, or 3:1
// for large text: 24px, or 18.66px bold) and a count of what was checked.
function contrastReport() {
  const parse = (value) => {
    const m = /^rgba?\(([^)]*)\)$/.exec(value.trim());
    if (!m) throw new Error(`unparsed colour ${value}`);
    const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const luminance = ({ r, g, b }) => {
    const channel = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p);
    return (hi + 0.05) / (lo + 0.05);
  };
  const show = ({ r, g, b }) => `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
  const path = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.documentElement && parts.length < 5; e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) part += `#${e.id}`;
      for (const c of e.classList) part += `.${c}`;
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  const canvas = dark ? { r: 18, g: 18, b: 18, a: 1 } : { r: 255, g: 255, b: 255, a: 1 };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.backgroundImage !== 'none') {
        throw new Error(`${path(e)} has a background image: the check cannot read it`);
      }
      const color = parse(style.backgroundColor);
      if (color.a > 0) layers.push(color);
      if (color.a >= 1) break;
    }
    return layers.reduceRight((below, layer) => over(layer, below), canvas);
  };
  // Hidden on purpose: clipped to nothing (visually-hidden) or outside the page (the skip link).
  const hidden = (el, text) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return true;
    for (let e = el; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      const box = e.getBoundingClientRect();
      if (style.overflow !== 'visible' && (box.width <= 1 || box.height <= 1)) return true;
    }
    const range = document.createRange();
    range.selectNodeContents(text);
    const box = range.getBoundingClientRect();
    return box.width < 1 || box.height < 1
      || box.right + scrollX <= 0 || box.bottom + scrollY <= 0;
  };
  const problems = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || seen.has(el) || hidden(el, node)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    const back = background(el);
    const fore = over(parse(style.color), back);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    const got = ratio(fore, back);
    if (got < needed) {
      const text = node.textContent.trim().slice(0, 40);
      problems.push(`${path(el)} "${text}": ${show(fore)} on ${show(back)} is ${got.toFixed(2)}:1, needs ${needed}:1`);
    }
  }
  return { checked: seen.size, problems };
}

// The contrast problems of the page as loaded, each prefixed with the page
// and colour scheme; fails if too little text was found to mean anything.
async function contrastProblems(page, scheme, what) {
  const { checked, problems } = await page.evaluate(contrastReport);
  expect(checked >= 5, `${what} (${scheme}): only ${checked} text elements found`);
  return problems.map((problem) => `${what} (${scheme}): ${problem}`);
}

// The element that has keyboard focus, described, with its focus indicator.
function focusedElement() {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    tag: el.tagName.toLowerCase(),
    id: el.id,
    className: el.className,
    text: (el.textContent || '').trim(),
    label: el.labels && el.labels[0] ? el.labels[0].textContent.trim() : '',
    href: el.getAttribute('href'),
    indicator: outline || style.boxShadow !== 'none',
    outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`,
  };
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

await check('the contrast check itself finds low contrast', async (page) => {
  // #777 on white is 4.48:1 (fails), #767676 4.54:1 (passes); #949494 is
  // 3.03:1, enough only for large text; a half-black veil over white makes
  // #333 (12.6:1 on white) fail at 3.2:1.
  await page.setContent(`<!DOCTYPE html><html lang="en"><body style="background:#fff;margin:0">
    <p id="low" style="color:#777">low contrast</p>
    <p id="ok" style="color:#767676">just enough</p>
    <p id="big" style="color:#949494;font-size:24px">large text</p>
    <p id="small" style="color:#949494;font-size:18px;font-weight:700">bold but small</p>
    <div style="background:rgba(0,0,0,0.5)"><p id="veil" style="color:#333">on a veil</p></div>
    <p style="position:absolute;top:-5rem">off the page</p>
    <span style="position:absolute;width:1px;height:1px;overflow:hidden;color:#fff">hidden</span>
  </body></html>`);
  const { checked, problems } = await page.evaluate(contrastReport);
  expect(checked === 5, `five visible text elements, got ${checked}: ${problems}`);
  const flagged = problems.map((p) => /#(\w+)/.exec(p)[1]).sort();
  expect(JSON.stringify(flagged) === JSON.stringify(['low', 'small', 'veil']),
    `flagged ${flagged}:\n${problems.join('\n')}`);
  expect(problems.find((p) => p.includes('p#low')).includes('rgb(119, 119, 119) on rgb(255, 255, 255) is 4.48:1'),
    `the report names colours and ratio: ${problems}`);
});

await check('text has WCAG AA contrast in the light and dark themes', async (page) => {
  const pages = [
    ['home', '/'],
    ['search', '/search?q=greet'],
    ['package', '/packages/acme/greet'],
    ['component package', '/packages/acme/hello'],
    ['version', '/packages/acme/greet/1.0.0#wit-greeter-greet'],
    ['sign-in', '/login'],
  ];
  const problems = [];
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const [what, path] of pages) {
      await page.goto(`${base}${path}`);
      if (path.includes('#')) {
        // The highlighted definition is part of what is checked.
        expect(await page.locator(':target').count() === 1, `${path} has a target`);
      }
      problems.push(...await contrastProblems(page, scheme, what));
    }
    // A sign-in error.
    await page.goto(`${base}/login`);
    await page.getByLabel('User name').fill(args.user);
    await page.getByLabel('Password or access token').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    problems.push(...await contrastProblems(page, scheme, 'sign-in error'));
  }
  // Signed in: the header names the user and has a sign-out button.
  await page.getByLabel('Password or access token').fill(args.password);
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Sign in' }).click()]);
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(`${base}/packages/secret/vault`);
    expect(await page.getByText(`Signed in as ${args.user}`).isVisible(), 'signed in');
    problems.push(...await contrastProblems(page, scheme, 'signed-in package'));
  }
  expect(problems.length === 0,
    `${problems.length} text elements lack contrast:\n  ${problems.join('\n  ')}`);
});

await check('the keyboard reaches the search and every package link, with visible focus', async (page) => {
  await page.goto(`${base}/`);
  const links = await page.locator('ul.package-list a.name').allInnerTexts();
  expect(links.length >= 3, `package links on the home page: ${links}`);
  const reached = [];
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(focusedElement);
    if (!focused || (reached.length > 0 && focused.text === reached[0].text && focused.tag === reached[0].tag)) break;
    reached.push(focused);
  }
  expect(reached[0] && reached[0].text === 'Skip to main content', `first focus: ${JSON.stringify(reached[0])}`);
  const names = reached.map((f) => f.label || f.text);
  for (const wanted of ['Search packages', 'Search by name, description or interface', ...links]) {
    expect(names.includes(wanted), `Tab reaches ${wanted}; reached: ${names.join(' | ')}`);
  }
  const invisible = reached.filter((f) => !f.indicator);
  expect(invisible.length === 0,
    `focus without a visible indicator: ${invisible.map((f) => `${f.tag} "${f.label || f.text}" (${f.outline})`).join(', ')}`);
  // The skip link moves focus to the main content.
  await page.goto(`${base}/`);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  expect(await page.evaluate(() => document.activeElement.id) === 'main', 'the skip link focuses <main>');
});

await check('Enter on a focused package link opens the package page', async (page) => {
  await page.goto(`${base}/`);
  for (let i = 0; i < 80; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(focusedElement);
    if (focused && focused.tag === 'a' && focused.text === 'acme:greet') break;
  }
  const focused = await page.evaluate(focusedElement);
  expect(focused && focused.text === 'acme:greet', `focused ${JSON.stringify(focused)}`);
  await Promise.all([page.waitForURL(/\/packages\/acme\/greet$/), page.keyboard.press('Enter')]);
  expect((await page.locator('h1').innerText()) === 'acme:greet', 'the package page opens');
  // And on to a version, by keyboard alone.
  await page.locator('table.versions a', { hasText: /^1\.0\.0$/ }).focus();
  await Promise.all([page.waitForURL(/\/packages\/acme\/greet\/1\.0\.0$/), page.keyboard.press('Enter')]);
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
  await Promise.all([page.waitForURL(`${base}/`), page.getByRole('button', { name: 'Sign out', exact: true }).click()]);
  const again = await page.goto(`${base}/packages/secret/vault`);
  expect(again.status() === 404, `signed out: ${again.status()}`);
});

await browser.close();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
