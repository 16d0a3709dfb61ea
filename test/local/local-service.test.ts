/**
 * `npm run local` without a browser: the service started in-process (restart keeps users and
 * conversations), and scripts/local.ts as a process (banner, Ctrl-C, hybrid mode's checks
 * at start).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  checkHybrid,
  configuredCredentialSources,
  type LocalService,
  LocalStartError,
  localDeployConfig,
  localEnvironment,
  startLocalService,
} from '../../scripts/local-service';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
const PASSWORD = 'Correct-Horse-42-battery';
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'omnichat-local-service-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function signIn(url: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Origin: url },
    body: new URLSearchParams({ email, password }).toString(),
  });
  expect(response.headers.get('location')).toBe('/app/chat');
  return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
}

async function chat(
  url: string,
  cookie: string,
  message: string,
): Promise<{ conversationId: string; reply: string }> {
  const response = await fetch(`${url}/api/v1/chat`, {
    method: 'POST',
    headers: { Cookie: cookie, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { conversationId: string; reply: string };
}

async function conversation(url: string, cookie: string, id: string) {
  const response = await fetch(`${url}/api/v1/conversations/${id}`, { headers: { Cookie: cookie } });
  return {
    status: response.status,
    body: (await response.json()) as { messages?: { role: string; text: string }[] },
  };
}

describe('local service started in-process', () => {
  it('keeps users and conversations across a restart, and refuses requests once closed', async () => {
    const dir = tempDir();
    const first = await startLocalService({ dir, port: 0 });
    let second: LocalService | undefined;
    try {
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(first.mode).toBe('local');
      expect(first.modelLabel).toMatch(/stand-in/i);
      first.issuer.createUser('ada@example.com', PASSWORD, ['admin']);
      const cookie = await signIn(first.url, 'ada@example.com', PASSWORD);
      const sent = await chat(first.url, cookie, 'Keep this conversation across a restart, please.');
      expect(statSync(join(dir, 'master.key')).mode & 0o777).toBe(0o600);
      await first.close();
      await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();

      second = await startLocalService({ dir, port: 0 });
      expect(second.issuer.users().map((u) => u.email)).toEqual(['ada@example.com']);
      // Sessions are not kept (they live in memory, as the ALB's do not survive either).
      expect(
        (await fetch(`${second.url}/api/v1/conversations`, { headers: { Cookie: cookie } })).status,
      ).toBe(401);
      const again = await signIn(second.url, 'ada@example.com', PASSWORD);
      const stored = await conversation(second.url, again, sent.conversationId);
      expect(stored.status).toBe(200);
      expect(stored.body.messages).toEqual([
        expect.objectContaining({ role: 'user', text: 'Keep this conversation across a restart, please.' }),
        expect.objectContaining({ role: 'assistant', text: sent.reply }),
      ]);
    } finally {
      await first.close();
      await second?.close();
    }
  });

  it('refuses a second service on a data directory that is in use', async () => {
    const dir = tempDir();
    const running = await startLocalService({ dir, port: 0 });
    try {
      await expect(startLocalService({ dir, port: 0 })).rejects.toThrow(
        new RegExp(`Another \`npm run local\` \\(pid ${process.pid}\\) is using`),
      );
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it('takes over the lock of a service that was killed', async () => {
    const dir = tempDir();
    // A pid that cannot be running: above the kernel's pid_max.
    writeFileSync(join(dir, 'service.lock'), '99999999');
    const service = await startLocalService({ dir, port: 0 });
    try {
      expect(readFileSync(join(dir, 'service.lock'), 'utf8')).toBe(String(process.pid));
    } finally {
      await service.close();
    }
    expect(existsSync(join(dir, 'service.lock'))).toBe(false);
  });
});

describe('local deploy configuration', () => {
  it('is the dev environment policy, with OMNICHAT_LOCAL_RATE_PER_MINUTE applied to every limit class', () => {
    const config = localEnvironment();
    const limits = localDeployConfig(config, 7).runtimeDefaults.limits;
    for (const row of Object.values(limits)) expect(row).toMatchObject({ requestsPerMinute: 7, burst: 7 });
    expect(localDeployConfig(config).runtimeDefaults.limits.user.requestsPerMinute).toBe(10);
    expect(() => localDeployConfig(config, 0)).toThrow(LocalStartError);
    expect(() => localDeployConfig(config, 1.5)).toThrow(/OMNICHAT_LOCAL_RATE_PER_MINUTE/);
  });
});

describe('hybrid mode checks at start', () => {
  const config = localEnvironment();
  const noAws = { PATH: process.env.PATH };
  const emptyHome = () => tempDir();

  it.each([
    [{}, /--guardrail-id/],
    [{ guardrailId: 'gr-123' }, /--guardrail-version/],
    [{ guardrailId: 'gr-123', guardrailVersion: 'latest' }, /not DRAFT or a version number/],
    [{ guardrailId: 'gr-123', guardrailVersion: '3' }, /needs AWS credentials and found none/],
  ])('refuses %o with a clear message, without a network call', async (flags, message) => {
    const started = Date.now();
    await expect(checkHybrid(flags, noAws, config, { home: emptyHome() })).rejects.toThrow(message);
    // Nothing was probed over the network (the metadata service alone takes a second).
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('takes credentials from the SDK default chain and the guardrail from the environment', async () => {
    const env = {
      ...noAws,
      AWS_ACCESS_KEY_ID: 'AKIDLOCALTEST',
      AWS_SECRET_ACCESS_KEY: 'local-test-secret',
      OMNICHAT_GUARDRAIL_ID: 'gr-abc',
      OMNICHAT_GUARDRAIL_VERSION: 'DRAFT',
      AWS_REGION: 'eu-west-1',
    };
    expect(configuredCredentialSources(env, emptyHome())).toEqual(['environment keys']);
    // The SDK's chain reads the process environment itself.
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const) vi.stubEnv(name, env[name]);
    try {
      // The guardrail probe is stubbed here (test/local/hybrid-probe.test.ts covers it): no network.
      const probes: unknown[] = [];
      const { settings, client } = await checkHybrid({}, env, config, {
        home: emptyHome(),
        createClient: (region) => {
          const stub = new BedrockRuntimeClient({ region, maxAttempts: 1 });
          vi.spyOn(stub, 'send').mockImplementation(async (command: unknown) => {
            probes.push((command as { input: unknown }).input);
            return {};
          });
          return stub;
        },
      });
      expect(probes).toEqual([
        expect.objectContaining({
          guardrailIdentifier: 'gr-abc',
          guardrailVersion: 'DRAFT',
          source: 'INPUT',
        }),
      ]);
      const credentials = await (
        client.config.credentials as unknown as () => Promise<{ accessKeyId: string }>
      )();
      client.destroy();
      expect(credentials.accessKeyId).toBe('AKIDLOCALTEST');
      expect(settings).toEqual({ region: 'eu-west-1', guardrailId: 'gr-abc', guardrailVersion: 'DRAFT' });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

// ---------------------------------------------------------------------------------------
// scripts/local.ts as a process

interface Child {
  readonly process: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv): Child {
  const child = spawn(TSX, ['scripts/local.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    printed += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { process: child, output: () => printed, exited };
}

async function waitFor(child: Child, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(child.output());
    if (match) return match;
    if (child.process.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${pattern} in the output of scripts/local.ts:\n${child.output()}`);
}

async function interrupt(child: Child): Promise<number | null> {
  child.process.kill('SIGINT');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 20_000);
  const code = await child.exited;
  clearTimeout(timer);
  return code;
}

describe('npm run local as a process', () => {
  it('prints the banner and a demo user once, stops cleanly on Ctrl-C, and a restart keeps the data', async () => {
    const dir = tempDir();
    const env = { PORT: '0', OMNICHAT_LOCAL_DIR: dir };
    const first = run(['--quiet'], env);
    let url = '';
    let conversationId = '';
    let password = '';
    try {
      const [, banner] = await waitFor(first, /URL\s+(http:\/\/127\.0\.0\.1:\d+)/);
      url = banner!;
      const demo = await waitFor(first, /Demo user\s+(\S+@\S+)\s+password: (\S+)/);
      password = demo[2]!;
      expect(first.output()).toMatch(/Mode\s+local \(no AWS account/);
      expect(first.output()).toMatch(/Model\s+Local stand-in \(deterministic, not an AI model\)/);
      expect(first.output()).toMatch(/Ready in \d+ ms/);
      const cookie = await signIn(url, demo[1]!, password);
      conversationId = (await chat(url, cookie, 'Written just before Ctrl-C.')).conversationId;
    } finally {
      const code = await interrupt(first);
      expect(code, first.output()).toBe(0);
    }
    expect(first.output()).toMatch(/SIGINT: stopping/);
    expect(first.output()).toMatch(/Stopped cleanly/);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();

    const second = run(['--quiet'], env);
    try {
      const [, again] = await waitFor(second, /URL\s+(http:\/\/127\.0\.0\.1:\d+)/);
      await waitFor(second, /Ready in/);
      // The password is shown once only.
      expect(second.output()).toMatch(
        /Demo user\s+demo@example\.com \(password printed when it was created\)/,
      );
      expect(second.output()).not.toContain(password);
      const cookie = await signIn(again!, 'demo@example.com', password);
      const stored = await conversation(again!, cookie, conversationId);
      expect(stored.body.messages?.[0]).toMatchObject({ role: 'user', text: 'Written just before Ctrl-C.' });
    } finally {
      expect(await interrupt(second), second.output()).toBe(0);
    }
  });

  it('creates a user from the command line with the group asked for, and refuses a weak password', async () => {
    const dir = tempDir();
    const env = { OMNICHAT_LOCAL_DIR: dir };
    const created = run(['--create-user', 'Root@Example.com', '--group', 'admin'], env);
    expect(await created.exited).toBe(0);
    expect(created.output()).toMatch(/Created root@example\.com \(groups: admin\)/);
    expect(created.output()).toMatch(/Password \(shown this once\): \S{14,}/);
    const weak = run(['--create-user', 'bob@example.com', '--password', 'short'], env);
    expect(await weak.exited).toBe(1);
    expect(weak.output()).toMatch(/at least 14 characters/);
  });

  it('refuses to start in hybrid mode without AWS credentials, before it listens', async () => {
    const dir = tempDir();
    const child = run(['--guardrail-id', 'gr-123', '--guardrail-version', '1'], {
      OMNICHAT_MODE: 'hybrid',
      OMNICHAT_LOCAL_DIR: dir,
      HOME: tempDir(),
      PORT: '0',
    });
    expect(await child.exited).toBe(1);
    expect(child.output()).toMatch(/Hybrid mode needs AWS credentials and found none/);
    expect(child.output()).not.toMatch(/Ready in/);
  });
});
