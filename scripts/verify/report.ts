/** Shapes and table of `npm run verify:deployment`. */

/** Outcome of one check: pass, fail, or skip (not applicable here, with the reason). */
export interface CheckResult {
  readonly status: 'pass' | 'fail' | 'skip';
  readonly why: string;
}

/** One named, read-only check. */
export interface VerifyCheck {
  readonly id: string;
  readonly group: 'https' | 'aws';
  run(): Promise<CheckResult>;
}

/** A check with its outcome. */
export interface CheckRow extends CheckResult {
  readonly id: string;
  readonly group: string;
}

/** Runs the checks one after another; a check that throws fails with its message, never aborts the run. */
export async function runChecks(checks: readonly VerifyCheck[]): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  for (const check of checks) {
    try {
      rows.push({ id: check.id, group: check.group, ...(await check.run()) });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      rows.push({ id: check.id, group: check.group, status: 'fail', why: message.slice(0, 300) });
    }
  }
  return rows;
}

/** The result table (Markdown, readable in a terminal and a CI log). */
export function renderTable(rows: readonly CheckRow[]): string {
  const mark = { pass: 'PASS', fail: 'FAIL', skip: 'skip' } as const;
  const lines = ['| group | check | result | why |', '|---|---|---|---|'];
  for (const r of rows)
    lines.push(`| ${r.group} | ${r.id} | ${mark[r.status]} | ${r.why.replaceAll('|', '\\|')} |`);
  const failed = rows.filter((r) => r.status === 'fail').length;
  const skipped = rows.filter((r) => r.status === 'skip').length;
  lines.push('', `${rows.length - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
  return lines.join('\n');
}
