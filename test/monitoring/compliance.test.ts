import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addCompliancePlugins, COMPLIANCE_PACKS } from '../../lib/compliance/plugins';
import { type CdkValidationReport, packsFromValidationReport } from '../../lib/compliance/report';
import { monitoredStack } from './fixture';

/** Synthesizes the monitored test stack with every compliance pack; returns the per-pack results. */
function synthWithCompliance(envName: string) {
  const outdir = mkdtempSync(join(tmpdir(), 'omnichat-monitoring-compliance-'));
  const { app } = monitoredStack({ envName, outdir, beforeBuild: addCompliancePlugins });
  let error: unknown;
  try {
    app.synth();
  } catch (e) {
    error = e;
  }
  const report = JSON.parse(
    readFileSync(join(outdir, 'validation-report.json'), 'utf8'),
  ) as CdkValidationReport;
  return { error, packs: packsFromValidationReport(report, COMPLIANCE_PACKS) };
}

/** Findings on what SecurityMonitoring builds (the fixture's own VPC, ALB, functions are not under test). */
const OURS = /\/Monitoring\//;

describe.each(['dev', 'prod'])('compliance of SecurityMonitoring (%s)', (envName) => {
  const { packs } = synthWithCompliance(envName);

  it('leaves zero unacknowledged findings on the monitoring constructs in every pack', () => {
    expect(packs.map((p) => p.pack)).toEqual(expect.arrayContaining([...COMPLIANCE_PACKS]));
    for (const pack of packs) {
      const ours = pack.findings.filter((f) => OURS.test(f.path));
      expect({ pack: pack.pack, findings: ours }).toEqual({ pack: pack.pack, findings: [] });
    }
  });

  it('gives every acknowledgement on the monitoring constructs a reason a reviewer can judge', () => {
    for (const pack of packs) {
      for (const ack of pack.acknowledgements.filter((a) => OURS.test(a.path))) {
        expect(ack.reason.length, `${ack.rule} on ${ack.path}`).toBeGreaterThan(40);
      }
    }
  });
});
