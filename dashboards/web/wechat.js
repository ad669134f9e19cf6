// The WeChat export and questionnaire upload page: sends the chosen file as the raw body of
// POST /api/v1/imports/wechat with the session's CSRF token, then shows the report (a chat report, or
// a questionnaire report when the server recognized a 问卷星/腾讯问卷 export: "kind":"questionnaire").
// An area code, when given, is sent instead of the town (area=: a county- or city-wide questionnaire
// placed row by row by its town column; the server refuses it for chat exports).
// Every value from the server goes in as text (textContent), never as markup.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  let csrf = '';

  function show(id, text) {
    const node = $(id);
    node.textContent = text;
    node.hidden = !text;
  }

  function row(list, label, value) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    list.append(dt, dd);
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function renderQuestionnaire(report) {
    const summary = $('wechat-summary');
    clear(summary);
    const provider = report.provider === 'txwj' ? '腾讯问卷' : '问卷星';
    row(summary, '问卷', `${provider} ${report.questionnaire_id}（${report.format}）`);
    row(summary, '读取行数', report.rows);
    row(summary, '新增 / 修改 / 重复', `${report.stored} / ${report.revisions} / ${report.duplicates}`);
    row(summary, '未采用的行', report.rejected);
    $('wechat-issues-title').textContent = '未采用的行';
    const issues = $('wechat-issues');
    clear(issues);
    for (const warning of report.warnings || []) {
      const li = document.createElement('li');
      li.textContent = `提示：${warning}`;
      issues.append(li);
    }
    for (const issue of report.issues || []) {
      const li = document.createElement('li');
      li.textContent = `第 ${issue.row} 行${issue.ref ? '（' + issue.ref + '）' : ''}：${issue.reason}`;
      issues.append(li);
    }
    if (report.issues_dropped) {
      const li = document.createElement('li');
      li.textContent = `另有 ${report.issues_dropped} 行未列出`;
      issues.append(li);
    }
    $('wechat-report').hidden = false;
  }

  function render(report) {
    if (report.kind === 'questionnaire') return renderQuestionnaire(report);
    const summary = $('wechat-summary');
    clear(summary);
    $('wechat-issues-title').textContent = '未采用的消息';
    row(summary, '读取消息', report.messages_read);
    row(summary, '调查提问', report.prompts_found);
    row(summary, '接龙', `${report.solitaire_threads} 个，${report.solitaire_entries} 条`);
    row(summary, '采用的回答', report.answers_accepted);
    row(summary, '未能识别的回复', report.not_understood);
    row(summary, '重复消息', report.duplicate_messages);
    row(summary, '新增 / 修改 / 重复', `${report.stored} / ${report.revisions} / ${report.duplicates}`);
    const issues = $('wechat-issues');
    clear(issues);
    for (const issue of report.issues || []) {
      const li = document.createElement('li');
      li.textContent = `${issue.line ? '第 ' + issue.line + ' 行' : '文件'}：${issue.reason}${issue.text ? '：' + issue.text : ''}`;
      issues.append(li);
    }
    $('wechat-report').hidden = false;
  }

  async function loadMe() {
    const response = await fetch('/api/v1/me', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.status === 401) {
      window.location.assign('/login?next=' + encodeURIComponent('/import/wechat'));
      return;
    }
    const me = await response.json();
    csrf = me.csrf_token || '';
    if (me.home && me.home.length === 1 && me.home[0].level === 'town') $('town').value = me.home[0].code;
  }

  async function submit(event) {
    event.preventDefault();
    show('wechat-error', '');
    const file = $('file').files[0];
    if (!file) return show('wechat-error', '请选择聊天记录或问卷结果文件');
    const area = $('area').value.trim();
    const params = new URLSearchParams({
      period: $('period').value.trim(), survey: $('survey').value.trim(),
      grid_workers: $('grid-workers').value.trim(), name: file.name,
    });
    if (area) params.set('area', area);
    else params.set('town', $('town').value.trim());
    const questionnaire = $('questionnaire').value.trim();
    if (questionnaire) params.set('questionnaire', questionnaire);
    $('wechat-submit').disabled = true;
    try {
      const response = await fetch('/api/v1/imports/wechat?' + params.toString(), {
        method: 'POST', credentials: 'same-origin', body: file,
        headers: { 'Content-Type': 'application/octet-stream', 'X-CSRF-Token': csrf, Accept: 'application/json' },
      });
      const data = await response.json().catch(() => null);
      $('wechat-report').hidden = true;
      if (data && data.report) render(data.report);
      if (!response.ok) {
        show('wechat-error', data && data.error ? data.error.message : `导入失败（${response.status}）`);
        return;
      }
      render(data);
    } catch (e) {
      show('wechat-error', '网络错误，请重试');
    } finally {
      $('wechat-submit').disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('wechat-form').addEventListener('submit', submit);
    loadMe().catch(() => show('wechat-error', '无法读取登录信息，请刷新页面'));
  });
})();
