/**
 * scripts/python-tools.mjs: a machine's own cfn-lint and moto are used as they are; without
 * them, the project's .venv/ is provisioned with only the system python3 on PATH, from a
 * hash-locked requirements file, and a tampered package is refused. pip runs for real, offline:
 * the "index" is a folder of small wheels this test builds (PIP_NO_INDEX + PIP_FIND_LINKS), so
 * the test needs no network; what it cannot show is PyPI serving the real pinned closure.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensurePythonTools, findPythonTools, PythonToolsError } from '../../scripts/python-tools.mjs';

const SYSTEM_PYTHON = '/usr/bin/python3';
const hasSystemVenv =
  existsSync(SYSTEM_PYTHON) &&
  spawnSync(SYSTEM_PYTHON, ['-c', 'import venv, ensurepip'], { stdio: 'ignore' }).status === 0;

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Builds a pure-Python wheel with the given files (and console scripts) using the system python. */
function buildWheel(
  folder: string,
  name: string,
  files: Record<string, string>,
  scripts: Record<string, string> = {},
): string {
  const spec = JSON.stringify({ folder, name, files, scripts });
  const builder = `
import base64, hashlib, json, sys, zipfile
s = json.loads(sys.argv[1])
dist = s["name"].replace("-", "_")
info = f"{dist}-0.0.1.dist-info"
entries = dict(s["files"])
entries[f"{info}/METADATA"] = f"Metadata-Version: 2.1\\nName: {s['name']}\\nVersion: 0.0.1\\n"
entries[f"{info}/WHEEL"] = "Wheel-Version: 1.0\\nGenerator: omnichat-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
if s["scripts"]:
    entries[f"{info}/entry_points.txt"] = "[console_scripts]\\n" + "".join(f"{k} = {v}\\n" for k, v in s["scripts"].items())
def digest(text):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
record = "".join(f"{path},{digest(text)},{len(text.encode())}\\n" for path, text in entries.items()) + f"{info}/RECORD,,\\n"
path = f"{s['folder']}/{dist}-0.0.1-py3-none-any.whl"
with zipfile.ZipFile(path, "w") as z:
    for name, text in entries.items():
        z.writestr(name, text)
    z.writestr(f"{info}/RECORD", record)
print(path)
`;
  return execFileSync(SYSTEM_PYTHON, ['-c', builder, spec], { encoding: 'utf8' }).trim();
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** A wheel folder standing in for the index, and a hash-locked requirements file over it. */
function lockedIndex() {
  const wheels = tempDir('omnichat-wheels-');
  const built = [
    buildWheel(wheels, 'moto', { 'moto/__init__.py': '', 'moto/server.py': 'print("moto stand-in")\n' }),
    buildWheel(wheels, 'flask', { 'flask/__init__.py': '' }),
    buildWheel(wheels, 'werkzeug', { 'werkzeug/__init__.py': '' }),
    buildWheel(
      wheels,
      'cfn-lint',
      { 'cfn_lint/__init__.py': 'def main():\n    print("cfn-lint 0.0.1 (test wheel)")\n' },
      { 'cfn-lint': 'cfn_lint:main' },
    ),
  ];
  const names = ['moto', 'flask', 'werkzeug', 'cfn-lint'];
  const requirements = join(wheels, 'requirements.txt');
  writeFileSync(
    requirements,
    names.map((name, i) => `${name}==0.0.1 --hash=sha256:${sha256(built[i]!)}\n`).join(''),
  );
  return { wheels, requirements };
}

/** Only the system python3 on PATH, pip offline against the wheel folder, no user or machine pip config. */
const systemOnlyEnv = (wheels: string, home: string): NodeJS.ProcessEnv => ({
  PATH: '/usr/bin:/bin',
  HOME: home,
  PIP_NO_INDEX: '1',
  PIP_FIND_LINKS: wheels,
  PIP_CONFIG_FILE: '/dev/null',
});

describe('python tools', () => {
  it("keeps using the machine's own cfn-lint and moto and creates no .venv", () => {
    const bin = tempDir('omnichat-bin-');
    for (const tool of ['cfn-lint', 'python3']) {
      writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(bin, tool), 0o755);
    }
    const root = tempDir('omnichat-root-');

    const tools = ensurePythonTools({ root, env: { PATH: `${bin}:/usr/bin:/bin` }, log: () => undefined });

    expect(tools).toEqual({ cfnLint: 'cfn-lint', python: 'python3', source: 'global' });
    expect(existsSync(join(root, '.venv'))).toBe(false);
  });

  it.each([
    ['mixed', ['cfn-lint'], true],
    ['global', ['cfn-lint', 'python3'], true],
    ['venv', [], true],
    ['none', [], false],
  ] as const)('labels the source %s when PATH has %j (current .venv/: %s)', (source, onPath, venvCurrent) => {
    // Stand-ins that exit 0: a PATH python3 "imports moto", a .venv python too.
    const bin = tempDir('omnichat-bin-');
    for (const tool of onPath) {
      writeFileSync(join(bin, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(bin, tool), 0o755);
    }
    const root = tempDir('omnichat-root-');
    const requirements = join(root, 'requirements.txt');
    writeFileSync(requirements, 'moto==0.0.1\n');
    const venv = join(root, '.venv', 'bin');
    mkdirSync(venv, { recursive: true });
    for (const tool of ['cfn-lint', 'python']) {
      writeFileSync(join(venv, tool), '#!/bin/sh\nexit 0\n');
      chmodSync(join(venv, tool), 0o755);
    }
    if (venvCurrent)
      writeFileSync(join(root, '.venv', '.omnichat-requirements.sha256'), `${sha256(requirements)}\n`);

    const tools = findPythonTools({ root, env: { PATH: bin }, requirements });

    expect(tools.source).toBe(source);
    if (source === 'mixed') {
      expect(tools.cfnLint).toBe('cfn-lint');
      expect(tools.python).toBe(join(venv, 'python'));
    }
  });

  it.skipIf(!hasSystemVenv)(
    'provisions .venv/ from a hash-locked file with only the system python3 on PATH, once',
    () => {
      const { wheels, requirements } = lockedIndex();
      const root = tempDir('omnichat-root-');
      const env = systemOnlyEnv(wheels, tempDir('omnichat-home-'));
      expect(findPythonTools({ root, env, requirements })).toMatchObject({
        cfnLint: undefined,
        python: undefined,
      });
      const log: string[] = [];

      const tools = ensurePythonTools({ root, env, requirements, log: (line) => log.push(line) });

      expect(tools.source).toBe('venv');
      expect(tools.cfnLint).toBe(join(root, '.venv', 'bin', 'cfn-lint'));
      expect(tools.python).toBe(join(root, '.venv', 'bin', 'python'));
      expect(execFileSync(tools.cfnLint, [], { encoding: 'utf8', env })).toContain('test wheel');
      expect(execFileSync(tools.python, ['-m', 'moto.server'], { encoding: 'utf8', env })).toContain('moto');
      expect(log.some((line) => /provisioning/.test(line))).toBe(true);
      // The second call finds them and installs nothing.
      const again: string[] = [];
      expect(ensurePythonTools({ root, env, requirements, log: (line) => again.push(line) })).toEqual(tools);
      expect(again).toEqual([]);
    },
    180_000,
  );

  it.skipIf(!hasSystemVenv)(
    'refuses a package whose hash does not match the lock, naming the file',
    () => {
      const { wheels, requirements } = lockedIndex();
      // Tamper with one wheel after locking (same file name, other content).
      buildWheel(wheels, 'flask', { 'flask/__init__.py': 'import os  # tampered\n' });
      const root = tempDir('omnichat-root-');

      let error: unknown;
      try {
        ensurePythonTools({
          root,
          env: systemOnlyEnv(wheels, tempDir('omnichat-home-')),
          requirements,
          log: () => undefined,
        });
      } catch (caught) {
        error = caught;
      }

      expect(error).toBeInstanceOf(PythonToolsError);
      expect((error as Error).message).toMatch(/could not install .*requirements\.txt[\s\S]*hash/i);
      expect(
        findPythonTools({ root, env: systemOnlyEnv(wheels, root), requirements }).python,
      ).toBeUndefined();
    },
    180_000,
  );
});
