/**
 * Starts cognito-local (the npm emulator) as a child process on a free loopback port with a
 * throw-away data directory, and stops it again. It is spawned rather than imported because its
 * issuer and port are read from the environment at module load.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CognitoIdentityProviderClient } from '@aws-sdk/client-cognito-identity-provider';

/** A running cognito-local. */
export interface CognitoLocalHandle {
  /** `http://127.0.0.1:<port>`; tokens' issuer is `${endpoint}/${userPoolId}`. */
  readonly endpoint: string;
  /** A client pointed at the emulator (dummy credentials). */
  readonly client: CognitoIdentityProviderClient;
  /** Fetches the JWKS the emulator publishes for a pool. */
  jwks(userPoolId: string): Promise<unknown>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function waitForHealth(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`cognito-local exited with ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(`${endpoint}/health`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`cognito-local did not become healthy within 30 s: ${output()}`);
}

/**
 * The variables that give a child process the suite's clock: the emulator issues tokens whose
 * iat/exp the suite's verifier checks, so both must read the same time, also when
 * `npm run test:clock` shifts it with libfaketime (LD_PRELOAD + FAKETIME*).
 */
function sameClock(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        /^(LD_PRELOAD|DYLD_INSERT_LIBRARIES|DYLD_FORCE_FLAT_NAMESPACE|FAKETIME.*)$/.test(entry[0]),
    ),
  );
}

/** Starts cognito-local; retries once on a port race with another suite. */
export async function startCognitoLocal(): Promise<CognitoLocalHandle> {
  const packageJson = createRequire(import.meta.url).resolve('cognito-local/package.json');
  const bin = join(dirname(packageJson), 'lib', 'bin', 'start.js');
  const dataDirectory = await mkdtemp(join(tmpdir(), 'cognito-local-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 2; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [bin], {
      cwd: dataDirectory,
      env: { PATH: process.env.PATH ?? '', ...sameClock(), PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    const collect = (chunk: Buffer) => {
      log = (log + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    try {
      await waitForHealth(endpoint, child, () => log);
    } catch (error) {
      lastError = error;
      child.kill('SIGTERM');
      continue;
    }
    const client = new CognitoIdentityProviderClient({
      endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return {
      endpoint,
      client,
      jwks: async (userPoolId) => (await fetch(`${endpoint}/${userPoolId}/.well-known/jwks.json`)).json(),
      stop: async () => {
        client.destroy();
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        await rm(dataDirectory, { recursive: true, force: true });
      },
    };
  }
  await rm(dataDirectory, { recursive: true, force: true });
  throw lastError;
}
