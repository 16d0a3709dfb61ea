/**
 * The function code as ApiFunction stages it (lib/constructs/function-bundling.ts): ESM split
 * into `index.mjs` and chunk files. These tests stage a function through the construct and
 * compare it with `bundleFunction`'s output, build every entry for real, and load chat's files
 * in a fresh Node process, as Lambda would load them from the function's folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLambdaEnvironment } from '../../lambda/compose/function-env';
import { deployConfigDefine } from '../../lib/config/deploy-config';
import { ApiFunction } from '../../lib/constructs/api-function';
import { bundleFunction, FUNCTION_HANDLER_FILE } from '../../lib/constructs/function-bundling';
import { configOf } from '../support/synth';
import { generateSigningKey, jwksOf, TEST_CLIENT_ID, TEST_ISSUER } from '../support/tokens';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Relative module specifiers a file imports: `from"./x"`, `import"./x"` (for its effect) and
 * `import("./x")`.
 */
function relativeImports(code: string): string[] {
  return [...code.matchAll(/(?:from\s*|import\s*\(?\s*)"(\.\/[^"]+)"/g)].map((match) => match[1] as string);
}

/** The entries under lambda/functions/, and the assets folder the stacks give each. */
const ENTRIES = readdirSync(join(projectRoot, 'lambda/functions'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => name.slice(0, -3));
const ASSETS: Readonly<Record<string, string>> = { web: 'lambda/web/assets' };

/** Code files of a staged function. */
const codeFiles = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.mjs'));

describe('ApiFunction stages what bundleFunction builds', () => {
  it('the staged asset of a function holds the same files and the same code', () => {
    const define = deployConfigDefine(configOf('dev'));
    const expected = mkdtempSync(join(tmpdir(), 'omnichat-bundle-'));
    const outdir = mkdtempSync(join(tmpdir(), 'omnichat-stage-'));
    try {
      bundleFunction(projectRoot, 'history', expected, define);
      const app = new App({ outdir });
      const stack = new Stack(app, 'Staging', { env: { account: '111111111111', region: 'eu-west-1' } });
      const vpc = new ec2.Vpc(stack, 'Vpc', {
        natGateways: 0,
        subnetConfiguration: [{ name: 'compute', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
      });
      const key = new kms.Key(stack, 'Key');
      const fn = new ApiFunction(stack, 'History', {
        entry: 'history',
        description: 'staging test',
        vpc,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        environment: {},
        logsKey: key,
        logRetention: logs.RetentionDays.ONE_WEEK,
        environmentKey: key,
        define,
      });
      app.synth();
      const code = Stack.of(fn).resolve((fn.function.node.defaultChild as lambda.CfnFunction).code) as {
        s3Key: string;
      };
      const staged = join(outdir, `asset.${code.s3Key.replace(/\.zip$/, '')}`);
      // Chunk names carry a hash that covers their source maps, whose paths are relative to
      // the output folder, so they differ between two folders; the code is the same.
      const unhashed = (text: string) => text.replace(/-[A-Z0-9]{8}\.mjs/g, '-HASH.mjs');
      const namesOf = (dir: string) => readdirSync(dir).map(unhashed).sort();
      expect(namesOf(staged)).toEqual(namesOf(expected));
      const byName = (dir: string) =>
        new Map(
          codeFiles(dir).map((file) => [unhashed(file), unhashed(readFileSync(join(dir, file), 'utf8'))]),
        );
      const stagedCode = byName(staged);
      for (const [file, text] of byName(expected)) expect(stagedCode.get(file) === text, file).toBe(true);
      expect(stagedCode.size).toBeGreaterThan(1);
    } finally {
      rmSync(expected, { recursive: true, force: true });
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('every function bundle', () => {
  let root: string;
  const dirOf = (entry: string) => join(root, entry);

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'omnichat-bundles-'));
    const define = deployConfigDefine(configOf('prod'));
    for (const entry of ENTRIES) bundleFunction(projectRoot, entry, dirOf(entry), define, ASSETS[entry]);
  }, 120_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(ENTRIES)(
    '%s: index.mjs and chunks in one folder, every relative import resolving there',
    (entry) => {
      const code = codeFiles(dirOf(entry));
      expect(code).toContain(FUNCTION_HANDLER_FILE);
      for (const file of code) {
        for (const specifier of relativeImports(readFileSync(join(dirOf(entry), file), 'utf8'))) {
          expect(specifier.slice(2), 'a chunk beside index.mjs').not.toContain('/');
          expect(existsSync(join(dirOf(entry), specifier)), `${file} imports ${specifier}`).toBe(true);
        }
      }
    },
  );

  it.each(ENTRIES)('%s: ASCII throughout, so V8 keeps each file one byte per character', (entry) => {
    for (const file of codeFiles(dirOf(entry))) {
      const code = readFileSync(join(dirOf(entry), file), 'utf8');
      const at = code.search(/[\u0080-\uffff]/);
      expect(at, `${file}: non-ASCII near "${code.slice(Math.max(0, at - 40), at + 10)}"`).toBe(-1);
    }
  });

  it('web: the page assets sit beside the code as assets/', () => {
    expect(existsSync(join(dirOf('web'), 'assets'))).toBe(true);
    expect(readdirSync(join(dirOf('web'), 'assets')).sort()).toEqual(
      readdirSync(join(projectRoot, 'lambda/web/assets')).sort(),
    );
  });

  it('chat: the SSO token client, imported only on demand, is a chunk index.mjs imports dynamically', () => {
    const dir = dirOf('chat');
    expect(codeFiles(dir).length).toBeGreaterThan(1);
    const entryCode = readFileSync(join(dir, FUNCTION_HANDLER_FILE), 'utf8');
    const sso = codeFiles(dir).find((name) => name.startsWith('sso-oidc'));
    expect(sso).toBeDefined();
    expect(entryCode).toContain(`import("./${sso}")`);
    expect(entryCode).not.toMatch(new RegExp(`(?:from|import)\\s*"\\./${sso}"`));
  });

  it('chat: loads in a fresh Node process from its folder, exports the handler, and so do its chunks', () => {
    const key = generateSigningKey('bundle-1');
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'omnichat-chat',
      ...toLambdaEnvironment('chat', {
        authIssuer: TEST_ISSUER,
        authJwks: JSON.stringify(jwksOf(key)),
        authClientIds: TEST_CLIENT_ID,
        authMaxTokenSeconds: 3600,
        apiKeysTable: 'keys',
        auditTable: 'audit',
        auditRetentionDays: 30,
        ownerCacheSeconds: 60,
        metricsNamespace: 'OmniChat',
        conversationsTable: 'conversations',
        limitsTable: 'limits',
        settingsTable: 'settings',
        dataKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-4000-8000-000000000000',
        guardrailId: 'arn:aws:bedrock:eu-west-1:111111111111:guardrail/test',
        guardrailVersion: '1',
      }),
    };
    const dir = dirOf('chat');
    const entryUrl = pathToFileURL(join(dir, FUNCTION_HANDLER_FILE)).href;
    // Then every chunk, as a later import() would load it (event-streams on the first stream).
    const chunkUrls = codeFiles(dir)
      .filter((name) => name !== FUNCTION_HANDLER_FILE)
      .map((name) => pathToFileURL(join(dir, name)).href);
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entryUrl)});` +
          `for (const url of ${JSON.stringify(chunkUrls)}) await import(url);` +
          'console.log(typeof m.handler);',
      ],
      { env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('function');
  });
});
