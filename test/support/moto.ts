/**
 * moto server for the S3/KMS suites: spawned on a free loopback port and stopped by the suite.
 * A missing python3 or moto fails loudly with the install hint, never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { ensurePythonTools } from '../../scripts/python-tools.mjs';

/** Hint shown when moto cannot be started. */
export const MOTO_HINT =
  'moto server is required: `npm run python-tools` provisions it into .venv/ (scripts/python-tools.mjs)';

/** A running moto server. */
export interface MotoHandle {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Asks the OS for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

function ping(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${endpoint}/moto-api/`, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 500) < 500);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Spawns `python3 -m moto.server` and waits until it answers (up to `timeoutMs`). */
export async function startMoto(timeoutMs = 60_000): Promise<MotoHandle> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let stderr = '';
  let exited: string | undefined;
  // The machine's python3 when it has moto, else the project's .venv/ (provisioned on first use).
  let python: string;
  try {
    python = ensurePythonTools().python;
  } catch (error) {
    throw new Error(`${MOTO_HINT} (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  } catch (error) {
    throw new Error(`${MOTO_HINT} (${error instanceof Error ? error.message : String(error)})`);
  }
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  child.once('error', (error) => {
    exited = error.message;
  });
  child.once('exit', (code, signal) => {
    exited ??= `exited with ${code ?? signal}`;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined)
      throw new Error(`${MOTO_HINT} (${python} -m moto.server ${exited}: ${stderr.trim()})`);
    if (await ping(endpoint)) {
      return {
        endpoint,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill('SIGKILL');
  throw new Error(
    `${MOTO_HINT} (moto did not answer on ${endpoint} within ${timeoutMs} ms: ${stderr.trim()})`,
  );
}
