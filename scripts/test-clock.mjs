#!/usr/bin/env node
/**
 * `npm run test:clock [-- SHIFT [vitest args...]]`: the whole suite with the wall clock shifted
 * (default +400 days), to prove that no test holds only in the week it was written. Every
 * process the suite starts (dynalite, cognito-local, moto) sees the same shifted clock through
 * libfaketime (Debian package `faketime`); monotonic clocks stay real, so timeouts and timers
 * behave as usual. SHIFT is libfaketime's relative form: +400d, -400d, +36h.
 */
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const shift = args[0] !== undefined && /^[+-]\d+[smhdy]?$/.test(args[0]) ? args.shift() : '+400d';

const probe = spawnSync('faketime', ['-f', shift, 'date', '-u', '+%Y-%m-%dT%H:%M:%SZ'], { encoding: 'utf8' });
if (probe.error !== undefined || probe.status !== 0) {
  process.stderr.write(
    'test:clock needs libfaketime: apt-get install faketime (Debian/Ubuntu), brew install libfaketime (macOS).\n',
  );
  process.exit(1);
}
process.stdout.write(`test:clock: running the suite at ${probe.stdout.trim()} (real clock ${shift})\n`);

const result = spawnSync('faketime', ['-f', shift, 'npx', 'vitest', 'run', ...args], {
  stdio: 'inherit',
  env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
});
process.exit(result.status ?? 1);
