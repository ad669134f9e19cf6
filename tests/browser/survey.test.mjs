// Browser test of the resident survey page in headless Debian Chromium (playwright-core) at a phone
// viewport (390x844, touch): pick the county (the optional script submits it), pick the town, leave a
// required question out (Chinese message, choices kept), answer, submit, see the thank-you page; then
// an invitation link with its town fixed, used once. Checks the stored responses with `minyi db
// status`. Screenshots go to the artifacts directory (default <build>/test-artifacts), never to git.
//
// Usage: node survey.test.mjs <path to minyi> [artifacts dir]. Exit 0 pass, 1 fail
// (no Chromium or no playwright-core installed).
import fs from 'node:fs';
import path from 'node:path';

import { checks, launch, runMinyi, setUp, startServer } from './harness.mjs';

const { chromium, minyi, artifacts, work } = await setUp('survey.test.mjs',
  (bin) => path.join(path.dirname(path.dirname(bin)), 'test-artifacts'));
const global = ['-D', `store.sqlite.path=${work}/minyi.db`, '-D', `collector.secret_file=${work}/secret`,
  '-D', 'log.level=warn', '-D', 'http.public_url=http://127.0.0.1'];
const { check, fail, finish } = checks();
const run = (args) => runMinyi(minyi, global, args);
// Stored web responses, from `minyi db status`.
function webResponses() {
  let total = 0;
  for (const line of run(['db', 'status']).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4 && f[2] === 'web') total += Number(f[3]);
  }
  return total;
}

let server;
let browser;
try {
  run(['invite', 'create', '--survey', 'jiangsu-safety', '--town', '320812007', '--count', '1', '--out', `${work}/tokens.csv`]);
  const token = fs.readFileSync(`${work}/tokens.csv`, 'utf8').split('\n')[1].split(',')[0];

  let base;
  ({ server, base } = await startServer(minyi, global, work));
  browser = await launch(chromium, work, {
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  let page = browser.pages()[0] || await browser.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) consoleErrors.push(m.text()); });

  await page.goto(`${base}/s/jiangsu-safety`);
  check(await page.locator('h1').innerText() === '江苏省群众安全感和网格工作满意度调查', 'survey title shown');
  check(await page.getByText('个人信息保护说明').isVisible(), 'PIPL notice shown');
  const fontSize = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  check(fontSize >= 20, `large type (body ${fontSize}px)`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, 'no horizontal scrolling on a phone');
  await page.screenshot({ path: path.join(artifacts, 'survey-phone-top.png') });

  // Choosing the county submits the form (optional script) and the town list appears.
  await Promise.all([page.waitForNavigation(), page.selectOption('#county', '320812')]);
  check(await page.locator('#town option').count() > 5, 'the county\'s towns are listed');
  await page.selectOption('#town', '320812007');
  await page.getByText('很安全', { exact: true }).tap();
  await page.getByText('60岁及以上', { exact: true }).tap();
  await page.locator('textarea[name=q_comment]').fill('晚上路灯太少，希望多装几盏。');
  // Submit with the grid question left out.
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交问卷' }).tap()]);
  check(await page.getByText('这一题必须回答，请选择一项。').isVisible(), 'a required question left out: Chinese message');
  check(await page.locator('input[name=q_security][value="1"]').isChecked(), 'earlier choices kept');
  check(await page.locator('#town').inputValue() === '320812007', 'town kept');
  await page.locator('#q-grid').screenshot({ path: path.join(artifacts, 'survey-phone-error.png') });
  await page.screenshot({ path: path.join(artifacts, 'survey-phone-error-full.png'), fullPage: true });
  check(webResponses() === 0, 'nothing stored for an invalid submission');

  await page.getByText('比较满意', { exact: true }).tap();
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交问卷' }).tap()]);
  check(await page.getByText('提交成功，感谢您的参与！').isVisible(), 'thank-you page');
  await page.screenshot({ path: path.join(artifacts, 'survey-phone-thanks.png') });
  check(webResponses() === 1, 'one response stored');

  // The back button: Chromium will not silently re-post a no-store form page (ERR_CACHE_MISS, the
  // "confirm resubmission" case); when it does show the form, submitting again stores nothing new.
  try {
    await page.goBack();
    if (await page.getByRole('button', { name: '提交问卷' }).count() > 0) {
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交问卷' }).tap()]);
    }
  } catch (e) {
    check(String(e).includes('ERR_CACHE_MISS'), 'back button: the browser refuses to re-post silently');
  }
  check(webResponses() === 1, 'back button and submit again: still one response');
  await page.close();
  page = await browser.newPage();  // same profile and cookies: the same phone
  await page.goto(`${base}/s/jiangsu-safety`);
  check(await page.getByText('您已提交过，感谢参与').isVisible(), 're-opened link: already answered');

  // An invitation link: the town is fixed by the invitation.
  await page.goto(`${base}/s/jiangsu-safety?t=${token}`);
  check(await page.getByText('长西街道').isVisible(), 'invitation shows its town');
  check(await page.locator('#county').count() === 0, 'no town choice for a town-bound invitation');
  await page.getByText('安全', { exact: true }).tap();
  await page.getByText('满意', { exact: true }).tap();
  await page.screenshot({ path: path.join(artifacts, 'survey-phone-invitation.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: '提交问卷' }).tap()]);
  check(await page.getByText('提交成功，感谢您的参与！').isVisible(), 'invitation submitted');
  await page.goto(`${base}/s/jiangsu-safety?t=${token}`);
  check(await page.getByText('您已提交过，感谢参与').isVisible(), 'used invitation: already answered');
  check(webResponses() === 2, 'two responses stored in all');
  check(consoleErrors.length === 0, `no Content-Security-Policy violations ${consoleErrors.join('; ')}`);
} catch (e) {
  fail(e);
} finally {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 300));
  fs.rmSync(work, { recursive: true, force: true });
}
finish();
