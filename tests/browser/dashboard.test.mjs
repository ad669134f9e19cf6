// Browser test of the officials' dashboards in headless Debian Chromium (playwright-core).
//
// A county official (320812 清江浦区) logs in, sees the overview of the county, opens a town's trend,
// and is refused when opening another county's URL; the admin page and the channel and comment views
// are visited too; the admin sees the county's cards compared with its city (vs_parent; the official does
// not: the city is outside their scope). Screenshots go to $MINYI_ARTIFACTS (default
// <build>/tests/browser-artifacts), at 1920x1080 and at a 1366x768 laptop size.
//
// Usage: node dashboard.test.mjs <path to minyi> [artifacts dir]. Exit 0 pass, 1 fail
// (no Chromium or no playwright-core installed).
import fs from 'node:fs';
import path from 'node:path';

import { checks, launch, runMinyi, setUp, startServer } from './harness.mjs';

const { chromium, minyi, artifacts, work } = await setUp('dashboard.test.mjs',
  (bin) => path.join(path.dirname(path.dirname(bin)), 'tests', 'browser-artifacts'));
const global = ['-D', `store.sqlite.path=${work}/minyi.db`, '-D', 'store.sqlite.synchronous=NORMAL',
  '-D', `collector.secret_file=${work}/secret`, '-D', 'log.level=warn'];
const { check, fail, finish } = checks();
const run = (args, input) => runMinyi(minyi, global, args, input);

// The summary cards' "significantly above/below the parent" line against /api/v1/indices' summary
// (vs_parent): the map's wording, present exactly where the JSON has vs_parent. Returns the differences and
// how many cards carry a mark.
async function cardMarksAgainstApi(page, area, parentName) {
  const api = await page.evaluate(async (q) => (await fetch('/api/v1/indices?' + q)).json(),
    new URLSearchParams({ area }).toString());
  const cards = await page.$$eval('.kpi', (n) => n.map((x) => {
    const line = x.querySelector('.kpi-vs-parent');
    return line ? line.textContent : null;
  }));
  const diffs = [];
  let withMark = 0;
  api.indices.forEach((ix, i) => {
    const vs = api.summary[ix.id] && api.summary[ix.id].vs_parent;
    if (!vs) {
      if (cards[i] !== null) diffs.push(`${ix.id}: card says "${cards[i]}" without vs_parent in the JSON`);
      return;
    }
    const want = vs.significant === 'above' ? `▲ 显著高于${parentName}` : vs.significant === 'below'
      ? `▼ 显著低于${parentName}` : `无显著差异（与${parentName}相比）`;
    if (cards[i] !== want) diffs.push(`${ix.id}: card "${cards[i]}", JSON ${vs.significant} (z ${vs.z})`);
    withMark += 1;
  });
  return { diffs, withMark, summary: api.summary };
}

let server;
let browser;
try {
  run(['demo', 'seed', '--responses', '40000']);
  // The index tables the page shows, and the same rows as the aggregator's own CSV to compare with.
  const batchCsv = path.join(work, 'batch.csv');
  run(['aggregate', '--csv', batchCsv]);
  const [head, ...lines] = fs.readFileSync(batchCsv, 'utf8').trim().split('\n').map((l) => l.split(','));
  const batch = new Map(lines.map((f) => {
    const row = Object.fromEntries(head.map((h, i) => [h, f[i]]));
    return [`${row.period}|${row.area}|${row.index}`, row];
  }));
  // A town without respondents (n = 0, issue 14: only its synthetic estimate) reads 无受访者.
  const shownAs = (row) => (row.n === '0' ? '无受访者' : row.low_n === 'true' ? '不予公布' : `${(Number(row.estimate) * 100).toFixed(1)}%`);
  const password = 'county-official-pass';
  run(['user', 'add', 'county1', '--role', 'official', '--area', '320812', '--password-stdin'], password + '\n');
  run(['user', 'add', 'admin1', '--role', 'admin', '--password-stdin'], 'administrator-pass\n');

  let base;
  ({ server, base } = await startServer(minyi, global, work));
  browser = await launch(chromium, work, { viewport: { width: 1920, height: 1080 } });
  const context = browser;
  const page = await context.newPage();
  const consoleErrors = [];
  // Refused requests (401/403) log "Failed to load resource"; those are expected. Script errors are not.
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // Not logged in: the dashboard sends us to the login page.
  await page.goto(`${base}/dashboard`);
  await page.waitForURL(/\/login/);
  check(page.url().includes('/login'), 'an anonymous visit to /dashboard ends on the login page');

  // A wrong password is refused with a message.
  await page.fill('#username', 'county1');
  await page.fill('#password', 'not the password');
  await page.click('#login-submit');
  await page.waitForSelector('#login-error:not([hidden])');
  check((await page.textContent('#login-error')).includes('用户名或密码错误'), 'a wrong password is refused');
  await page.screenshot({ path: path.join(artifacts, '01-login-refused.png') });

  // Log in as the county official: the overview of the county.
  await page.fill('#password', password);
  await page.click('#login-submit');
  await page.waitForSelector('#ranking tbody tr');
  check((await page.textContent('#area-title')).includes('清江浦区'), 'the overview shows the official\'s county');
  const kpis = await page.$$eval('.kpi', (n) => n.map((x) => x.textContent));
  check(kpis.length === 2 && kpis[0].includes('群众安全感') && kpis[1].includes('网格工作满意率'), 'both indices are shown');
  check(kpis[0].includes('置信区间') || kpis[0].includes('样本不足'), 'the security card shows its CI (or a low-n notice)');
  const rows = await page.$$eval('#ranking tbody tr', (n) => n.length);
  check(rows >= 5, `the ranked table lists the county's towns (${rows})`);
  // The figures printed are the aggregator's shares (as percentages), not some other field: the cards
  // of the county and the first index's column of every town (issue 17).
  const period = (await page.textContent('.kpi .kpi-title')).split(' ')[0];
  const cardValues = await page.$$eval('.kpi .kpi-value', (n) => n.map((x) => x.textContent));
  const cardsWant = ['security', 'grid'].map((ix) => batch.get(`${period}|320812|${ix}`));
  check(cardsWant.every(Boolean) && cardValues.join(' ') === cardsWant.map(shownAs).join(' '),
    `the cards print the county's ${period} figures (${cardValues.join(' ')}; aggregated: ${cardsWant.filter(Boolean).map(shownAs).join(' ')})`);
  // The county official may not see the city (3208): no comparison with it, in the JSON nor on the cards.
  const official = await cardMarksAgainstApi(page, '320812', '淮安市');
  check(official.withMark === 0 && official.diffs.length === 0 &&
    Object.values(official.summary).every((v) => !v || v.vs_parent === undefined),
  `the official's cards and summary have no comparison with the city outside their scope (${official.diffs.join('; ') || 'none'})`);
  const printed = await page.$$eval('#ranking tbody tr', (trs) => trs.map((tr) => [tr.dataset.code,
    tr.querySelectorAll('td')[1].firstChild.textContent]));
  const wrong = printed.filter(([code, text]) => !batch.has(`${period}|${code}|security`) ||
    shownAs(batch.get(`${period}|${code}|security`)) !== text);
  check(printed.length === rows && wrong.length === 0,
    `every town's printed 群众安全感 is its aggregated share (${wrong.length ? `differ: ${JSON.stringify(wrong)}` : printed.length + ' towns'})`);
  check(await page.$('#updated') !== null && (await page.textContent('#updated')).includes('数据计算于'), 'the page says when the data was computed');
  check(await page.waitForSelector('#trend-chart canvas', { timeout: 5000 }).then(() => true, () => false), 'the overview trend chart is drawn (ECharts)');
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(artifacts, '02-overview-county-1920.png'), fullPage: true });

  // Sort by clicking a header: the first sortable column toggles.
  await page.click('#ranking thead button[data-key="security:estimate"]');
  const sortState = await page.getAttribute('#ranking thead th:nth-child(3)', 'aria-sort');
  check(sortState === 'ascending' || sortState === 'descending', `the table sorts by clicking the header (${sortState})`);

  // Open a town's trend by clicking its row.
  const town = await page.$eval('#ranking tbody tr', (tr) => ({ code: tr.dataset.code, name: tr.querySelector('th a').textContent }));
  await page.click(`#ranking tbody tr[data-code="${town.code}"] td:first-child`);
  await page.waitForSelector('#trend-chart');
  await page.waitForURL(new RegExp(`#/trend/${town.code}`));
  // The title follows the URL once the town's figures have been fetched: wait for it (bounded).
  check(await page.waitForFunction((name) => (document.querySelector('#area-title')?.textContent ?? '').includes(name),
    town.name, { timeout: 10000 }).then(() => true, () => false), `a click on ${town.name} opens its trend`);
  check(await page.waitForSelector('#trend-chart canvas', { timeout: 5000 }).then(() => true, () => false), 'the trend chart is drawn');
  check((await page.getAttribute('#trend-chart', 'aria-label') || '').includes('置信区间'), 'the chart has a text alternative');
  // Issue 14: where the town's direct figure is suppressed for the official or wide, the chart also draws its
  // model-based figure (模型估计, a dashed line with its band), named in the text alternative.
  const needsModel = [...batch.values()].some((r) => r.area === town.code &&
    (r.model_method === 'eblup' || r.model_method === 'synthetic') &&
    (r.low_n === 'true' || r.ci_low === '' || Number(r.ci_high) - Number(r.ci_low) > 0.10));
  const modelNamed = (await page.getAttribute('#trend-chart', 'aria-label') || '').includes('· 模型估计：');
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(artifacts, '03-trend-town-model.png'), fullPage: true });
  check(modelNamed === needsModel, `the trend shows ${town.name}'s model-based figure where its direct one falls short (${needsModel ? 'expected' : 'not expected'}, ${modelNamed ? 'shown' : 'not shown'})`);
  // Compare with another town of the county.
  const options = await page.$$eval('#compare-add option', (o) => o.map((x) => x.value).filter(Boolean));
  if (options.length) {
    await page.selectOption('#compare-add', options[0]);
    await page.waitForURL(/compare=/);
    await page.waitForSelector('.chip-x');
    check(true, 'another town can be added for comparison');
  }
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(artifacts, '03-trend-town-compare.png'), fullPage: true });

  // Channels and comments of the county.
  await page.goto(`${base}/dashboard#/channels/320812`);
  await page.waitForSelector('#channels-table tbody tr');
  check((await page.$$('#channels-table tbody tr')).length >= 5, 'channel counts per year are listed');
  check(await page.waitForSelector('#rates', { timeout: 5000 }).then(() => true, () => false), 'the response-rate section is shown');
  check(await page.waitForSelector('#quality #imports-table', { timeout: 5000 }).then(() => true, () => false),
    'the data-quality section lists unparsed SMS, rejected submissions and import runs');
  check(/^\d[\d,]*$/.test((await page.textContent('#quality-rejected')).trim()), 'rejected submissions are counted');
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(artifacts, '04-channels.png'), fullPage: true });
  await page.goto(`${base}/dashboard#/comments/320812`);
  await page.waitForSelector('#comments-list li');
  const commentText = await page.textContent('#comments-list');
  check(!/1[3-9]\d{9}/.test(commentText), 'no phone number appears in the comments');
  await page.waitForTimeout(500);
  await page.screenshot({ path: path.join(artifacts, '05-comments.png'), fullPage: true });

  // Another county's URL (淮安区 320803), a town in it, and the province: refused.
  for (const [code, what] of [['320803', 'another county'], ['320803001', 'a town in another county'], ['32', 'the province']]) {
    await page.goto(`${base}/dashboard#/overview/${code}`);
    await page.waitForSelector('.error-panel');
    const status = await page.getAttribute('.error-panel', 'data-status');
    check(status === '403' && (await page.textContent('.error-panel')).includes('无权访问'), `${what} (${code}) is refused with 403`);
  }
  await page.screenshot({ path: path.join(artifacts, '06-refused-other-county.png') });
  const direct = await page.evaluate(async () => (await fetch('/api/v1/indices?area=320803')).status);
  check(direct === 403, 'the API itself answers 403 for another county');

  // Laptop size.
  await page.setViewportSize({ width: 1366, height: 768 });
  await page.goto(`${base}/dashboard#/overview/320812`);
  await page.waitForSelector('#ranking tbody tr');
  await page.waitForTimeout(600);
  await page.screenshot({ path: path.join(artifacts, '07-overview-laptop-1366.png'), fullPage: true });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, 'no horizontal scrolling at 1366 px');

  // Log out: the session no longer works.
  await page.click('#logout');
  await page.waitForURL(/\/login/);
  const afterLogout = await page.evaluate(async () => (await fetch('/api/v1/indices?area=320812')).status);
  check(afterLogout === 401, 'after logout the API answers 401');

  // The admin page.
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.fill('#username', 'admin1');
  await page.fill('#password', 'administrator-pass');
  await page.click('#login-submit');
  await page.waitForSelector('#ranking tbody tr');
  // The admin sees the county against its city: the cards carry the map's mark, the server's vs_parent.
  await page.goto(`${base}/dashboard#/overview/320812`);
  await page.waitForFunction(() => (document.querySelector('#area-title')?.textContent ?? '').includes('清江浦区'),
    null, { timeout: 10000 });
  await page.waitForSelector('.kpi');
  const admin = await cardMarksAgainstApi(page, '320812', '淮安市');
  check(admin.withMark === 2 && admin.diffs.length === 0,
    `the admin's cards of 清江浦区 say how it compares with 淮安市, as vs_parent (${admin.diffs.join('; ') || `${admin.withMark} cards`})`);
  await page.screenshot({ path: path.join(artifacts, '09-overview-county-admin-vs-parent.png') });
  await page.goto(`${base}/admin`);
  await page.waitForSelector('#users tbody tr');
  const users = await page.$$eval('#users tbody th', (n) => n.map((x) => x.textContent));
  check(users.includes('county1') && users.includes('admin1'), 'the admin page lists the accounts');
  check((await page.textContent('#audit')).includes('查看其他地区') || (await page.textContent('#audit')).includes('登录失败'), 'the audit log is shown');
  await page.screenshot({ path: path.join(artifacts, '08-admin.png'), fullPage: true });

  check(consoleErrors.length === 0,
    `no script errors in the pages (${consoleErrors.join(' | ')})`);
} catch (e) {
  fail(e);
} finally {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(`screenshots in ${artifacts}`);
finish();
