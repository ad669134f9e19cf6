// Browser test of the export upload page (/import/wechat) in headless Debian Chromium (playwright-core).
//
// A grid worker of 320812004 is sent to the login page and back, uploads a 问卷星 CSV (the questionnaire
// report: rows, stored, the rejected row with its number), then a questionnaire whose rejected cell
// holds markup (shown as text, never as elements), then a chat export (the chat report), and sees
// that an area upload needs a map naming the town column and the error for another town. Screenshots
// go to the artifacts directory.
//
// Usage: node upload.test.mjs <path to minyi> [artifacts dir]. Exit 0 pass, 1 fail.
import fs from 'node:fs';
import path from 'node:path';

import { checks, launch, runMinyi, setUp, startServer } from './harness.mjs';

const { chromium, minyi, artifacts, work } = await setUp('upload.test.mjs',
  (bin) => path.join(path.dirname(path.dirname(bin)), 'tests', 'browser-artifacts'));
const source = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
fs.mkdirSync(path.join(work, 'surveys'));
fs.copyFileSync(path.join(source, 'conf/surveys/jiangsu-safety.json'), path.join(work, 'surveys/jiangsu-safety.json'));
fs.copyFileSync(path.join(source, 'tests/fixtures/questionnaire/survey.json'), path.join(work, 'surveys/quest-test.json'));
const global = ['-D', `store.sqlite.path=${work}/minyi.db`, '-D', 'store.sqlite.synchronous=NORMAL',
  '-D', `collector.secret_file=${work}/secret`, '-D', 'log.level=warn', '-D', `paths.surveys=${work}/surveys`,
  '-D', 'aggregator.interval_ms=0'];
const { check, fail, finish } = checks();
const run = (args, input) => runMinyi(minyi, global, args, input);

let server;
let browser;
try {
  run(['user', 'add', 'grid4', '--role', 'grid_worker', '--area', '320812004', '--password-stdin'], 'grid-worker-pass\n');
  let base;
  ({ server, base } = await startServer(minyi, global, work));
  browser = await launch(chromium, work, { viewport: { width: 1366, height: 900 } });
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  await page.goto(`${base}/import/wechat`);
  await page.waitForURL(/\/login/);
  await page.fill('#username', 'grid4');
  await page.fill('#password', 'grid-worker-pass');
  await page.click('#login-submit');
  await page.waitForURL(/\/import\/wechat/);
  await page.waitForFunction(() => document.getElementById('town').value !== '');
  check(await page.inputValue('#town') === '320812004', 'the grid worker\'s town is filled in');
  check((await page.textContent('h1')).includes('问卷结果'), 'the page says it takes questionnaire exports too');

  // A 问卷星 CSV: the questionnaire report.
  await page.fill('#period', '2026');
  await page.fill('#survey', 'quest-test');
  await page.setInputFiles('#file', path.join(source, 'tests/fixtures/questionnaire/wjx_text.csv'));
  await page.click('#wechat-submit');
  await page.waitForSelector('#wechat-report:not([hidden])');
  const summary = await page.textContent('#wechat-summary');
  check(summary.includes('问卷星') && summary.includes('读取行数6'), `the questionnaire report is shown (${summary})`);
  check(summary.includes('5 / 0 / 0'), 'stored / revised / duplicates');
  check((await page.textContent('#wechat-issues-title')) === '未采用的行', 'the list is of rows');
  const issues = await page.$$eval('#wechat-issues li', (n) => n.map((x) => x.textContent));
  check(issues.some((x) => x.startsWith('第 5 行') && x.includes('很好')), `the rejected row has its number and reason (${issues.join(' | ')})`);
  await page.screenshot({ path: path.join(artifacts, 'upload-01-questionnaire.png'), fullPage: true });

  // Markup in a cell comes back in the reason: it stays text.
  const hostile = path.join(work, 'hostile.csv');
  fs.writeFileSync(hostile, '序号,提交答卷时间,所用时间,1、总体来说，您觉得您所在的乡镇（街道）安全吗？\n'
    + '1,2026-06-16 08:00:00,10秒,<img src=x id=injected onerror="window.injected=1">\n'
    + '2,2026-06-16 08:01:00,10秒,很安全\n');
  await page.setInputFiles('#file', hostile);
  await page.click('#wechat-submit');
  await page.waitForFunction(() => [...document.querySelectorAll('#wechat-issues li')].some((li) => li.textContent.includes('<img')));
  check(await page.$('#injected') === null && await page.evaluate(() => window.injected === undefined),
    'markup in the report is shown as text, never as elements');

  // A chat export: the chat report.
  await page.fill('#period', '2024');
  await page.fill('#survey', 'jiangsu-safety');
  await page.fill('#grid-workers', 'wxid_grid01');
  await page.setInputFiles('#file', path.join(source, 'tests/fixtures/wechat/wechatmsg.csv'));
  await page.click('#wechat-submit');
  await page.waitForFunction(() => document.getElementById('wechat-summary').textContent.includes('读取消息'));
  check((await page.textContent('#wechat-summary')).includes('调查提问1'), 'the chat report is shown');
  check((await page.textContent('#wechat-issues-title')) === '未采用的消息', 'the list is of messages');
  await page.screenshot({ path: path.join(artifacts, 'upload-02-chat.png'), fullPage: true });

  // A county-wide questionnaire (area instead of town) needs a map naming the town column: none
  // here, and the page says so.
  await page.fill('#area', '320812');
  await page.setInputFiles('#file', path.join(source, 'tests/fixtures/questionnaire/wjx_text.csv'));
  await page.click('#wechat-submit');
  await page.waitForSelector('#wechat-error:not([hidden])');
  check((await page.textContent('#wechat-error')).includes('town_question'), 'an area upload without a town column is explained');
  await page.fill('#area', '');
  await page.setInputFiles('#file', path.join(source, 'tests/fixtures/wechat/wechatmsg.csv'));

  // Another town: refused with the reason.
  await page.fill('#town', '320812001');
  await page.click('#wechat-submit');
  await page.waitForSelector('#wechat-error:not([hidden])');
  check((await page.textContent('#wechat-error')).includes('只能导入本人负责的乡镇'), 'another town is refused');

  check(consoleErrors.length === 0, `no script errors in the page (${consoleErrors.join(' | ')})`);
} catch (e) {
  fail(e);
} finally {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`screenshots in ${artifacts}`);
finish();
