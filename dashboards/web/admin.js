// Account administration: list users, add one, disable/enable; the latest audit events.
'use strict';

(() => {
  const { el, clear, api } = Minyi;
  const ROLES = [['official', '领导干部'], ['statistician', '统计人员'], ['grid_worker', '网格员'], ['admin', '管理员']];
  const ACTIONS = {
    login: '登录', login_failed: '登录失败', login_throttled: '登录被限制', logout: '退出', view_area: '查看其他地区',
    export: '导出', user_add: '新增账号', user_disable: '停用账号', user_enable: '启用账号', password_change: '修改密码',
  };
  let app;

  function message(node, text, ok) {
    node.textContent = text;
    node.className = ok ? 'form-ok' : 'form-error';
    node.hidden = false;
  }

  async function renderUsers(panel) {
    const data = await api('/api/v1/users');
    const body = el('tbody');
    for (const u of data.users) {
      const toggle = el('button', { type: 'button', class: 'btn btn-small' + (u.disabled ? '' : ' btn-danger'),
        'data-user': u.username, text: u.disabled ? '启用' : '停用' });
      toggle.addEventListener('click', async () => {
        if (!u.disabled && !window.confirm(`确定停用账号 ${u.username}？其登录状态将立即失效。`)) return;
        try {
          await api(`/api/v1/users/${encodeURIComponent(u.username)}/${u.disabled ? 'enable' : 'disable'}`, { method: 'POST' });
          await refresh();
        } catch (e) {
          window.alert(e.message);
        }
      });
      body.appendChild(el('tr', { class: u.disabled ? 'low-n' : '' },
        el('th', { scope: 'row', text: u.username }),
        el('td', { text: u.role_label }),
        el('td', { text: u.areas.length ? u.areas.map((a) => a.name || a.code).join('；') : '全省' }),
        el('td', {}, el('span', { class: u.disabled ? 'chip chip-muted' : 'chip chip-up', text: u.disabled ? '已停用' : '正常' })),
        el('td', { class: 'small muted', text: Minyi.localTime(u.created_at) }),
        el('td', {}, toggle)));
    }
    panel.appendChild(el('div', { class: 'table-scroll' }, el('table', { class: 'data', id: 'users' },
      el('caption', { text: `共 ${data.users.length} 个账号` }),
      el('thead', {}, el('tr', {}, ['用户名', '角色', '负责地区', '状态', '创建时间', '操作'].map((h) => el('th', { scope: 'col', text: h })))),
      body)));
  }

  function addForm() {
    const status = el('p', { role: 'status', hidden: true });
    const form = el('form', { id: 'add-user', class: 'form-grid', novalidate: true },
      el('label', { for: 'new-username', text: '用户名' }),
      el('input', { id: 'new-username', required: true, pattern: '[a-z0-9][a-z0-9_.\\-]{2,31}', placeholder: '小写字母、数字，3–32 位' }),
      el('label', { for: 'new-role', text: '角色' }),
      el('select', { id: 'new-role' }, ROLES.map(([v, l]) => el('option', { value: v, text: l }))),
      el('label', { for: 'new-areas', text: '负责地区代码' }),
      el('input', { id: 'new-areas', placeholder: '如 320812；多个用逗号分隔（管理员、统计人员不填）' }),
      el('label', { for: 'new-password', text: '初始密码' }),
      el('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', placeholder: '至少 10 个字符' }),
      el('span'), el('button', { type: 'submit', class: 'btn btn-primary', text: '新增账号' }),
      el('span'), status);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const areas = document.getElementById('new-areas').value.split(/[,，\s]+/).filter(Boolean);
      try {
        await api('/api/v1/users', { method: 'POST', body: {
          username: document.getElementById('new-username').value.trim(),
          role: document.getElementById('new-role').value,
          areas,
          password: document.getElementById('new-password').value,
        } });
        form.reset();
        message(status, '账号已创建', true);
        await refresh();
      } catch (e) {
        message(status, e.message, false);
      }
    });
    return form;
  }

  async function renderAudit(panel) {
    const data = await api('/api/v1/audit?limit=100');
    const body = el('tbody');
    for (const e of data.events) {
      body.appendChild(el('tr', { class: e.action === 'login_failed' || e.action === 'login_throttled' ? 'warn-row' : '' },
        el('td', { class: 'small', text: Minyi.localTime(e.at) }), el('td', { text: e.username }),
        el('td', { text: ACTIONS[e.action] || e.action }), el('td', { text: e.area_code }),
        el('td', { class: 'small muted', text: e.remote_address }), el('td', { class: 'small', text: e.detail })));
    }
    panel.appendChild(el('div', { class: 'table-scroll tall' }, el('table', { class: 'data compact', id: 'audit' },
      el('caption', { text: '最近 100 条审计记录' }),
      el('thead', {}, el('tr', {}, ['时间', '用户', '操作', '地区', '地址', '说明'].map((h) => el('th', { scope: 'col', text: h })))),
      body)));
  }

  async function refresh() {
    clear(app);
    app.appendChild(Minyi.header('admin'));
    const main = el('main', { class: 'content' }, el('div', { class: 'titlebar' }, el('h1', { text: '账号管理' })));
    const grid = el('div', { class: 'grid-2' });
    const users = el('section', { class: 'panel' }, el('h2', { text: '账号' }));
    const add = el('section', { class: 'panel' }, el('h2', { text: '新增账号' }), addForm());
    grid.appendChild(users);
    grid.appendChild(add);
    main.appendChild(grid);
    const audit = el('section', { class: 'panel' }, el('h2', { text: '审计日志' }));
    main.appendChild(audit);
    app.appendChild(main);
    try {
      await renderUsers(users);
      await renderAudit(audit);
    } catch (e) {
      main.appendChild(Minyi.errorPanel(e));
    }
  }

  document.addEventListener('DOMContentLoaded', async () => {
    app = document.getElementById('app');
    try {
      await Minyi.loadMe();
    } catch (e) {
      return;
    }
    if (Minyi.me.role !== 'admin') {
      clear(app).appendChild(Minyi.header('admin'));
      app.appendChild(Minyi.errorPanel({ status: 403, message: '仅管理员可以管理账号。' }));
      return;
    }
    refresh();
  });
})();
