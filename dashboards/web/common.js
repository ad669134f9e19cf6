// Shared helpers of the minyi pages. No innerHTML with data anywhere: every value goes in through
// textContent or attributes, so text from the server can never become markup.
'use strict';

const Minyi = (() => {
  let csrfToken = '';
  let me = null;

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, options = {}) {
    const init = { method: options.method || 'GET', headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (options.body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (init.method !== 'GET') init.headers['X-CSRF-Token'] = csrfToken;
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      const message = data && data.error && data.error.message ? data.error.message : `请求失败（${response.status}）`;
      if (response.status === 401 && !options.allow401) {
        window.location.assign('/login?next=' + encodeURIComponent(window.location.pathname + window.location.hash));
      }
      throw new ApiError(response.status, message);
    }
    return data;
  }

  async function loadMe() {
    me = await api('/api/v1/me');
    csrfToken = me.csrf_token;
    return me;
  }

  async function logout() {
    try {
      await api('/api/v1/logout', { method: 'POST' });
    } finally {
      window.location.assign('/login');
    }
  }

  function pct(x, digits = 1) {
    return x === null || x === undefined ? '—' : (x * 100).toFixed(digits) + '%';
  }
  function pp(x) {
    if (x === null || x === undefined) return '—';
    const v = x * 100;
    return (v > 0 ? '+' : v < 0 ? '−' : '±') + Math.abs(v).toFixed(1) + ' 个百分点';
  }
  function ci(v) {
    return !v || !v.ci || v.ci[0] === null ? '—' : pct(v.ci[0]) + ' – ' + pct(v.ci[1]);
  }
  function int(n) {
    return n === null || n === undefined ? '—' : Number(n).toLocaleString('zh-CN');
  }
  function localTime(iso) {
    if (!iso) return '—';
    const d = new Date(iso.replace(' ', 'T').replace(/Z?$/, 'Z'));
    return isNaN(d.getTime()) ? iso : d.toLocaleString('zh-CN', { hour12: false });
  }

  // The header shared by the pages: product name, navigation, the user and a logout button.
  function header(active) {
    const nav = el('nav', { class: 'topnav', 'aria-label': '主导航' },
      el('a', { href: '/dashboard', class: active === 'dashboard' ? 'active' : null, text: '数据看板' }),
      me && me.role === 'admin' ? el('a', { href: '/admin', class: active === 'admin' ? 'active' : null, text: '账号管理' }) : null);
    const user = el('div', { class: 'user' },
      el('span', { class: 'user-name', text: me ? me.username : '' }),
      el('span', { class: 'badge', text: me ? me.role_label : '' }),
      el('button', { type: 'button', class: 'btn btn-ghost', id: 'logout', text: '退出登录', onclick: logout }));
    return el('header', { class: 'topbar' },
      el('div', { class: 'brand' }, el('span', { class: 'logo', 'aria-hidden': 'true', text: '民' }),
        el('div', {}, el('div', { class: 'brand-name', text: '民意 · 平安建设群众满意度' }),
          el('div', { class: 'brand-sub', text: '群众安全感 · 网格工作满意率' }))),
      nav, user);
  }

  function errorPanel(error) {
    const forbidden = error && error.status === 403;
    return el('div', { class: 'panel error-panel', role: 'alert', 'data-status': error && error.status },
      el('h2', { text: forbidden ? '无权访问' : '无法加载数据' }),
      el('p', { text: error && error.message ? error.message : String(error) }),
      forbidden ? el('p', { class: 'muted', text: '您只能查看本人负责地区的数据。此次访问已被拒绝。' }) : null,
      el('p', {}, el('a', { href: '/dashboard', text: '返回我的地区' })));
  }

  return { el, clear, api, loadMe, logout, pct, pp, ci, int, localTime, header, errorPanel, ApiError, get me() { return me; } };
})();
