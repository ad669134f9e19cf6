// Table-driven test of minyiSafeNext (safe_next.js), the login page's check of `next`, under node's
// test runner (no browser needed). Regression (issue 13): "/%5Cevil.com" and "/%09/evil.com" passed the
// old check (starts with "/" but not "//"); a browser reads them as "/\evil.com" and "//evil.com".
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import test from 'node:test';

const require = createRequire(import.meta.url);
const { minyiSafeNext } = require('./safe_next.js');

// What URLSearchParams.get('next') hands the check for a query string "?next=<raw>".
const nextOf = (query) => new URLSearchParams(query).get('next');

test('same-site paths pass unchanged', () => {
  for (const path of ['/dashboard', '/admin', '/import/wechat', '/dashboard#area=320812&level=town',
    '/dashboard?period=2025', '/d/%E6%B8%85%E6%B1%9F', '/a/b/c']) {
    assert.equal(minyiSafeNext(path, '/dashboard'), path, path);
  }
});

test('open redirects and odd forms fall back to the default page', () => {
  const hostile = [
    '//evil.com', '///evil.com', '/\\evil.com', '\\\\evil.com', '/\\/evil.com', '\\/evil.com',
    '/%5Cevil.com', '/%5cevil.com', '/%2F/evil.com', '/%2f%2fevil.com', '%2F%2Fevil.com', '/%252F/evil.com',
    '/%25252F/evil.com', '/%5C%5Cevil.com', '/%09/evil.com', '/\t/evil.com', '\t//evil.com', '/ /evil.com',
    '/%0D%0A/evil.com', '/\r\n/evil.com', '/%0a/evil.com', '/dashboard%0d%0aSet-Cookie:x=y', '/%00/evil.com',
    '/\u0000', '/%7F', '/%C2%85/evil.com', '/\u2028/evil.com', '/\u3000/evil.com', '/%E2%80%AE/moc.live',
    '/\u200b/evil.com', '/\ufeff/evil.com', 'https://evil.com', 'http:evil.com', 'HTTPS://evil.com',
    '//evil.com/%2e%2e', 'javascript:alert(1)', 'JaVaScRiPt:alert(1)', '/javascript:alert(1)%0a',
    'data:text/html,x', 'vbscript:x', 'evil.com', '.evil.com', '@evil.com', '', '/', '%', '/%', '/%zz',
    '/%E0%A4%A', ' /dashboard', '/dashboard ', '/x'.padEnd(3000, 'x'),
  ];
  for (const raw of hostile) assert.equal(minyiSafeNext(raw, '/dashboard'), '/dashboard', JSON.stringify(raw));
  assert.equal(minyiSafeNext(null, '/dashboard'), '/dashboard');
  assert.equal(minyiSafeNext(undefined, '/dashboard'), '/dashboard');
});

test('as read from the query string of /login', () => {
  const cases = [
    ['next=/%5Cevil.com', '/dashboard'],
    ['next=/%09/evil.com', '/dashboard'],
    ['next=%2F%2Fevil.com', '/dashboard'],
    ['next=/%255Cevil.com', '/dashboard'],
    ['next=/%0D%0ALocation:%20//evil.com', '/dashboard'],
    ['next=https%3A%2F%2Fevil.com', '/dashboard'],
    ['next=javascript%3Aalert(1)', '/dashboard'],
    ['next=/admin', '/admin'],
    ['next=%2Fdashboard%23area%3D320812', '/dashboard#area=320812'],
    ['', '/dashboard'],
  ];
  for (const [query, want] of cases) assert.equal(minyiSafeNext(nextOf(query), '/dashboard'), want, query);
});
