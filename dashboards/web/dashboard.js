// The officials' dashboard: overview, trend, channels and comments for one area at a time.
// Routes (location.hash): #/overview/CODE, #/map/CODE, #/trend/CODE, #/channels/CODE, #/comments/CODE, with
// optional ?period=2025 (overview, map, comments), ?index=ID (map) and ?index=ID&compare=A,B (trend).
// Scope is enforced by the server; a refused area shows the server's message.
'use strict';

(() => {
  const { el, clear, api, pct, pp, ci, int } = Minyi;
  const COLORS = ['#2f6fdf', '#12a57a', '#e3872d', '#8e44ad', '#d64545', '#1b9aaa', '#7a6c5d', '#c2185b'];
  const LEVEL_LABEL = { province: '省', city: '市', county: '县（市、区）', town: '乡镇（街道）' };
  const CHANNEL_LABEL = { web: '网页', sms: '短信', wechat: '微信群', import: '文件导入' };
  const VIEWS = [
    ['overview', '概览'],
    ['map', '地图'],
    ['trend', '趋势'],
    ['channels', '渠道与样本'],
    ['comments', '居民意见'],
  ];
  let charts = [];
  let app;
  let sortState = { key: 'security', dir: -1 };

  const hasCharts = () => typeof window.echarts !== 'undefined';

  function disposeCharts() {
    for (const c of charts) c.dispose();
    charts = [];
  }

  // Charts are drawn once their container is in the page (ECharts measures it), so views may build
  // their panels first and attach them afterwards.
  function makeChart(container, option, summary) {
    container.setAttribute('role', 'img');
    container.setAttribute('aria-label', summary);
    if (!hasCharts()) {
      container.classList.add('chart-missing');
      container.appendChild(el('p', { class: 'muted', text: '图表组件未安装，数据见下表。' }));
      return;
    }
    const draw = () => {
      if (!container.isConnected) return;
      const chart = window.echarts.init(container, null, { renderer: 'canvas' });
      option.aria = { enabled: true, label: { enabled: true, description: summary } };
      chart.setOption(option);
      charts.push(chart);
    };
    if (container.isConnected) draw();
    else setTimeout(draw, 0);
  }

  window.addEventListener('resize', () => charts.forEach((c) => c.resize()));

  function parseRoute() {
    const hash = window.location.hash.replace(/^#\/?/, '');
    const [path, query] = hash.split('?');
    const parts = path.split('/').filter(Boolean);
    const params = new URLSearchParams(query || '');
    return { view: parts[0] || '', area: parts[1] || '', params };
  }

  function go(view, area, params) {
    const q = params && params.toString() ? '?' + params.toString() : '';
    window.location.hash = `#/${view}/${area}${q}`;
  }

  // ------------------------------------------------------------------------------------------
  // Frame: header, breadcrumb, tabs

  function frame(route, info) {
    disposeCharts();
    clear(app);
    app.appendChild(Minyi.header('dashboard'));
    const main = el('main', { class: 'content', id: 'main' });
    if (info) {
      const crumbs = el('ol', { class: 'breadcrumb', 'aria-label': '地区层级' });
      info.path.forEach((p, i) => {
        const last = i === info.path.length - 1;
        const item = last || !p.in_scope
          ? el('span', { class: last ? 'current' : 'muted', 'aria-current': last ? 'page' : null, text: p.name })
          : el('a', { href: `#/${route.view}/${p.code}`, text: p.name });
        crumbs.appendChild(el('li', {}, item));
      });
      const title = el('div', { class: 'titlebar' },
        el('div', {}, crumbs,
          el('h1', { id: 'area-title', text: info.area.name },
            el('span', { class: 'level-tag', text: LEVEL_LABEL[info.area.level] || '' }))),
        el('div', { class: 'updated', id: 'updated' },
          el('span', { class: 'muted', text: '数据计算于 ' }),
          el('strong', { text: Minyi.localTime(info.computed_at) })));
      main.appendChild(title);
      const tabs = el('div', { class: 'tabs', role: 'tablist', 'aria-label': '视图' });
      for (const [id, label] of VIEWS) {
        tabs.appendChild(el('a', {
          role: 'tab', href: `#/${id}/${info.area.code}`, class: route.view === id ? 'tab active' : 'tab',
          'aria-selected': route.view === id ? 'true' : 'false', text: label,
        }));
      }
      main.appendChild(tabs);
    }
    app.appendChild(main);
    return main;
  }

  // ------------------------------------------------------------------------------------------
  // Overview

  function changeBadge(v) {
    if (!v || v.suppressed) return el('span', { class: 'chip chip-muted', text: '样本不足' });
    if (v.change === null || v.change === undefined) return el('span', { class: 'chip chip-muted', text: '无上年数据' });
    if (!v.change_significant) return el('span', { class: 'chip chip-muted', text: `${pp(v.change)} · 变化不显著` });
    return el('span', { class: v.change > 0 ? 'chip chip-up' : 'chip chip-down',
      text: `${v.change > 0 ? '▲' : '▼'} ${pp(v.change)} · 显著` });
  }

  // The model-based town figure (issue 14: Fay–Herriot EBLUP, docs/small_area.md), which the API adds where
  // the direct one is suppressed or its interval is wide, labelled 模型估计 with its interval.
  function modelLine(v, cls) {
    if (!v || !v.model) return null;
    return el('div', { class: cls, title: '小区域模型估计（Fay–Herriot EBLUP），借用其他乡镇的信息；95% 区间基于均方误差',
      text: `${v.model.label} ${pct(v.model.estimate)}（${ci(v.model)}）` });
  }

  // parentName: the area's parent, whose figure the server tested it against (vs_parent: only for a parent
  // the viewer may see); null without one.
  function kpiCard(index, v, period, parentName) {
    const card = el('section', { class: 'kpi panel', 'aria-label': index.name });
    card.appendChild(el('div', { class: 'kpi-title', text: `${period} 年 ${index.name}` }));
    if (!v) {
      card.appendChild(el('div', { class: 'kpi-value muted', text: '暂无数据' }));
      return card;
    }
    if (v.suppressed) {
      card.appendChild(el('div', { class: 'kpi-value muted', text: '样本不足' }));
      card.appendChild(el('div', { class: 'kpi-meta', text: `样本量 ${int(v.n)}，少于公布下限 ${index.min_n}，不予公布` }));
      const model = modelLine(v, 'kpi-meta');
      if (model) card.appendChild(model);
      return card;
    }
    card.appendChild(el('div', { class: 'kpi-value', text: pct(v.estimate) }));
    card.appendChild(el('div', { class: 'kpi-meta' }, '95% 置信区间 ', el('strong', { text: ci(v) })));
    card.appendChild(el('div', { class: 'kpi-meta', text: `样本量 ${int(v.n)} · 有效样本量 ${v.n_eff === null ? '—' : Math.round(v.n_eff)}` }));
    card.appendChild(el('div', { class: 'kpi-change' }, el('span', { class: 'muted', text: '较上年 ' }), changeBadge(v)));
    if (parentName && v.vs_parent) {  // the map's wording and the server's rule (vsParentText)
      const sig = v.vs_parent.significant;
      card.appendChild(el('div', { class: 'kpi-vs-parent' + (sig ? (sig === 'above' ? ' up' : ' down') : ' muted'),
        title: `与${parentName}相比，z 检验，95% 双侧`, text: vsParentText(v, parentName) || `无显著差异（与${parentName}相比）` }));
    }
    if (v.low_n) card.appendChild(el('div', { class: 'kpi-warn', text: '注意：样本量低于公布下限，仅供内部参考' }));
    return card;
  }

  function sortedRows(rows) {
    const { key, dir } = sortState;
    const value = (r) => {
      if (key === 'name') return r.code;
      if (key === 'n') return r.values.security ? r.values.security.n : -1;
      const [index, field] = key.split(':');
      const v = r.values[index];
      if (!v || v.suppressed) return null;
      return field === 'change' ? v.change : v.estimate;
    };
    return rows.slice().sort((a, b) => {
      const x = value(a);
      const y = value(b);
      if (x === null && y === null) return a.code < b.code ? -1 : 1;
      if (x === null) return 1;  // suppressed rows last whatever the direction
      if (y === null) return -1;
      if (x === y) return a.code < b.code ? -1 : 1;
      return (x < y ? -1 : 1) * dir * (key === 'name' ? -1 : 1);
    });
  }

  function rankingTable(data, onSort) {
    const indices = data.indices;
    const columns = [['name', '地区']];
    for (const ix of indices) {
      columns.push([`${ix.id}:estimate`, ix.name]);
      columns.push([`${ix.id}:change`, '较上年']);
    }
    columns.push(['n', '样本量']);
    const headRow = el('tr', {}, el('th', { scope: 'col', class: 'num', text: '排名' }));
    for (const [key, label] of columns) {
      const active = sortState.key === key;
      const th = el('th', { scope: 'col', class: key === 'name' ? '' : 'num',
        'aria-sort': active ? (sortState.dir < 0 ? 'descending' : 'ascending') : 'none' });
      th.appendChild(el('button', { type: 'button', class: 'sort', 'data-key': key, onclick: () => {
        sortState = { key, dir: active ? -sortState.dir : -1 };
        onSort();
      } }, label, el('span', { class: 'sort-icon', 'aria-hidden': 'true', text: active ? (sortState.dir < 0 ? '▼' : '▲') : '↕' })));
      headRow.appendChild(th);
    }
    headRow.appendChild(el('th', { scope: 'col', text: '' }));
    const body = el('tbody');
    let rank = 0;
    for (const r of sortedRows(data.rows)) {
      // Not ranked without a direct figure: suppressed, or a town without respondents (n = 0, model only).
      const suppressed = indices.every((ix) => !r.values[ix.id] || r.values[ix.id].suppressed || r.values[ix.id].n === 0);
      const lowN = indices.some((ix) => r.values[ix.id] && r.values[ix.id].low_n);
      const canDrill = r.level !== 'town';
      const target = canDrill ? `#/overview/${r.code}` : `#/trend/${r.code}`;
      const tr = el('tr', { class: lowN ? 'low-n clickable' : 'clickable', 'data-code': r.code,
        title: canDrill ? '点击查看下一级' : '点击查看趋势' });
      tr.addEventListener('click', (e) => {
        if (e.target.closest('a')) return;
        window.location.hash = target;
      });
      tr.appendChild(el('td', { class: 'num', text: suppressed ? '—' : String(++rank) }));
      tr.appendChild(el('th', { scope: 'row' }, el('a', { href: target, text: r.name }),
        lowN ? el('span', { class: 'chip chip-muted small', text: '样本不足' }) : null));
      for (const ix of indices) {
        const v = r.values[ix.id];
        if (!v) {
          tr.appendChild(el('td', { class: 'num muted', text: '—' }));
          tr.appendChild(el('td', { class: 'num muted', text: '—' }));
          continue;
        }
        tr.appendChild(el('td', { class: 'num' },
          el('div', { text: v.n === 0 ? '无受访者' : v.suppressed ? '不予公布' : pct(v.estimate) }),
          v.suppressed || v.n === 0 ? null : el('div', { class: 'ci small muted', text: ci(v) }),
          modelLine(v, 'model small')));
        const change = v.suppressed || v.change === null ? '—' : pp(v.change).replace(' 个百分点', '');
        tr.appendChild(el('td', { class: 'num' + (v.change_significant ? (v.change > 0 ? ' up' : ' down') : ' muted'),
          title: v.change_significant ? '变化显著' : '变化不显著', text: change + (v.change_significant ? ' *' : '') }));
      }
      const first = r.values[indices[0].id];
      tr.appendChild(el('td', { class: 'num', text: first ? int(first.n) : '—' }));
      tr.appendChild(el('td', {}, el('a', { href: `#/trend/${r.code}`, class: 'small', text: '趋势' })));
      body.appendChild(tr);
    }
    return el('table', { class: 'data ranking', id: 'ranking' },
      el('caption', { text: `${LEVEL_LABEL[data.level] || ''}排名（${data.period} 年，点击表头排序；* 表示较上年变化显著；灰色行样本不足）` }),
      el('thead', {}, headRow), body);
  }

  async function overview(route) {
    const params = new URLSearchParams({ area: route.area });
    if (route.params.get('period')) params.set('period', route.params.get('period'));
    const data = await api('/api/v1/indices?' + params.toString());
    const main = frame(route, data);

    const controls = el('div', { class: 'controls' });
    const select = el('select', { id: 'period', 'aria-label': '年份' });
    for (const p of data.periods.slice().reverse()) {
      select.appendChild(el('option', { value: p, selected: p === data.period, text: `${p} 年` }));
    }
    select.addEventListener('change', () => go('overview', data.area.code, new URLSearchParams({ period: select.value })));
    controls.appendChild(el('label', { for: 'period', text: '年份 ' }));
    controls.appendChild(select);
    const csv = new URLSearchParams({ area: data.area.code, period: data.period });
    controls.appendChild(el('a', { class: 'btn btn-ghost', href: '/api/v1/indices.csv?' + csv.toString(), download: '', text: '导出 CSV' }));
    // Annual index exports (every level below the area) and, for statisticians, weighted microdata.
    const downloads = el('span', { class: 'downloads small' }, el('span', { class: 'muted', text: '下载年度指数：' }));
    for (const f of ['csv', 'xlsx', 'json']) {
      const q = new URLSearchParams({ area: data.area.code, period: data.period, format: f, edition: data.sees_low_n ? 'internal' : 'public' });
      downloads.appendChild(el('a', { class: 'btn btn-ghost', href: '/api/v1/export/indices?' + q.toString(), download: '', text: f.toUpperCase() }));
    }
    if (data.sees_low_n) {
      downloads.appendChild(el('span', { class: 'muted', text: ' 微观数据：' }));
      for (const [f, label] of [['csv', 'CSV'], ['sav', 'SPSS'], ['dta', 'Stata'], ['xlsx', 'XLSX']]) {
        const q = new URLSearchParams({ period: data.period, format: f });
        downloads.appendChild(el('a', { class: 'btn btn-ghost', href: '/api/v1/export/microdata?' + q.toString(), download: '', text: label }));
      }
    }
    controls.appendChild(downloads);
    if (!data.sees_low_n) controls.appendChild(el('span', { class: 'muted small', text: '样本量不足的数据按规定不予公布。' }));
    main.appendChild(controls);

    const kpis = el('div', { class: 'kpis' });
    const parent = data.path.length > 1 ? data.path[data.path.length - 2] : null;
    for (const ix of data.indices) kpis.appendChild(kpiCard(ix, data.summary[ix.id], data.period, parent ? parent.name : null));
    main.appendChild(kpis);

    const grid = el('div', { class: 'grid-2' });
    if (data.rows.length > 1 || data.area.level !== 'town') {
      const tablePanel = el('section', { class: 'panel', 'aria-labelledby': 'ranking-title' },
        el('h2', { id: 'ranking-title', text: `下辖${LEVEL_LABEL[data.level] || '地区'}（${data.rows.length} 个）` }));
      const holder = el('div', { class: 'table-scroll' });
      const render = () => clear(holder).appendChild(rankingTable(data, render));
      render();
      tablePanel.appendChild(holder);
      grid.appendChild(tablePanel);
    }
    const trendPanel = el('section', { class: 'panel', 'aria-labelledby': 'mini-trend-title' },
      el('h2', { id: 'mini-trend-title', text: '历年趋势' }));
    grid.appendChild(trendPanel);
    main.appendChild(grid);
    try {
      const trend = await api('/api/v1/trend?' + new URLSearchParams({ area: data.area.code }).toString());
      trendChart(trendPanel, trend);
    } catch (e) {
      trendPanel.appendChild(el('p', { class: 'muted', text: e.message }));
    }
  }

  // ------------------------------------------------------------------------------------------
  // Map (issue 14): the province by city, a city by county, coloured by one index; towns have no
  // public boundaries and stay the overview's ranked table. The boundaries are npm files served as
  // /assets/map-CODE.js (each calls echarts.registerMap), matched to the registry by map_match.js and
  // the alias table /assets/map_aliases.txt. "Above/below the parent" is the server's vs_parent.

  const mapScripts = new Map();
  function loadMapScript(code) {
    if (!mapScripts.has(code)) {
      mapScripts.set(code, new Promise((resolve, reject) => {
        const script = el('script', { src: `/assets/map-${encodeURIComponent(code)}.js` });
        script.addEventListener('load', resolve);
        script.addEventListener('error', () => {
          mapScripts.delete(code);
          reject(new Error('该地区的地图边界未安装（dashboards/web 中运行 npm ci），数据见右表。'));
        });
        document.head.appendChild(script);
      }));
    }
    return mapScripts.get(code);
  }

  let aliasTable = null;
  async function loadAliases() {
    if (aliasTable) return aliasTable;
    const response = await fetch('/assets/map_aliases.txt', { credentials: 'same-origin' });
    if (!response.ok) return new Map();  // matched by code and name only this time; asked again next time
    const parsed = minyiParseAliases(await response.text());
    for (const e of parsed.errors) console.warn(e);
    aliasTable = parsed.aliases;
    return aliasTable;
  }

  function vsParentText(v, parentName) {
    if (!v || !v.vs_parent || !v.vs_parent.significant) return '';
    return `${v.vs_parent.significant === 'above' ? '▲ 显著高于' : '▼ 显著低于'}${parentName}`;
  }

  function mapTable(data, index, parentName, query) {
    const body = el('tbody');
    const rows = data.rows.slice().sort((a, b) => {
      const x = a.values[index.id];
      const y = b.values[index.id];
      const vx = x && !x.suppressed ? x.estimate : null;
      const vy = y && !y.suppressed ? y.estimate : null;
      if (vx === vy) return a.code < b.code ? -1 : 1;
      if (vx === null) return 1;
      if (vy === null) return -1;
      return vy - vx;
    });
    for (const r of rows) {
      const v = r.values[index.id];
      const mark = vsParentText(v, parentName);
      const sig = v && v.vs_parent ? v.vs_parent.significant : null;
      body.appendChild(el('tr', { 'data-code': r.code, class: sig ? `sig-${sig}` : '' },
        el('th', { scope: 'row' }, r.level === 'city' ? el('a', { href: `#/map/${r.code}?${query}`, text: r.name }) : r.name),
        el('td', { class: 'num estimate', text: !v ? '—' : v.suppressed ? '不予公布' : pct(v.estimate) }),
        el('td', { class: 'num small', text: v && !v.suppressed ? ci(v) : '—' }),
        el('td', { class: 'vs-parent' + (sig ? (sig === 'above' ? ' up' : ' down') : ' muted'),
          text: mark || (v && v.vs_parent ? '无显著差异' : '—') }),
        el('td', { class: 'num', text: v ? int(v.n) : '—' })));
    }
    return el('table', { class: 'data compact', id: 'map-table' },
      el('caption', { text: `${data.period} 年${index.name}，按${LEVEL_LABEL[data.level] || '地区'}（与地图同一数据；▲/▼ 表示与${parentName}相比差异显著，95% 双侧检验）` }),
      el('thead', {}, el('tr', {}, ['地区', index.name, '95% 置信区间', `与${parentName}比较`, '样本量']
        .map((h, i) => el('th', { scope: 'col', class: i === 1 || i === 4 ? 'num' : '', text: h })))),
      body);
  }

  async function mapView(route) {
    const params = new URLSearchParams({ area: route.area });
    if (route.params.get('period')) params.set('period', route.params.get('period'));
    const data = await api('/api/v1/indices?' + params.toString());
    const main = frame(route, data);
    const index = data.indices.find((ix) => ix.id === route.params.get('index')) || data.indices[0];
    const query = (changes) => new URLSearchParams(Object.assign({ period: data.period, index: index.id }, changes));

    const controls = el('div', { class: 'controls' });
    const year = el('select', { id: 'map-period', 'aria-label': '年份' },
      data.periods.slice().reverse().map((p) => el('option', { value: p, selected: p === data.period, text: `${p} 年` })));
    year.addEventListener('change', () => go('map', data.area.code, query({ period: year.value })));
    const which = el('select', { id: 'map-index', 'aria-label': '指数' },
      data.indices.map((ix) => el('option', { value: ix.id, selected: ix.id === index.id, text: ix.name })));
    which.addEventListener('change', () => go('map', data.area.code, query({ index: which.value })));
    controls.append(el('label', { for: 'map-period', text: '年份 ' }), year, el('label', { for: 'map-index', text: ' 指数 ' }), which);
    const parent = data.path.length > 1 ? data.path[data.path.length - 2] : null;
    if (parent && parent.in_scope) {
      controls.appendChild(el('a', { class: 'btn btn-ghost', id: 'map-up', href: `#/map/${parent.code}?${query({}).toString()}`, text: `返回${parent.name}` }));
    }
    main.appendChild(controls);

    if (data.level === 'town') {
      main.appendChild(el('p', { class: 'notice', id: 'map-towns', },
        '乡镇（街道）没有公开的边界数据，不绘制地图：乡镇的数字（含模型估计）见',
        el('a', { href: `#/overview/${data.area.code}?period=${data.period}`, text: '概览中的排名表' }), '。'));
      return;
    }
    const grid = el('div', { class: 'grid-2' });
    const mapPanel = el('section', { class: 'panel', 'aria-labelledby': 'map-title' },
      el('h2', { id: 'map-title', text: `${data.area.name} ${data.period} 年${index.name}（按${LEVEL_LABEL[data.level]}）` }));
    const box = el('div', { class: 'chart map-chart', id: 'map-chart' });
    mapPanel.appendChild(box);
    const tablePanel = el('section', { class: 'panel', 'aria-labelledby': 'map-table-title' },
      el('h2', { id: 'map-table-title', text: '地图数据' }),
      el('div', { class: 'table-scroll' }, mapTable(data, index, data.area.name, query({}).toString())));
    grid.append(mapPanel, tablePanel);
    main.appendChild(grid);
    mapPanel.appendChild(el('p', { class: 'muted small', text:
      `颜色为各地区的${index.name}（直接估计）；粗绿框 ▲ 为显著高于${data.area.name}，粗红框 ▼ 为显著低于（z 检验，考虑了地区与其上级共有的样本；` +
      '多个地区同时比较时，约每 20 个无差异的地区中会有 1 个被误判为显著）。灰色为样本不足不予公布或无数据。' }));

    let geo;
    try {
      if (!hasCharts()) throw new Error('图表组件未安装，数据见右表。');
      await loadMapScript(data.area.code);
      geo = window.echarts.getMap(minyiMapName(data.area.name));
      if (!geo) throw new Error('该地区的地图边界未安装，数据见右表。');
    } catch (e) {
      box.classList.add('chart-missing');
      box.appendChild(el('p', { class: 'muted', text: e.message }));
      return;
    }
    const { shapes, unmatched } = minyiMatchAreas(data.rows, geo.geoJSON.features, await loadAliases());
    const items = [];
    const values = [];
    const summary = [];
    for (const r of data.rows) {
      const v = r.values[index.id];
      const value = v && !v.suppressed && v.estimate !== null ? +(v.estimate * 100).toFixed(2) : null;
      if (value !== null) values.push(value);
      const sig = v && v.vs_parent ? v.vs_parent.significant : null;
      if (value !== null) summary.push(`${r.name} ${pct(v.estimate)}${sig ? (sig === 'above' ? '（显著高于）' : '（显著低于）') : ''}`);
      for (const name of shapes.get(r.code) || []) {
        items.push({ name, code: r.code, area: r.name, value, v,
          // The page's colours for up and down (style.css --up, --down), as in the table.
          itemStyle: sig ? { borderColor: sig === 'above' ? '#0f8a5f' : '#c0392b', borderWidth: 3 } : undefined,
          label: sig ? { show: true, formatter: `{b}\n${sig === 'above' ? '▲' : '▼'}`, fontWeight: 'bold' } : undefined });
      }
    }
    if (unmatched.length) {
      mapPanel.appendChild(el('div', { class: 'notice', id: 'map-unmatched' },
        el('p', { text: `以下 ${unmatched.length} 个地区没有边界数据（开发区等功能区，地图数据中没有单独的形状），其数字见右表：` }),
        el('ul', {}, unmatched.map((a) => el('li', { text: a.name })))));
    }
    const lo = values.length ? Math.floor(Math.min(...values)) : 0;
    const hi = values.length ? Math.ceil(Math.max(...values)) : 100;
    makeChart(box, {
      // The tooltip is HTML: every name goes through ECharts' encodeHTML.
      tooltip: { trigger: 'item', formatter: (p) => {
        const esc = window.echarts.format.encodeHTML;
        const v = p.data && p.data.v;
        if (!v) return `${esc(p.name)}：无数据`;
        if (v.suppressed) return `${esc(p.data.area)}：样本不足，不予公布（n=${int(v.n)}）`;
        const mark = vsParentText(v, data.area.name);
        return `${esc(p.data.area)}：${pct(v.estimate)}（95% 置信区间 ${ci(v)}，n=${int(v.n)}）${mark ? '<br>' + esc(mark) : ''}`;
      } },
      visualMap: { type: 'continuous', min: lo, max: Math.max(hi, lo + 1), calculable: true, text: ['高', '低'],
        left: 10, bottom: 10, formatter: (x) => `${Number(x).toFixed(1)}%`, inRange: { color: ['#f3e5c8', '#e3872d', '#8c2d04'] } },
      series: [{ type: 'map', map: minyiMapName(data.area.name), roam: true, nameProperty: 'name',
        // Names that would overlap (small areas side by side, e.g. 南京 and 镇江 on the province map) are
        // hidden, the larger area's kept, and shown on hover; every figure stays in the table beside.
        label: { show: true, fontSize: 11 }, labelLayout: { hideOverlap: true }, emphasis: { label: { show: true } },
        itemStyle: { areaColor: '#e8e8e8', borderColor: '#fff' }, data: items }],
    }, `地图，${data.area.name} ${data.period} 年${index.name}：${summary.join('，')}`);
    const chart = charts[charts.length - 1];
    if (chart && data.level === 'city') {
      chart.on('click', (p) => { if (p.data && p.data.code) go('map', p.data.code, query({})); });
    }
  }

  // ------------------------------------------------------------------------------------------
  // Trend

  function trendChart(panel, trend) {
    const periods = trend.periods;
    const chartBox = el('div', { class: 'chart', id: 'trend-chart' });
    panel.appendChild(chartBox);
    const series = [];
    const legend = [];
    const summaryParts = [];
    trend.series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const indexName = (trend.indices.find((x) => x.id === s.index) || {}).name || s.index;
      const name = trend.series.length > trend.indices.length ? `${s.area.name} · ${indexName}` : indexName;
      legend.push(name);
      const byPeriod = new Map(s.points.map((p) => [p.period, p]));
      const est = periods.map((p) => { const v = byPeriod.get(p); return v && v.estimate !== null ? +(v.estimate * 100).toFixed(2) : null; });
      const lo = periods.map((p) => { const v = byPeriod.get(p); return v && v.ci[0] !== null ? +(v.ci[0] * 100).toFixed(2) : null; });
      const band = periods.map((p, k) => { const v = byPeriod.get(p); return v && v.ci[1] !== null && lo[k] !== null ? +((v.ci[1] * 100) - lo[k]).toFixed(2) : null; });
      series.push({ name: `${name} 下限`, type: 'line', data: lo, stack: `ci${i}`, symbol: 'none', lineStyle: { opacity: 0 }, tooltip: { show: false }, silent: true, legendHoverLink: false });
      series.push({ name: `${name} 95% 置信区间`, type: 'line', data: band, stack: `ci${i}`, symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color, opacity: 0.14 }, tooltip: { show: false }, silent: true });
      series.push({ name, type: 'line', data: est, color, symbolSize: 7, lineStyle: { width: 2.5 }, connectNulls: false });
      const last = s.points.filter((p) => p.estimate !== null).slice(-1)[0];
      if (last) summaryParts.push(`${name}：${last.period} 年 ${pct(last.estimate)}（95% 置信区间 ${ci(last)}）`);
      // A town's model-based figure (模型估计, issue 14) where the API gives one (direct figure suppressed or
      // wide, or model=both): its own dashed line and band, as a triple like the direct one.
      const models = periods.map((p) => { const v = byPeriod.get(p); return v && v.model ? v.model : null; });
      if (models.some((m) => m !== null)) {
        const mName = `${name} · 模型估计`;
        const mLo = models.map((m) => (m && m.ci[0] !== null ? +(m.ci[0] * 100).toFixed(2) : null));
        const mBand = models.map((m, k) => (m && m.ci[1] !== null && mLo[k] !== null ? +((m.ci[1] * 100) - mLo[k]).toFixed(2) : null));
        legend.push(mName);
        series.push({ name: `${mName} 下限`, type: 'line', data: mLo, stack: `mci${i}`, symbol: 'none', lineStyle: { opacity: 0 }, tooltip: { show: false }, silent: true, legendHoverLink: false });
        series.push({ name: `${mName} 95% 区间`, type: 'line', data: mBand, stack: `mci${i}`, symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color, opacity: 0.07 }, tooltip: { show: false }, silent: true });
        series.push({ name: mName, type: 'line', data: models.map((m) => (m && m.estimate !== null ? +(m.estimate * 100).toFixed(2) : null)),
          color, symbol: 'emptyCircle', symbolSize: 7, lineStyle: { width: 2, type: 'dashed' }, connectNulls: false });
        const lastModel = periods.map((p, k) => [p, models[k]]).filter(([, m]) => m && m.estimate !== null).slice(-1)[0];
        if (lastModel) summaryParts.push(`${mName}：${lastModel[0]} 年 ${pct(lastModel[1].estimate)}（95% 区间 ${ci(lastModel[1])}）`);
      }
    });
    if (!trend.series.some((s) => s.points.some((p) => p.estimate !== null))) {
      panel.insertBefore(el('p', { class: 'notice', text: '各年份样本量均不足公布下限，数值不予公布（样本量见下表）。' }), chartBox);
    }
    const allLo = series.filter((s, k) => k % 3 === 0).flatMap((s) => s.data).filter((x) => x !== null);
    const min = allLo.length ? Math.max(0, Math.floor(Math.min(...allLo) / 5) * 5) : 0;
    makeChart(chartBox, {
      color: series.filter((s, k) => k % 3 === 2).map((s) => s.color),
      tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '—' : v.toFixed(1) + '%') },
      legend: { data: legend, top: 0, type: 'scroll' },
      grid: { left: 48, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: periods, boundaryGap: false },
      // Round axis ends to whole 5 % steps so the ticks stay readable (never above 100 %).
      yAxis: { type: 'value', min, max: (v) => Math.min(100, Math.ceil(v.max / 5) * 5), interval: 100 - min > 40 ? 10 : 5,
        axisLabel: { formatter: '{value}%' } },
      series,
    }, `折线图，各年指数及其 95% 置信区间（阴影；虚线为模型估计）。${summaryParts.join('；')}`);

    // Text alternative: the same figures as a table.
    const head = el('tr', {}, el('th', { scope: 'col', text: '年份' }));
    for (const s of trend.series) {
      const indexName = (trend.indices.find((x) => x.id === s.index) || {}).name || s.index;
      head.appendChild(el('th', { scope: 'col', class: 'num', text: trend.series.length > trend.indices.length ? `${s.area.name} ${indexName}` : indexName }));
    }
    const body = el('tbody');
    for (const p of periods) {
      const tr = el('tr', {}, el('th', { scope: 'row', text: p }));
      for (const s of trend.series) {
        const v = s.points.find((x) => x.period === p);
        const direct = !v ? '—' : v.n === 0 ? '无受访者' : v.suppressed ? `样本不足（n=${v.n}）`
          : `${pct(v.estimate)}（${ci(v)}，n=${int(v.n)}${v.change_significant ? '，变化显著' : ''}）`;
        tr.appendChild(el('td', { class: 'num' + (v && v.low_n ? ' muted' : '') },
          v && v.model ? `${direct}；模型估计 ${pct(v.model.estimate)}（${ci(v.model)}）` : direct));
      }
      body.appendChild(tr);
    }
    panel.appendChild(el('details', { class: 'alt-table' }, el('summary', { text: '以表格查看图表数据' }),
      el('div', { class: 'table-scroll' }, el('table', { class: 'data compact' }, el('thead', {}, head), body))));
  }

  async function trendView(route) {
    const params = new URLSearchParams({ area: route.area });
    const index = route.params.get('index') || '';
    const compare = (route.params.get('compare') || '').split(',').filter(Boolean);
    if (index) params.set('index', index);
    if (compare.length) params.set('compare', compare.join(','));
    const [info, trend] = await Promise.all([
      api('/api/v1/indices?' + new URLSearchParams({ area: route.area }).toString()),
      api('/api/v1/trend?' + params.toString()),
    ]);
    const main = frame(route, info);
    const panel = el('section', { class: 'panel', 'aria-labelledby': 'trend-title' },
      el('h2', { id: 'trend-title', text: `${info.area.name} 历年趋势` }));

    const controls = el('div', { class: 'controls' });
    const indexSelect = el('select', { id: 'trend-index', 'aria-label': '指数' },
      el('option', { value: '', text: '全部指数' }),
      info.indices.map((ix) => el('option', { value: ix.id, selected: ix.id === index, text: ix.name })));
    indexSelect.addEventListener('change', () => {
      const q = new URLSearchParams();
      if (indexSelect.value) q.set('index', indexSelect.value);
      if (compare.length) q.set('compare', compare.join(','));
      go('trend', route.area, q);
    });
    controls.appendChild(el('label', { for: 'trend-index', text: '指数 ' }));
    controls.appendChild(indexSelect);

    // Areas to compare with: the siblings (when the parent is in scope) and the children.
    const candidates = [];
    const parent = info.path.length > 1 ? info.path[info.path.length - 2] : null;
    if (parent && parent.in_scope) {
      try {
        const siblings = await api('/api/v1/indices?' + new URLSearchParams({ area: parent.code, period: info.period }).toString());
        for (const r of siblings.rows) if (r.code !== route.area) candidates.push(r);
      } catch (e) { /* no siblings offered */ }
    }
    for (const r of info.rows) if (r.code !== route.area) candidates.push(r);
    const addSelect = el('select', { id: 'compare-add', 'aria-label': '添加对比地区' },
      el('option', { value: '', text: '添加对比地区…' }),
      candidates.filter((c) => !compare.includes(c.code)).map((c) => el('option', { value: c.code, text: c.name })));
    addSelect.addEventListener('change', () => {
      if (!addSelect.value) return;
      const q = new URLSearchParams();
      q.set('index', indexSelect.value || info.indices[0].id);
      q.set('compare', compare.concat([addSelect.value]).join(','));
      go('trend', route.area, q);
    });
    controls.appendChild(addSelect);
    for (const code of compare) {
      const s = trend.series.find((x) => x.area.code === code);
      controls.appendChild(el('span', { class: 'chip' }, s ? s.area.name : code,
        el('button', { type: 'button', class: 'chip-x', 'aria-label': `移除 ${s ? s.area.name : code}`, text: '×', onclick: () => {
          const q = new URLSearchParams();
          if (index) q.set('index', index);
          const rest = compare.filter((c) => c !== code);
          if (rest.length) q.set('compare', rest.join(','));
          go('trend', route.area, q);
        } })));
    }
    panel.appendChild(controls);
    trendChart(panel, trend);
    panel.appendChild(el('p', { class: 'muted small', text: '阴影为 95% 置信区间；区间重叠较多时，地区之间或年份之间的差异可能只是抽样误差。样本不足的年份不予公布。乡镇的虚线为模型估计（小区域模型，借用其他乡镇的信息），在直接估计不予公布或区间过宽时给出。' }));
    main.appendChild(panel);
  }

  // ------------------------------------------------------------------------------------------
  // Channels

  async function channelsView(route) {
    const [info, data] = await Promise.all([
      api('/api/v1/indices?' + new URLSearchParams({ area: route.area }).toString()),
      api('/api/v1/channels?' + new URLSearchParams({ area: route.area }).toString()),
    ]);
    const main = frame(route, info);
    const panel = el('section', { class: 'panel', 'aria-labelledby': 'channels-title' },
      el('h2', { id: 'channels-title', text: '各渠道回收样本量（按年）' }));
    const box = el('div', { class: 'chart', id: 'channels-chart' });
    panel.appendChild(box);
    const years = data.years.map((y) => y.period);
    const series = data.channels.map((ch, i) => ({
      name: CHANNEL_LABEL[ch] || ch, type: 'bar', stack: 'total', color: COLORS[i % COLORS.length],
      emphasis: { focus: 'series' }, data: data.years.map((y) => y.by_channel[ch]),
    }));
    const latest = data.years[data.years.length - 1];
    const summary = latest
      ? `堆积柱状图，各年各渠道样本量。${latest.period} 年共 ${int(latest.total)} 份，其中 ` +
        data.channels.map((ch) => `${CHANNEL_LABEL[ch]} ${int(latest.by_channel[ch])} 份`).join('，')
      : '暂无样本';
    makeChart(box, {
      tooltip: { trigger: 'axis' }, legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: 'category', data: years }, yAxis: { type: 'value' }, series,
    }, summary);
    const head = el('tr', {}, el('th', { scope: 'col', text: '年份' }),
      data.channels.map((ch) => el('th', { scope: 'col', class: 'num', text: CHANNEL_LABEL[ch] })),
      el('th', { scope: 'col', class: 'num', text: '合计' }), el('th', { scope: 'col', class: 'num', text: '其中未答完' }),
      el('th', { scope: 'col', class: 'num', text: '网页占比' }));
    const body = el('tbody');
    for (const y of data.years.slice().reverse()) {
      body.appendChild(el('tr', {}, el('th', { scope: 'row', text: y.period }),
        data.channels.map((ch) => el('td', { class: 'num', text: int(y.by_channel[ch]) })),
        el('td', { class: 'num', text: int(y.total) }), el('td', { class: 'num', text: int(y.partial) }),
        el('td', { class: 'num', text: y.total ? pct(y.by_channel.web / y.total) : '—' })));
    }
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data', id: 'channels-table' },
      el('caption', { text: '样本量按年份与渠道（含未答完的问卷）' }), el('thead', {}, head), body)));
    panel.appendChild(el('p', { class: 'muted small', text: `统计时间 ${Minyi.localTime(data.as_of)}（每分钟更新）。` }));
    main.appendChild(panel);

    const period = route.params.get('period') || info.period;
    const [rates, quality] = await Promise.all([
      api('/api/v1/response-rates?' + new URLSearchParams({ area: route.area, period }).toString()).catch((e) => e),
      api('/api/v1/quality?' + new URLSearchParams({ area: route.area, period }).toString()).catch((e) => e),
    ]);
    main.appendChild(ratesPanel(rates, period));
    main.appendChild(qualityPanel(quality, period));
  }

  const rate = (x) => (x === null || x === undefined ? '—' : pct(x));

  // Invitations (web tokens, SMS) and what became of them, for the area and the areas one level down.
  function ratesPanel(data, period) {
    const panel = el('section', { class: 'panel', id: 'rates', 'aria-labelledby': 'rates-title' },
      el('h2', { id: 'rates-title', text: `邀请与回复率（${period} 年）` }));
    if (data instanceof Error) {
      panel.appendChild(el('p', { class: 'muted', text: data.message }));
      return panel;
    }
    const t = data.total;
    if (!t.web.issued && !t.sms.invited) {
      panel.appendChild(el('p', { class: 'muted', text: '本年度本地区没有发放网页邀请链接或短信邀请（公开链接、微信群和文件导入的样本没有邀请数，无法计算回复率）。' }));
      return panel;
    }
    const stages = [
      ['短信邀请', t.sms.invited], ['已发出', t.sms.sent], ['确认送达（有回复）', t.sms.delivered],
      ['答完', t.sms.answered], ['部分作答', t.sms.partial], ['退订', t.sms.opted_out],
    ];
    const box = el('div', { class: 'chart', id: 'rates-chart' });
    panel.appendChild(box);
    const summary = `条形图：短信邀请 ${int(t.sms.invited)} 人，已发出 ${int(t.sms.sent)}，确认送达 ${int(t.sms.delivered)}，` +
      `答完 ${int(t.sms.answered)}（答完率 ${rate(t.sms.answer_rate)}），部分作答 ${int(t.sms.partial)}，退订 ${int(t.sms.opted_out)}；` +
      `网页邀请链接发放 ${int(t.web.issued)} 个，已使用 ${int(t.web.used)} 个（使用率 ${rate(t.web.use_rate)}）。`;
    makeChart(box, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 130, right: 40, top: 10, bottom: 30 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: stages.map((x) => x[0]).concat(['网页链接发放', '网页链接已使用']) },
      series: [{ type: 'bar', color: COLORS[0], label: { show: true, position: 'right' },
        data: stages.map((x) => x[1]).concat([t.web.issued, t.web.used]) }],
    }, summary);
    const head = el('tr', {}, el('th', { scope: 'col', text: '地区' }),
      ['网页链接发放', '已使用', '使用率', '短信邀请', '已发出', '发送失败', '确认送达', '答完', '部分作答', '退订', '未识别回复', '答完率']
        .map((h) => el('th', { scope: 'col', class: 'num', text: h })));
    const line = (label, c, strong) => el('tr', { class: strong ? 'total' : '' }, el('th', { scope: 'row', text: label }),
      [int(c.web.issued), int(c.web.used), rate(c.web.use_rate), int(c.sms.invited), int(c.sms.sent), int(c.sms.failed),
        int(c.sms.delivered), int(c.sms.answered), int(c.sms.partial), int(c.sms.opted_out), int(c.sms.unparsed),
        rate(c.sms.answer_rate)].map((v) => el('td', { class: 'num', text: v })));
    const body = el('tbody');
    for (const r of data.rows) {
      if (r.web.issued || r.sms.invited || r.sms.unparsed) body.appendChild(line(r.name, r, false));
    }
    if (data.unplaced) body.appendChild(line('乡镇未确定', data.unplaced, false));
    body.appendChild(line(`${data.area.name}合计`, t, true));
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data compact', id: 'rates-table' },
      el('caption', { text: '按地区的邀请与回复（只列有邀请的地区）' }), el('thead', {}, head), body)));
    panel.appendChild(el('p', { class: 'muted small', text:
      '网页：本年度生成的邀请链接及其中已提交问卷的个数。短信：本年度每个邀请号码一次会话；“已发出”指短信网关已接收（或居民已回复），' +
      '“确认送达”指居民至少回复过一次（系统不接收网关的送达回执）；“部分作答”指过期时只答了部分题目；“乡镇未确定”为尚未回答所在乡镇的会话。' +
      `统计时间 ${Minyi.localTime(data.as_of)}（每分钟更新）。` }));
    return panel;
  }

  const REASON_LABEL = {
    invalid_answers: '答案不符合问卷', invalid_town: '乡镇代码无效', invalid_period: '缺少或无效的年度',
    period_closed: '年度已结束', invalid_token: '邀请链接无效', unknown_survey: '未知问卷',
    forbidden_survey: '无权提交该问卷', invalid_json: 'JSON 格式错误', malformed: '字段缺失或类型错误', invalid: '其他校验失败',
    town_cap: '超过乡镇网上答卷上限', no_device_cookie: '未带设备 Cookie 的提交', invitation_required: '仅限受邀居民（无邀请链接）',
  };
  const SOURCE_LABEL = { web: '网页', api: '接口', sms: '短信', wechat: '微信群', import: '文件导入' };

  // What the collectors refused: unparsed SMS replies, rejected submissions, import runs with rejected rows.
  function qualityPanel(data, period) {
    const panel = el('section', { class: 'panel', id: 'quality', 'aria-labelledby': 'quality-title' },
      el('h2', { id: 'quality-title', text: `数据质量（${period} 年）` }));
    if (data instanceof Error) {
      panel.appendChild(el('p', { class: 'muted', text: data.message }));
      return panel;
    }
    const u = data.unparsed_sms;
    const r = data.rejections;
    panel.appendChild(el('div', { class: 'kpis' },
      el('div', { class: 'kpi panel' }, el('div', { class: 'kpi-title', text: '无法识别的短信回复' }),
        el('div', { class: 'kpi-value', id: 'quality-unparsed', text: int(u.total) })),
      el('div', { class: 'kpi panel' }, el('div', { class: 'kpi-title', text: '被拒收的提交（网页/接口）' }),
        el('div', { class: 'kpi-value', id: 'quality-rejected', text: int(r.total) })),
      el('div', { class: 'kpi panel' }, el('div', { class: 'kpi-title', text: '有拒收行的导入' }),
        el('div', { class: 'kpi-value', id: 'quality-imports', text: int(data.imports.length) }))));

    if (r.rows.length) {
      const box = el('div', { class: 'chart', id: 'rejections-chart' });
      panel.appendChild(box);
      const rows = r.rows.slice(0, 10);
      const label = (x) => `${SOURCE_LABEL[x.channel] || x.channel}：${REASON_LABEL[x.reason] || x.reason}`;
      makeChart(box, {
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        grid: { left: 190, right: 40, top: 10, bottom: 30 },
        xAxis: { type: 'value' }, yAxis: { type: 'category', inverse: true, data: rows.map(label) },
        series: [{ type: 'bar', color: COLORS[4], label: { show: true, position: 'right' }, data: rows.map((x) => x.count) }],
      }, `条形图，被拒收的提交按原因：${rows.map((x) => `${label(x)} ${x.count} 次`).join('，')}`);
    }
    const reasonBody = el('tbody');
    for (const x of r.rows) {
      reasonBody.appendChild(el('tr', {}, el('th', { scope: 'row', text: SOURCE_LABEL[x.channel] || x.channel }),
        el('td', { text: REASON_LABEL[x.reason] || x.reason }), el('td', { class: 'num', text: int(x.count) }),
        el('td', { text: Minyi.localTime(x.last_at) })));
    }
    if (!r.rows.length) reasonBody.appendChild(el('tr', {}, el('td', { colspan: '4', class: 'muted', text: '没有被拒收的提交' })));
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data compact', id: 'rejections-table' },
      el('caption', { text: '被拒收的提交（按渠道与原因）' }),
      el('thead', {}, el('tr', {}, ['渠道', '原因', '次数', '最近一次'].map((h, i) => el('th', { scope: 'col', class: i === 2 ? 'num' : '', text: h })))),
      reasonBody)));

    const smsBody = el('tbody');
    for (const x of u.rows) smsBody.appendChild(el('tr', {}, el('th', { scope: 'row', text: x.name }), el('td', { class: 'num', text: int(x.count) })));
    if (u.unplaced) smsBody.appendChild(el('tr', {}, el('th', { scope: 'row', text: '乡镇未确定' }), el('td', { class: 'num', text: int(u.unplaced) })));
    if (!u.total) smsBody.appendChild(el('tr', {}, el('td', { colspan: '2', class: 'muted', text: '没有无法识别的短信回复' })));
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data compact', id: 'unparsed-table' },
      el('caption', { text: '无法识别的短信回复（已礼貌重问一次仍无法识别，按原文保留，不作猜测）' }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: '地区' }), el('th', { scope: 'col', class: 'num', text: '条数' }))),
      smsBody)));

    const importBody = el('tbody');
    for (const x of data.imports) {
      importBody.appendChild(el('tr', {}, el('td', { text: Minyi.localTime(x.at) }), el('td', { text: x.command }),
        el('td', { text: x.file }), el('td', { text: x.actor }), el('td', { text: x.area ? x.area.name : '—' }),
        [x.read, x.stored, x.duplicates, x.rejected].map((v) => el('td', { class: 'num', text: int(v) }))));
    }
    if (!data.imports.length) importBody.appendChild(el('tr', {}, el('td', { colspan: '9', class: 'muted', text: '没有含拒收行的导入' })));
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data compact', id: 'imports-table' },
      el('caption', { text: '含拒收行的导入（最近 50 次）' }),
      el('thead', {}, el('tr', {}, ['时间', '命令', '文件', '操作人', '地区', '读取', '入库', '重复', '拒收']
        .map((h, i) => el('th', { scope: 'col', class: i >= 5 ? 'num' : '', text: h })))),
      importBody)));
    panel.appendChild(el('p', { class: 'muted small', text:
      '被拒收的提交按乡镇计入（无法确定乡镇的只在全省视图中显示）；导入按其所有入库行所在的最小地区计入。' +
      `统计时间 ${Minyi.localTime(data.as_of)}（每分钟更新）。` }));
    return panel;
  }

  // ------------------------------------------------------------------------------------------
  // Comments

  async function commentsView(route) {
    const info = await api('/api/v1/indices?' + new URLSearchParams({ area: route.area }).toString());
    const period = route.params.get('period') || info.period;
    const data = await api('/api/v1/comments?' + new URLSearchParams({ area: route.area, period }).toString());
    const main = frame(route, info);
    const controls = el('div', { class: 'controls' });
    const select = el('select', { id: 'comments-period', 'aria-label': '年份' });
    for (const p of info.periods.slice().reverse()) select.appendChild(el('option', { value: p, selected: p === period, text: `${p} 年` }));
    select.addEventListener('change', () => go('comments', route.area, new URLSearchParams({ period: select.value })));
    controls.appendChild(el('label', { for: 'comments-period', text: '年份 ' }));
    controls.appendChild(select);
    controls.appendChild(el('span', { class: 'muted small', text: `共 ${int(data.total)} 条意见建议；电话、证件号、姓名等个人信息已隐去。` }));
    main.appendChild(controls);

    const grid = el('div', { class: 'grid-2' });
    const topicsPanel = el('section', { class: 'panel', 'aria-labelledby': 'topics-title' },
      el('h2', { id: 'topics-title', text: '意见主题' }));
    const box = el('div', { class: 'chart', id: 'topics-chart' });
    topicsPanel.appendChild(box);
    const topics = data.topics.filter((t) => t.count > 0);
    const shownTopics = topics.slice().reverse();
    makeChart(box, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 90, right: 30, top: 10, bottom: 30 },
      xAxis: { type: 'value' }, yAxis: { type: 'category', data: shownTopics.map((t) => t.name) },
      series: [{ type: 'bar', data: shownTopics.map((t) => t.count), color: COLORS[0], label: { show: true, position: 'right' } }],
    }, `条形图，意见主题条数：${topics.map((t) => `${t.name} ${t.count} 条`).join('，') || '无'}`);
    const tbody = el('tbody');
    for (const t of topics) tbody.appendChild(el('tr', {}, el('th', { scope: 'row', text: t.name }), el('td', { class: 'num', text: int(t.count) })));
    topicsPanel.appendChild(el('details', { class: 'alt-table' }, el('summary', { text: '以表格查看主题条数' }),
      el('table', { class: 'data compact' }, el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: '主题' }), el('th', { scope: 'col', class: 'num', text: '条数' }))), tbody)));
    topicsPanel.appendChild(el('p', { class: 'muted small', text: `按最近 ${int(data.topic_basis)} 条意见统计；一条意见可属于多个主题。关键词词典：conf/topics.json。` }));
    grid.appendChild(topicsPanel);

    const listPanel = el('section', { class: 'panel', 'aria-labelledby': 'comments-title' },
      el('h2', { id: 'comments-title', text: `最新意见（${data.comments.length} 条）` }));
    const list = el('ul', { class: 'comments', id: 'comments-list' });
    for (const c of data.comments) {
      list.appendChild(el('li', {},
        el('p', { class: 'comment-text', text: c.text }),
        el('div', { class: 'comment-meta' }, el('span', { class: 'muted small', text: `${c.period} 年 · ${c.town_name || c.town_code}` }),
          c.topics.map((t) => el('span', { class: 'chip small', text: t })))));
    }
    if (!data.comments.length) list.appendChild(el('li', { class: 'muted', text: '暂无意见建议' }));
    listPanel.appendChild(list);
    grid.appendChild(listPanel);
    main.appendChild(grid);
  }

  // ------------------------------------------------------------------------------------------

  async function render() {
    const route = parseRoute();
    const me = Minyi.me;
    if (!route.area || !VIEWS.some(([id]) => id === route.view)) {
      const home = me.home[0];
      if (!home) {
        frame(route, null).appendChild(Minyi.errorPanel({ status: 403, message: '该账号未分配可查看的地区。' }));
        return;
      }
      go('overview', home.code);
      return;
    }
    try {
      if (route.view === 'overview') await overview(route);
      else if (route.view === 'map') await mapView(route);
      else if (route.view === 'trend') await trendView(route);
      else if (route.view === 'channels') await channelsView(route);
      else await commentsView(route);
      document.title = `${document.getElementById('area-title') ? document.getElementById('area-title').firstChild.textContent : ''} · 民意数据看板`;
    } catch (e) {
      frame(route, null).appendChild(Minyi.errorPanel(e));
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    app = document.getElementById('app');
    try {
      const me = await Minyi.loadMe();
      if (!me.may_view_dashboards) {
        clear(app).appendChild(Minyi.header('dashboard'));
        app.appendChild(Minyi.errorPanel({ status: 403, message: '该账号（网格员）无权查看统计看板。' }));
        return;
      }
    } catch (e) {
      return;  // redirected to the login page
    }
    window.addEventListener('hashchange', render);
    render();
  });
})();
