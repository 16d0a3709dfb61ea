/**
 * The function code as ApiFunction stages it (lib/constructs/function-bundling.ts): ESM split
 * into `index.mjs` and chunk files. These tests build the chat function for real and load it
 * in a fresh Node process, as Lambda would load it from its folder.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toLambdaEnvironment } from '../../lambda/compose/function-env';
import { deployConfigDefine } from '../../lib/config/deploy-config';
import { bundleFunction, FUNCTION_HANDLER_FILE } from '../../lib/constructs/function-bundling';
import { configOf } from '../support/synth';
import { generateSigningKey, jwksOf, TEST_CLIENT_ID, TEST_ISSUER } from '../support/tokens';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Relative module specifiers a file imports, statically (`from"./x"`) or dynamically (`import("./x")`). */
function relativeImports(code: string): string[] {
  return [...code.matchAll(/(?:from\s*|import\s*\(\s*)"(\.\/[^"]+)"/g)].map((match) => match[1] as string);
}

describe('the chat function as staged for Lambda', () => {
  let outdir: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'omnichat-bundle-'));
    bundleFunction(projectRoot, 'chat', outdir, deployConfigDefine(configOf('prod')));
  }, 60_000);
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('is index.mjs plus chunks in the same folder, every relative import resolving there', () => {
    const code = readdirSync(outdir).filter((name) => name.endsWith('.mjs'));
    expect(code).toContain(FUNCTION_HANDLER_FILE);
    expect(code.length).toBeGreaterThan(1);
    for (const file of code) {
      for (const specifier of relativeImports(readFileSync(join(outdir, file), 'utf8'))) {
        expect(specifier.slice(2), 'a chunk beside index.mjs').not.toContain('/');
        expect(existsSync(join(outdir, specifier)), `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('keeps the SDK modules it loads only on demand out of the file every cold start reads', () => {
    const entry = readFileSync(join(outdir, FUNCTION_HANDLER_FILE), 'utf8');
    const chunks = relativeImports(entry);
    // The SSO token client is only ever imported dynamically: it must be a chunk of its own.
    const sso = readdirSync(outdir).find((name) => name.startsWith('sso-oidc') && name.endsWith('.mjs'));
    expect(sso).toBeDefined();
    expect(entry).toContain(`import("./${sso}")`);
    expect(entry).not.toMatch(new RegExp(`from\\s*"\\./${sso}"`));
    expect(chunks.length).toBeGreaterThan(0);
  });

  it('is ASCII throughout, so V8 keeps each file one byte per character', () => {
    for (const file of readdirSync(outdir).filter((name) => name.endsWith('.mjs'))) {
      const code = readFileSync(join(outdir, file), 'utf8');
      const at = code.search(/[\u0080-\uffff]/);
      expect(at, `${file}: non-ASCII near "${code.slice(Math.max(0, at - 40), at + 10)}"`).toBe(-1);
    }
  });

  it('loads in a fresh Node process from its folder and exports the handler', () => {
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
    const entryUrl = pathToFileURL(join(outdir, FUNCTION_HANDLER_FILE)).href;
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entryUrl)}); console.log(typeof m.handler);`,
      ],
      { env, encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('function');
  });
});
