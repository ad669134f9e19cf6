// Which shape of the map (ECharts GeoJSON from npm: features with `id` and `properties.name`) draws which
// registry area (code, name). Shared by the dashboard's map view and map_match_test.mjs (node), which checks
// every Jiangsu city and county against the installed boundaries. Hand-written: a few lines of lookups that
// no library does for this registry.
'use strict';

// The alias table (map_aliases.txt): "CODE NAME  # why" per line; '#' starts a comment. Returns
// { aliases: Map(code → [shape names]), errors: ['map_aliases.txt:LINE: ...'] }; bad lines are skipped,
// the good ones kept.
function minyiParseAliases(text) {
  const aliases = new Map();
  const errors = [];
  String(text).split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2 || !/^[0-9]{2,12}$/.test(parts[0])) {
      errors.push(`map_aliases.txt:${i + 1}: "CODE NAME" expected, got "${line}"`);
      return;
    }
    if (!aliases.has(parts[0])) aliases.set(parts[0], []);
    aliases.get(parts[0]).push(parts[1]);
  });
  return { aliases, errors };
}

// The name a boundary file registers its map under: the registry name without 省/市 ("江苏省" → "江苏",
// "南京市" → "南京"), as the npm packages name them (checked by map_match_test.mjs).
function minyiMapName(name) {
  return String(name).replace(/[省市]$/, '');
}

// areas: [{code, name}] (one level of the registry inside the map's area); features: the GeoJSON features.
// An area is drawn on: the shapes its alias lines name (when every one of them exists), else the shape whose
// id is its code (cities are 6 digits in the map: "3201" → "320100"), else the shape with its name.
// Returns { shapes: Map(code → [shape names]), unmatched: [areas without a shape] }.
function minyiMatchAreas(areas, features, aliases) {
  const byName = new Map();
  const byId = new Map();
  for (const f of features) {
    const name = f.properties && f.properties.name;
    if (!name) continue;
    byName.set(name, name);
    if (f.id !== undefined) byId.set(String(f.id), name);
  }
  const shapes = new Map();
  const unmatched = [];
  for (const a of areas) {
    const alias = aliases && aliases.get(a.code);
    let names = null;
    if (alias && alias.every((n) => byName.has(n))) names = alias.slice();
    else if (byId.has(a.code.padEnd(6, '0'))) names = [byId.get(a.code.padEnd(6, '0'))];
    else if (byName.has(a.name)) names = [a.name];
    if (names) shapes.set(a.code, names);
    else unmatched.push(a);
  }
  return { shapes, unmatched };
}

if (typeof module === 'object' && module.exports) module.exports = { minyiParseAliases, minyiMapName, minyiMatchAreas };
