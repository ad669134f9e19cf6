// Browser test of the dashboards' map view (issue 14) in headless Debian Chromium (playwright-core), at
// 1920x1080.
//
// The admin sees the province by city and drills down to a city by clicking it on the map; a city official
// (3208 淮安市) sees the county map of their city, with the development zone that has no shape listed beside
// it, and is refused another city's map (3201) and the province's. On every map the table beside it is
// checked against /api/v1/indices: the same areas, the same figure for each (to the printed 0.1 point), and
// the same "significantly above/below the parent" marks as the server's vs_parent field; the drawn area names
// do not overlap.
// Screenshots in <build>/tests/browser-artifacts: map-01-province-admin.png, map-02-city-official.png,
// map-03-refused-other-city.png.
//
// Usage: node map.test.mjs <path to minyi> [artifacts dir]. Exit 0 pass, 1 fail.
import path from 'node:path';

import { checks, launch, runMinyi, setUp, startServer } from './harness.mjs';

const { chromium, minyi, artifacts, work } = await setUp('map.test.mjs',
  (bin) => path.join(path.dirname(path.dirname(bin)), 'tests', 'browser-artifacts'));
const global = ['-D', `store.sqlite.path=${work}/minyi.db`, '-D', 'store.sqlite.synchronous=NORMAL',
  '-D', `collector.secret_file=${work}/secret`, '-D', 'log.level=warn'];
const { check, fail, finish } = checks();
const run = (args, input) => runMinyi(minyi, global, args, input);

// The map's table against the API: every row of the JSON is a table row with the same printed figure and
// the same mark. Returns a list of differences (empty when they agree).
async function tableAgainstApi(page, area, period, index) {
  const api = await page.evaluate(async (q) => (await fetch('/api/v1/indices?' + q)).json(),
    new URLSearchParams({ area, period }).toString());
  const table = await page.$$eval('#map-table tbody tr', (trs) => trs.map((tr) => ({
    code: tr.dataset.code, estimate: tr.querySelector('td.estimate').textContent,
    mark: tr.querySelector('td.vs-parent').textContent })));
  const diffs = [];
  if (table.length !== api.rows.length) diffs.push(`${table.length} table rows, ${api.rows.length} in the JSON`);
  let marked = 0;
  for (const r of api.rows) {
    const t = table.find((x) => x.code === r.code);
    const v = r.values[index];
    if (!t) { diffs.push(`${r.code} missing`); continue; }
    if (!v || v.suppressed) {
      if (t.estimate !== (v ? '不予公布' : '—')) diffs.push(`${r.code}: ${t.estimate} for a suppressed figure`);
      continue;
    }
    const printed = Number(t.estimate.replace('%', '')) / 100;
    if (!(Math.abs(printed - v.estimate) <= 0.0005 + 1e-12)) diffs.push(`${r.code}: ${t.estimate} vs ${v.estimate}`);
    const sig = v.vs_parent ? v.vs_parent.significant : undefined;
    if (sig === undefined) diffs.push(`${r.code}: no vs_parent in the JSON`);
    const want = sig === 'above' ? '▲ 显著高于' : sig === 'below' ? '▼ 显著低于' : '无显著差异';
    if (!t.mark.startsWith(want)) diffs.push(`${r.code}: mark "${t.mark}", JSON ${sig}`);
    if (sig) marked += 1;
  }
  return { diffs, rows: api.rows, marked };
}

// The map's area names as drawn (ECharts' label text elements, in pixels), and the pairs whose boxes overlap
// by more than a pixel each way. Labels hidden because they would overlap (labelLayout hideOverlap) are
// `ignore`d and not drawn.
async function overlappingLabels(page) {
  const labels = await page.evaluate(() => {
    const storage = window.echarts.getInstanceByDom(document.getElementById('map-chart')).getZr().storage;
    storage.getDisplayList(true);  // brings every transform up to date
    const out = [];
    const visit = (e) => {
      if (e.ignore) return;
      const t = e.getTextContent && e.getTextContent();
      if (t && !t.ignore && !t.invisible && t.style && t.style.text) {
        const r = t.getBoundingRect().clone();
        r.applyTransform(t.getComputedTransform());
        out.push({ text: t.style.text.replace(/\n/g, ' '), x: r.x, y: r.y, w: r.width, h: r.height });
      }
      if (e.childrenRef) e.childrenRef().forEach(visit);
    };
    storage.getRoots().forEach(visit);
    return out;
  });
  const pairs = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const a = labels[i];
      const b = labels[j];
      if (a.x + 1 < b.x + b.w && b.x + 1 < a.x + a.w && a.y + 1 < b.y + b.h && b.y + 1 < a.y + a.h) pairs.push(`${a.text}/${b.text}`);
    }
  }
  return { count: labels.length, pairs };
}

async function login(page, base, user, password) {
  await page.goto(`${base}/login`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('#login-submit');
  await page.waitForURL(/\/dashboard/);
}

let server;
let browser;
try {
  run(['demo', 'seed', '--responses', '40000']);
  run(['aggregate']);
  run(['user', 'add', 'admin1', '--role', 'admin', '--password-stdin'], 'administrator-pass\n');
  run(['user', 'add', 'huaian1', '--role', 'official', '--area', '3208', '--password-stdin'], 'city-official-pass\n');

  let base;
  ({ server, base } = await startServer(minyi, global, work));
  browser = await launch(chromium, work, { viewport: { width: 1920, height: 1080 } });
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));

  // The admin: the province by city.
  await login(page, base, 'admin1', 'administrator-pass');
  await page.goto(`${base}/dashboard#/map/32`);
  await page.waitForSelector('#map-table tbody tr');
  check(await page.waitForSelector('#map-chart canvas', { timeout: 10000 }).then(() => true, () => false),
    'the province map is drawn (ECharts, the Jiangsu boundaries from npm)');
  const period = await page.$eval('#map-period', (s) => s.value);
  const index = await page.$eval('#map-index', (s) => s.value);
  const province = await tableAgainstApi(page, '32', period, index);
  check(province.rows.length === 13 && province.diffs.length === 0,
    `the province table is the JSON's 13 cities, figures and marks (${province.diffs.join('; ') || `${province.marked} marked`})`);
  check(await page.$('#map-unmatched') === null, 'every city has a shape');
  const link = await page.getAttribute('#map-table tr[data-code="3201"] a', 'href');
  check(link === `#/map/3201?${new URLSearchParams({ period, index })}`, `the table's city links keep the year and index (${link})`);
  // The map's own data: one item per shape, each with the city's figure (what colours it).
  const items = await page.evaluate(() => {
    const chart = window.echarts.getInstanceByDom(document.getElementById('map-chart'));
    return chart.getOption().series[0].data.map((d) => ({ code: d.code, value: d.value }));
  });
  const itemDiffs = province.rows.filter((r) => {
    const v = r.values[index];
    const item = items.find((x) => x.code === r.code);
    const want = v && !v.suppressed ? +(v.estimate * 100).toFixed(2) : null;
    return !item || item.value !== want;
  }).map((r) => r.code);
  check(items.length === 13 && itemDiffs.length === 0, `the map colours each city by its figure (${itemDiffs.join(',') || 'all 13'})`);
  check((await page.getAttribute('#map-chart', 'aria-label') || '').startsWith('地图'), 'the map has a text alternative');
  await page.waitForTimeout(800);  // ECharts' entry animation
  await page.screenshot({ path: path.join(artifacts, 'map-01-province-admin.png') });
  // The names never overlap, also where the map is small (zoomed out to half its size, as with the mouse
  // wheel: 南京, 镇江, 扬州 and 泰州 did): overlapping ones are hidden (shown on hover), the others drawn.
  const labels = await overlappingLabels(page);
  await page.evaluate(() => {
    const chart = window.echarts.getInstanceByDom(document.getElementById('map-chart'));
    chart.dispatchAction({ type: 'geoRoam', componentType: 'series', seriesIndex: 0, zoom: 0.5, originX: 400, originY: 300 });
  });
  await page.waitForFunction(() => Math.abs(window.echarts.getInstanceByDom(document.getElementById('map-chart'))
    .getOption().series[0].zoom - 0.5) < 1e-9, null, { timeout: 10000 });
  const small = await overlappingLabels(page);
  check(labels.count === 13 && labels.pairs.length === 0 && small.count >= 6 && small.pairs.length === 0,
    `the province map's names do not overlap (${labels.count} drawn; zoomed out ${small.count}: ${small.pairs.join(', ') || 'none overlap'})`);

  // A click on 南京 in the map drills down to its counties.
  const point = await page.evaluate(() => {
    const chart = window.echarts.getInstanceByDom(document.getElementById('map-chart'));
    const feature = window.echarts.getMap('江苏').geoJSON.features.find((f) => String(f.id) === '320100');
    const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, feature.properties.cp);
    const box = document.getElementById('map-chart').getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  });
  await page.mouse.click(point.x, point.y);
  check(await page.waitForURL(/#\/map\/3201/, { timeout: 10000 }).then(() => true, () => false), 'a click on 南京 opens its county map');
  await page.waitForSelector('#map-up');
  check((await page.textContent('#area-title')).includes('南京市') &&
    (await page.$$('#map-table tbody tr')).length >= 10, 'the county map of 南京 lists its districts');
  await page.click('#map-up');
  check(await page.waitForURL(/#\/map\/32\?/, { timeout: 10000 }).then(() => true, () => false), 'the way back leads to the province map');

  // The city official (淮安市): their city's county map.
  await page.context().clearCookies();
  await login(page, base, 'huaian1', 'city-official-pass');
  await page.goto(`${base}/dashboard#/map/3208`);
  await page.waitForSelector('#map-table tbody tr');
  check(await page.waitForSelector('#map-chart canvas', { timeout: 10000 }).then(() => true, () => false), 'the county map of 淮安 is drawn');
  const city = await tableAgainstApi(page, '3208', period, index);
  check(city.rows.length >= 7 && city.diffs.length === 0,
    `the 淮安 table is the JSON's ${city.rows.length} counties, figures and marks (${city.diffs.join('; ') || `${city.marked} marked`})`);
  const unmatched = await page.$$eval('#map-unmatched li', (li) => li.map((x) => x.textContent));
  check(unmatched.join(',') === '淮安经济技术开发区', `the county without a shape is listed beside the map (${unmatched.join(',')})`);
  await page.waitForTimeout(800);
  await page.screenshot({ path: path.join(artifacts, 'map-02-city-official.png') });

  // The year selector: an earlier year's figures, again the JSON's.
  const earlier = await page.$$eval('#map-period option', (o) => o.map((x) => x.value)).then((v) => v[v.length - 1]);
  await page.selectOption('#map-period', earlier);
  await page.waitForURL(new RegExp(`period=${earlier}`));
  await page.waitForFunction((p) => (document.querySelector('#map-title')?.textContent ?? '').includes(`${p} 年`), earlier, { timeout: 10000 });
  const before = await tableAgainstApi(page, '3208', earlier, index);
  check(earlier !== period && before.diffs.length === 0,
    `the year selector shows ${earlier}'s figures, the JSON's (${before.diffs.join('; ') || `${before.rows.length} counties`})`);

  // A county of the city: towns have no boundaries, the map tab points to the ranked town table.
  await page.goto(`${base}/dashboard#/map/320812`);
  await page.waitForSelector('#map-towns');
  check(await page.$('#map-chart') === null && await page.$('#map-towns a[href^="#/overview/320812"]') !== null,
    'a county\'s map tab draws no town map and links to the ranked town table');

  // Another city's map and the province's: refused.
  for (const [code, what] of [['32', 'the province map'], ['3201', "another city's map"]]) {
    await page.goto(`${base}/dashboard#/map/${code}`);
    await page.waitForSelector('.error-panel');
    const status = await page.getAttribute('.error-panel', 'data-status');
    check(status === '403' && (await page.textContent('.error-panel')).includes('无权访问'), `${what} (${code}) is refused with 403 for the 淮安 official`);
  }
  check(await page.$('#map-chart canvas') === null, 'no map is drawn when refused');
  await page.screenshot({ path: path.join(artifacts, 'map-03-refused-other-city.png') });
  check(consoleErrors.length === 0, `no script errors (${consoleErrors.join(' | ')})`);
} catch (e) {
  fail(e);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (server) server.kill('SIGTERM');
}
finish();
