'use strict';

// Where the login page may send the browser after a successful login (the `next` query parameter).
// Only a path on this site: it must start with one "/" followed by a character that is neither "/"
// nor "\" (browsers read "//host" and "/\host" as another site), checked on the text as given and
// after percent-decoding until nothing changes (a check on one decoding is passed by encoding twice),
// with no control character or whitespace anywhere (browsers drop TAB, CR and LF inside URLs, so
// "/\t/evil.com" becomes "//evil.com"). Anything else gives `fallback`. As a last guard the URL
// parser of the browser must agree that the result stays on this origin.
// Loaded by login.html before login.js; also loaded by dashboards/web/safe_next_test.mjs under node.
function minyiSafeNext(raw, fallback) {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 2048) return fallback;
  const forms = [raw];
  let decoded = raw;
  for (let round = 0; ; round++) {
    let next;
    try {
      next = decodeURIComponent(decoded);
    } catch (e) {
      return fallback;  // a malformed escape
    }
    if (next === decoded) break;
    if (round === 4) return fallback;  // still changing after five decodings
    decoded = next;
    forms.push(decoded);
  }
  // \s is Unicode whitespace (U+00A0, U+2028, U+3000 ...); then C0, DEL, C1, zero-width and bidi marks.
  const forbidden = /[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]/;
  for (const form of forms) {
    if (!/^\/[^/\\]/.test(form) || forbidden.test(form)) return fallback;
  }
  try {
    const base = 'https://minyi.invalid';
    if (new URL(raw, base).origin !== base) return fallback;
  } catch (e) {
    return fallback;
  }
  return raw;
}

if (typeof module === 'object' && module.exports) module.exports = { minyiSafeNext };
