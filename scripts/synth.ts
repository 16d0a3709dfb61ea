/**
 * `npm run synth [-- -c env=NAME]`: synthesizes every environment (or one) offline, runs
 * the compliance gate (five cdk-nag packs, the Control Tower guard rules, CDK's template
 * checks, the org-rule aspects and cfn-lint over every template), writes `cdk.out/` and
 * `reports/compliance.json`, and exits non-zero on any unacknowledged finding.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../lib/app';
import { requiredAccountConcurrency, reservedConcurrencyOf } from '../lib/aspects/reserved-concurrency';
import { ACCEPTED_CFN_LINT_WARNINGS } from '../lib/compliance/cfn-lint-accepted';
import { writeCfnLintOverrideSpec } from '../lib/compliance/cfn-lint-schema-extensions';
import { COMPLIANCE_PACKS } from '../lib/compliance/plugins';
import {
  buildComplianceReport,
  type CdkValidationReport,
  type CfnLintMatch,
  type PackResult,
  packFromCfnLint,
  packsFromValidationReport,
} from '../lib/compliance/report';
import { ensurePythonTools } from './python-tools.mjs';

const OUTDIR = 'cdk.out';
const REPORT = 'reports/compliance.json';

/** Reads `-c env=NAME` / `--context env=NAME` the way the CDK CLI spells it. */
function selectedEnv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value =
      arg === '-c' || arg === '--context'
        ? argv[i + 1]
        : arg?.startsWith('--context=')
          ? arg.slice(10)
          : undefined;
    if (value?.startsWith('env=')) return value.slice(4);
  }
  return undefined;
}

/** Org-rule aspects report through error annotations; collect them as a pack of their own. */
function orgRulePack(app: ReturnType<typeof buildApp>['app']): PackResult {
  const findings = app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === 'aws:cdk:error')
      .map((m) => ({
        rule: String(m.data).split(':')[0] ?? 'error',
        path: c.node.path,
        message: String(m.data),
      })),
  );
  return { pack: 'Org rules (aspects)', unacknowledged: findings.length, findings, acknowledgements: [] };
}

function templatesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name.startsWith('assembly-') ? templatesUnder(path) : [];
    return entry.name.endsWith('.template.json') ? [path] : [];
  });
}

function runCfnLint(templates: readonly string[]): CfnLintMatch[] {
  // The machine's cfn-lint, else the project's .venv/ (provisioned on first use).
  const { cfnLint } = ensurePythonTools();
  // Properties CloudFormation documents and this cfn-lint does not know yet (IssuerConfiguration
  // of AWS::Cognito::UserPool): extended with exactly their documented shape, never ignored.
  const overrideSpec = writeCfnLintOverrideSpec(OUTDIR);
  const result = spawnSync(
    cfnLint,
    ['--format', 'json', '--override-spec', overrideSpec, '--', ...templates],
    {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    },
  );
  if (result.error) {
    throw new Error(`cfn-lint could not be run (${cfnLint}: ${result.error.message}).`);
  }
  // cfn-lint's exit code is a bitmask of levels found (2 error, 4 warning, 8 info); 1 is a crash.
  if (result.status === 1 || (result.stdout.trim() === '' && result.status !== 0)) {
    throw new Error(`cfn-lint failed: ${result.stderr}`);
  }
  return JSON.parse(result.stdout || '[]') as CfnLintMatch[];
}

function main(): number {
  const started = Date.now();
  rmSync(OUTDIR, { recursive: true, force: true });
  const envName = selectedEnv(process.argv.slice(2));
  const { app, stages } = buildApp({ outdir: OUTDIR, ...(envName === undefined ? {} : { envName }) });
  try {
    app.synth();
  } catch (error) {
    // A failing compliance gate throws after writing its report; anything else is a real error.
    if (!String(error).includes('ValidationFailed')) throw error;
  }
  const reportFile = join(OUTDIR, 'validation-report.json');
  const validation = existsSync(reportFile)
    ? (JSON.parse(readFileSync(reportFile, 'utf8')) as CdkValidationReport)
    : undefined;
  const templates = templatesUnder(OUTDIR);
  const packs = [
    ...packsFromValidationReport(validation, COMPLIANCE_PACKS),
    orgRulePack(app),
    packFromCfnLint(runCfnLint(templates), ACCEPTED_CFN_LINT_WARNINGS),
  ];
  const report = buildComplianceReport(
    stages.map((s) => s.stageName),
    packs,
  );
  mkdirSync('reports', { recursive: true });
  writeFileSync(REPORT, `${JSON.stringify(report, null, 2)}\n`);

  console.log(
    `\nSynthesized ${stages.map((s) => s.stageName).join(', ')}: ${templates.length} templates in ${OUTDIR}/`,
  );
  console.log('pack'.padEnd(30), 'unacknowledged'.padStart(15), 'acknowledged'.padStart(13));
  for (const p of packs) {
    console.log(
      p.pack.padEnd(30),
      String(p.unacknowledged).padStart(15),
      String(p.acknowledgements.length).padStart(13),
    );
    for (const f of p.findings) console.log(`   ✗ ${f.rule} at ${f.path}: ${f.message}`);
  }
  // The Lambda concurrency quota each environment needs: compare with
  // `aws lambda get-account-settings --query AccountLimit.ConcurrentExecutions` (docs/first-deploy.md).
  console.log('\nLambda concurrency quota needed (reserved total + 100 Lambda keeps unreserved):');
  for (const stage of stages) {
    const { total } = reservedConcurrencyOf(stage);
    const needed = requiredAccountConcurrency(total);
    console.log(
      `   ${stage.stageName.padEnd(10)} reserved ${String(total).padStart(4)}  ->  ${needed === 0 ? 'any quota (no reservations)' : `account quota >= ${needed}`}`,
    );
  }
  // Model lifecycle warnings (lib/config/model-catalogue.ts): a model within 90 days of EOL.
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type === 'aws:cdk:warning' && String(m.data).includes('[ack: omnichat:model-eol')) {
        console.log(`   ⚠ ${String(m.data)}`);
      }
    }
  }
  console.log(
    `\n${report.passed ? 'PASSED' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s; report: ${REPORT}`,
  );
  return report.passed ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
}
