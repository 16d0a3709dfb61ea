#!/usr/bin/env node
/**
 * The two Python tools the project needs and cannot get from npm: `cfn-lint` (AWS's
 * CloudFormation linter, run by `npm run synth`) and `moto` (the AWS emulator the S3/KMS
 * tests start). Everything that runs them asks this module where they are.
 *
 * Resolution, in order:
 *   1. A machine that already has both (a `cfn-lint` on PATH and a `python3` that imports
 *      `moto.server`) keeps using them: nothing is installed.
 *   2. Otherwise the project's own virtual environment `.venv/` (git-ignored), provisioned from
 *      `requirements/python-tools.txt` (every package of both tools' dependency closure pinned
 *      to an exact version, installed with `--no-deps` so nothing unpinned comes in; with
 *      `--require-hashes` as soon as the file carries hashes). The user's global Python is never
 *      touched: only `python3 -m venv` and the venv's own pip run.
 *
 * Plain JavaScript (no tsx, no dependencies) because `npm ci` runs it as the `postinstall` step,
 * and typed by `python-tools.d.mts` for the TypeScript callers.
 *
 * CLI: `node scripts/python-tools.mjs ensure` (provision if needed, print where the tools are),
 * `node scripts/python-tools.mjs postinstall` (the same, but a failure only warns, so `npm ci`
 * itself never fails for want of Python; `npm run synth` and the tests then fail with the reason).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root folder. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The pinned requirements of the project's virtual environment. */
export const REQUIREMENTS_FILE = join(PROJECT_ROOT, 'requirements', 'python-tools.txt');
const STAMP = '.omnichat-requirements.sha256';

const quiet = { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 };

/** True when `command args...` runs and exits 0. */
function runs(command, args, env = process.env) {
  const result = spawnSync(command, args, { ...quiet, env });
  return result.error === undefined && result.status === 0;
}

/** The first executable `name` on PATH (looked up, not run: running cfn-lint takes seconds). */
function onPath(name, env) {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    try {
      accessSync(join(folder, name), constants.X_OK);
      return name;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

/** Finds moto's server and its web stack without importing them (an import takes seconds). */
const MOTO_CHECK =
  'import importlib.util as u, sys; ' +
  'sys.exit(0 if all(u.find_spec(m) for m in ("moto", "flask", "werkzeug")) else 1)';

/** The binaries folder of the project's virtual environment. */
export function venvBin(root = PROJECT_ROOT) {
  return process.platform === 'win32' ? join(root, '.venv', 'Scripts') : join(root, '.venv', 'bin');
}

function requirementsDigest(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Where the tools are now, without installing anything: `cfnLint` is the command to run the
 * linter, `python` a Python interpreter that imports `moto.server`; each undefined when absent.
 * `source` says where the found ones come from: `global`, `venv`, `mixed` or `none`.
 */
export function findPythonTools(options = {}) {
  const root = options.root ?? PROJECT_ROOT;
  const env = options.env ?? process.env;
  const globalLint = onPath('cfn-lint', env);
  const globalPython = ['python3', 'python'].find((candidate) => runs(candidate, ['-c', MOTO_CHECK], env));
  if (globalLint !== undefined && globalPython !== undefined) {
    return { cfnLint: globalLint, python: globalPython, source: 'global' };
  }
  const bin = venvBin(root);
  const venvLint = join(bin, 'cfn-lint');
  const venvPython = join(bin, 'python');
  const requirements = options.requirements ?? REQUIREMENTS_FILE;
  const stamp = join(root, '.venv', STAMP);
  const current =
    existsSync(stamp) &&
    existsSync(requirements) &&
    readFileSync(stamp, 'utf8').trim() === requirementsDigest(requirements);
  const cfnLint = globalLint ?? (current && existsSync(venvLint) ? venvLint : undefined);
  const python =
    globalPython ?? (current && runs(venvPython, ['-c', MOTO_CHECK], env) ? venvPython : undefined);
  return { cfnLint, python, source: sourceOf([cfnLint, python], [venvLint, venvPython]) };
}

/**
 * Where the tools found come from: `global` (PATH), `venv` (.venv/), `mixed` (one from each,
 * e.g. cfn-lint on PATH and moto only in .venv/), or `none` when neither was found.
 */
function sourceOf(found, inVenv) {
  const origins = new Set(
    found.flatMap((tool, index) => (tool === undefined ? [] : [tool === inVenv[index] ? 'venv' : 'global'])),
  );
  if (origins.size === 0) return 'none';
  return origins.size === 2 ? 'mixed' : [...origins][0];
}

/** The first Python 3.9+ with the venv module, to create the project's environment from. */
function basePython(env) {
  const candidates = [env.OMNICHAT_PYTHON, 'python3', 'python'].filter(Boolean);
  const check = 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 9) else 1)';
  return candidates.find((candidate) => runs(candidate, ['-c', check], env));
}

/** Error raised when the tools are missing and could not be provisioned. */
export class PythonToolsError extends Error {
  name = 'PythonToolsError';
}

/**
 * The tools, provisioning `.venv/` first when either is missing. Throws {@link PythonToolsError}
 * with what to do when that is not possible (no Python 3 with venv, no package index reachable).
 */
export function ensurePythonTools(options = {}) {
  const root = options.root ?? PROJECT_ROOT;
  const env = options.env ?? process.env;
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const requirementsFile = options.requirements ?? REQUIREMENTS_FILE;
  const found = findPythonTools({ root, env, requirements: requirementsFile });
  if (found.cfnLint !== undefined && found.python !== undefined) return found;

  const python = basePython(env);
  if (python === undefined) {
    throw new PythonToolsError(
      'cfn-lint and moto are needed and a Python 3.9+ with the venv module was not found ' +
        '(Debian/Ubuntu: apt-get install python3 python3-venv; or set OMNICHAT_PYTHON).',
    );
  }
  const started = Date.now();
  log(`python-tools: provisioning cfn-lint and moto into ${join(root, '.venv')} (${python})`);
  const venv = spawnSync(python, ['-m', 'venv', '--clear', join(root, '.venv')], {
    ...quiet,
    env,
    timeout: 300_000,
  });
  if (venv.status !== 0) {
    throw new PythonToolsError(
      `python3 -m venv failed: ${(venv.stderr || venv.error?.message || '').trim()}`,
    );
  }
  const requirements = readFileSync(requirementsFile, 'utf8');
  const hashed = /--hash=sha256:/.test(requirements);
  const pip = spawnSync(
    join(venvBin(root), 'python'),
    [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--no-deps',
      '--only-binary=:all:',
      ...(hashed ? ['--require-hashes'] : []),
      '-r',
      requirementsFile,
    ],
    // The user's pip configuration (index, proxy, certificates) applies; a global constraints
    // file would not match the pins, so the project's own file is the only constraint.
    { ...quiet, env: { ...env, PIP_CONSTRAINT: '' }, timeout: 900_000 },
  );
  if (pip.status !== 0) {
    const tail = `${pip.stdout ?? ''}${pip.stderr ?? ''}`.trim().split('\n').slice(-6).join('\n');
    throw new PythonToolsError(
      `pip could not install ${requirementsFile} into .venv/ (is a Python package index reachable? ` +
        `PIP_INDEX_URL selects a mirror):\n${tail}`,
    );
  }
  writeFileSync(join(root, '.venv', STAMP), `${requirementsDigest(requirementsFile)}\n`);
  const provisioned = findPythonTools({ root, env, requirements: requirementsFile });
  if (provisioned.cfnLint === undefined || provisioned.python === undefined) {
    throw new PythonToolsError('.venv/ was provisioned but cfn-lint or moto still cannot be run from it.');
  }
  log(`python-tools: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return provisioned;
}

function main(command) {
  try {
    const tools = ensurePythonTools();
    process.stdout.write(
      `python-tools (${tools.source}): cfn-lint=${tools.cfnLint} python-with-moto=${tools.python}\n`,
    );
  } catch (error) {
    if (!(error instanceof PythonToolsError)) throw error;
    if (command === 'postinstall') {
      process.stderr.write(`WARNING: ${error.message}\n`);
      process.stderr.write('npm run synth and npm test need them and will try again.\n');
      return;
    }
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const command = process.argv[2] ?? 'ensure';
  if (command !== 'ensure' && command !== 'postinstall') {
    process.stderr.write('usage: node scripts/python-tools.mjs [ensure|postinstall]\n');
    process.exitCode = 2;
  } else {
    main(command);
  }
}
