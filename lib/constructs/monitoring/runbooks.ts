/**
 * The runbooks alarms link to: one page per critical alarm (and one per group of related
 * warnings), each in docs/runbooks/<slug>.md following the incident process of seed 000
 * (detect, analyse, contain, eradicate, recover, lessons). A test checks that every slug
 * has its page and every page has the six sections.
 */
export const RUNBOOKS = [
  'security-incident',
  'service-unhealthy',
  'auth-failures',
  'authz-denied',
  'edge-abuse',
  'canary-leak',
  'data-exfiltration',
  'audit-write-failed',
  'audit-tamper',
  'audit-archive-lag',
  'directory-sync',
] as const;

/** A runbook page name (file name without `.md`). */
export type RunbookSlug = (typeof RUNBOOKS)[number];

/** Repository-relative folder of the runbooks. */
export const RUNBOOK_DIR = 'docs/runbooks';

/** The link to a runbook: under `baseUrl` when given, else the repository-relative path. */
export function runbookLink(slug: RunbookSlug, baseUrl?: string): string {
  return `${baseUrl ?? RUNBOOK_DIR}/${slug}.md`;
}
