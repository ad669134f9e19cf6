// What every browser test shares: finding playwright-core and Debian's Chromium (a failure naming
// what is missing: a part of the suite that cannot run must not pass as skipped), a temporary work directory, `minyi` runs with the test's global options,
// a `minyi serve` on a free port, Chromium launched with the flags these machines need
// (`chromiumArgs` below), and the ok/FAIL checks with the process exit code.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

// Parses `node <script> <minyi> [artifacts]`, checks the prerequisites and makes the work directory.
export async function setUp(script, defaultArtifacts) {
  const minyi = process.argv[2];
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch (e) {
    console.log('FAIL: playwright-core is not installed (./minyi.sh deps runs npm ci in tests/browser)');
    process.exit(1);
  }
  if (!fs.existsSync(chromiumPath)) {
    console.log('FAIL: /usr/bin/chromium is not installed (./minyi.sh deps installs Debian chromium)');
    process.exit(1);
  }
  if (!minyi || !fs.existsSync(minyi)) {
    console.error(`usage: node ${script} <minyi binary> [artifacts dir]`);
    process.exit(1);
  }
  const artifacts = process.argv[3] || defaultArtifacts(minyi);
  fs.mkdirSync(artifacts, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'minyi-browser-'));
  return { chromium, minyi, artifacts, work };
}

// ok/FAIL lines; finish() prints the verdict and exits 0 or 1.
export function checks() {
  const failures = [];
  return {
    failures,
    check(cond, what) {
      console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
      if (!cond) failures.push(what);
    },
    fail(e) {
      console.log(`FAIL ${e.stack || e}`);
      failures.push(String(e));
    },
    finish() {
      console.log(failures.length === 0 ? 'PASS' : `${failures.length} check(s) failed`);
      process.exit(failures.length === 0 ? 0 : 1);
    },
  };
}

// Runs `minyi <global> <args>` to completion; throws on a non-zero exit.
export function runMinyi(minyi, global, args, input) {
  const r = spawnSync(minyi, global.concat(args), { input, encoding: 'utf8', timeout: 300000 });
  if (r.status !== 0) throw new Error(`minyi ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

// Starts `minyi serve` on a free port; resolves to { server, base } once it listens (30 s at most).
export async function startServer(minyi, global, work) {
  const portFile = path.join(work, 'port');
  const server = spawn(minyi, global.concat(['-D', 'http.port=0', 'serve', '--port-file', portFile]),
    { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 300 && !(fs.existsSync(portFile) && fs.readFileSync(portFile, 'utf8').trim()); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!fs.existsSync(portFile)) throw new Error('minyi serve did not start within 30 s');
  return { server, base: `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}` };
}

// Chromium with a fresh profile in the work directory (playwright passes it as --user-data-dir).
export function launch(chromium, work, contextOptions) {
  return chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
    executablePath: chromiumPath, headless: true, args: chromiumArgs, locale: 'zh-CN', ...contextOptions,
  });
}
