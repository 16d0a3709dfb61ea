/**
 * Starts `npm run local` (scripts/local.ts) for the browser suite: on a free loopback port,
 * with its data in a temporary directory, and stops it with Ctrl-C (SIGINT) as a user would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../../..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const LOCAL_SCRIPT = process.env.E2E_TMP_HARNESS ?? join(ROOT, 'scripts', 'local.ts');

/** A free TCP port on loopback (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}

/** A running local service. */
export interface LocalService {
  readonly baseUrl: string;
  readonly dataDir: string;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  /** Creates a user with the script's own CLI; returns the password it was given. */
  createUser(email: string, group: string): Promise<string>;
  /** Ctrl-C, then waits for a clean exit; removes the data directory. */
  stop(): Promise<number | null>;
}

/** Options of {@link startLocalService}. */
export interface LocalServiceOptions {
  /** Chat requests per user per minute (env OMNICHAT_LOCAL_RATE_PER_MINUTE). */
  readonly ratePerMinute: number;
  /** A fixed password for users created by the suite (14+ characters). */
  readonly password: string;
  /** Where to save everything the service printed, when it stops. */
  readonly logFile?: string;
  /** Wait before each streamed delta (env OMNICHAT_LOCAL_CHUNK_DELAY_MS). @default 0 */
  readonly chunkDelayMs?: number;
}

function envFor(port: number, dataDir: string, options: LocalServiceOptions): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(port),
    OMNICHAT_LOCAL_DIR: dataDir,
    OMNICHAT_LOCAL_RATE_PER_MINUTE: String(options.ratePerMinute),
    OMNICHAT_LOCAL_CHUNK_DELAY_MS: String(options.chunkDelayMs ?? 0),
    OMNICHAT_MODE: 'local',
    FORCE_COLOR: '0',
  };
}

async function waitForHealth(baseUrl: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`npm run local exited with code ${child.exitCode} before it was healthy:\n${output()}`);
    }
    try {
      const response = await fetch(`${baseUrl}/healthz`);
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  throw new Error(`npm run local was not healthy within 90 s:\n${output()}`);
}

/** Starts scripts/local.ts on a free port with a fresh data directory. */
export async function startLocalService(options: LocalServiceOptions): Promise<LocalService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omnichat-e2e-'));
  const port = await freePort();
  const env = envFor(port, dataDir, options);
  const baseUrl = `http://127.0.0.1:${port}`;

  const createUser = async (email: string, group: string): Promise<string> => {
    const { stdout, stderr } = await run(
      TSX,
      [LOCAL_SCRIPT, '--create-user', email, '--group', group, '--password', options.password],
      { cwd: ROOT, env, timeout: 60_000 },
    ).catch((error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(
        `creating ${email} with scripts/local.ts failed: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
      );
    });
    if (!stdout.toLowerCase().includes(email.toLowerCase())) {
      throw new Error(`scripts/local.ts --create-user did not confirm ${email}:\n${stdout}${stderr}`);
    }
    return options.password;
  };

  let printed = '';
  const child = spawn(TSX, [LOCAL_SCRIPT], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8');
  });
  const output = () => printed;
  try {
    await waitForHealth(baseUrl, child, output);
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolveExit) =>
      child.once('exit', (code) => resolveExit(code)),
    );
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    if (options.logFile) writeFileSync(options.logFile, printed);
    rmSync(dataDir, { recursive: true, force: true });
    return code;
  };

  return { baseUrl, dataDir, output, createUser, stop };
}
