import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUNBOOK_DIR, RUNBOOKS } from '../../lib/constructs/monitoring/runbooks';
import { monitoredStack } from './fixture';

const dir = fileURLToPath(new URL(`../../${RUNBOOK_DIR}/`, import.meta.url));
const read = (file: string) => readFileSync(`${dir}${file}`, 'utf8');
const SECTIONS = ['Detect', 'Analyse', 'Contain', 'Eradicate', 'Recover', 'Lessons'];

/** The body of one `## Section` of a page. */
const section = (page: string, name: string): string =>
  page.split(/^## /m).find((part) => part.startsWith(`${name}\n`)) ?? '';

describe('runbooks', () => {
  const { monitoring } = monitoredStack();
  const alarms = Object.entries(monitoring.alarms);

  it('has one page per runbook the alarms link, and no stray page', () => {
    const pages = readdirSync(dir).filter((f) => f.endsWith('.md') && f !== 'README.md');
    expect(pages.sort()).toEqual(RUNBOOKS.map((slug) => `${slug}.md`).sort());
    for (const [, info] of alarms) expect(RUNBOOKS).toContain(info.runbook);
  });

  it.each(RUNBOOKS.map((slug) => [slug]))('%s follows the incident process, in order', (slug) => {
    const page = read(`${slug}.md`);
    const headings = [...page.matchAll(/^## (\w+)/gm)].map((m) => m[1]);
    expect(headings).toEqual(SECTIONS);
    for (const name of SECTIONS)
      expect(section(page, name).trim().length, `${slug}: ${name}`).toBeGreaterThan(60);
  });

  it.each(
    [
      ...new Set(alarms.filter(([, a]) => a.severity === 'critical').map(([, a]) => a.runbook)),
      'security-incident',
    ].map((slug) => [slug]),
  )('critical runbook %s has exact containment commands', (slug) => {
    const contain = section(read(`${slug}.md`), 'Contain');
    expect(contain).toMatch(
      /`(aws |npx tsx scripts\/|cdk deploy)|\]\(README\.md#(revoke-api-keys|block-an-ip)\)/,
    );
  });

  it('the shared commands disable users, revoke keys and block IPs with the real CLI calls', () => {
    const readme = read('README.md');
    expect(readme).toContain('aws cognito-idp admin-disable-user --user-pool-id $POOL_ID');
    expect(readme).toContain('scripts/cognito-disable-user.ts');
    expect(readme).toMatch(/aws wafv2 update-ip-set --scope REGIONAL .* --lock-token/);
    expect(readme).toMatch(/aws dynamodb update-item [\s\S]*?--update-expression 'SET revokedAt/);
    for (const script of ['scripts/cognito-disable-user.ts', 'scripts/cognito-group.ts']) {
      expect(() => readFileSync(fileURLToPath(new URL(`../../${script}`, import.meta.url)))).not.toThrow();
    }
  });

  it('lists every alarm in the README table', () => {
    const readme = read('README.md');
    const generic = (id: string) =>
      id
        .replace(/^Lambda\w+?(Errors|Throttles|Duration)$/, 'Lambda<Fn>$1')
        .replace(/^Dynamo\w+?(Throttles|SystemErrors)$/, 'Dynamo<Table>$1');
    for (const [id] of alarms) expect(readme, id).toMatch(new RegExp(`^\\| ${generic(id)} +\\|`, 'm'));
    for (const id of ['SecurityIncident', 'ServiceUnhealthy']) expect(readme).toContain(`**${id}**`);
  });
});
