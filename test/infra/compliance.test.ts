import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { COMPLIANCE_PACKS } from '../../lib/compliance/plugins';
import { type CdkValidationReport, packsFromValidationReport } from '../../lib/compliance/report';

/** Synthesizes with every compliance plugin into a temp dir; returns the per-pack results. */
function synthWithCompliance(mutate?: (app: ReturnType<typeof buildApp>) => void) {
  const outdir = mkdtempSync(join(tmpdir(), 'omnichat-compliance-'));
  const built = buildApp({ outdir });
  mutate?.(built);
  let error: unknown;
  try {
    built.app.synth();
  } catch (e) {
    error = e;
  }
  const report = JSON.parse(
    readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
  ) as CdkValidationReport;
  return { error, packs: packsFromValidationReport(report, COMPLIANCE_PACKS) };
}

/** A full synth with every pack takes ~40 s here; leave room for a loaded CI machine. */
const SYNTH_TIMEOUT_MS = 360_000;

describe('compliance gate (engine level)', () => {
  it(
    'finds zero unacknowledged findings in every pack, for every environment',
    () => {
      const { error, packs } = synthWithCompliance();
      expect(error).toBeUndefined();
      for (const pack of packs) {
        expect({ pack: pack.pack, findings: pack.findings }).toEqual({ pack: pack.pack, findings: [] });
        for (const ack of pack.acknowledgements) expect(ack.reason.length).toBeGreaterThan(40);
      }
      expect(packs.map((p) => p.pack)).toEqual(expect.arrayContaining([...COMPLIANCE_PACKS]));
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    'fails synth, naming every pack, when a non-compliant resource is added',
    () => {
      const { error, packs } = synthWithCompliance(({ stages }) => {
        // An unencrypted, unlogged, public-access-allowing bucket and a plain queue: every pack objects.
        const stack = new Stack(stages[0]!, 'Careless');
        new s3.Bucket(stack, 'Careless', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY });
        new sqs.Queue(stack, 'Plain', { encryption: sqs.QueueEncryption.UNENCRYPTED });
      });
      expect(String(error)).toMatch(/ValidationFailed/);
      const failing = packs.filter((p) => p.unacknowledged > 0).map((p) => p.pack);
      expect(failing).toEqual(expect.arrayContaining([...COMPLIANCE_PACKS]));
    },
    SYNTH_TIMEOUT_MS,
  );
});
