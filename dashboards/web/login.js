'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('login-form');
  const error = document.getElementById('login-error');
  const submit = document.getElementById('login-submit');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const username = document.getElementById('username').value.trim();
    const password = document.getElementById('password').value;
    if (!username || !password) {
      error.textContent = '请输入用户名和密码';
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = '正在登录…';
    try {
      const response = await fetch('/api/v1/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify({ username, password }),
      });
      if (response.ok) {
        // Only a path on this site (safe_next.js): never another origin.
        window.location.assign(
            minyiSafeNext(new URLSearchParams(window.location.search).get('next'), '/dashboard'));
        return;
      }
      let message = '登录失败';
      try {
        const data = await response.json();
        if (data && data.error && data.error.message) message = data.error.message;
      } catch (e) { /* not JSON */ }
      error.textContent = message;
      error.hidden = false;
    } catch (e) {
      error.textContent = '无法连接服务器';
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = '登录';
    }
  });
});
