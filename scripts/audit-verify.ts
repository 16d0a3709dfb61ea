/**
 * `npm run audit:verify -- [--json] [--allow-partial] DIR`
 *
 * Verifies an audit archive downloaded from S3 (`aws s3 sync s3://BUCKET DIR`) or written by the
 * local archiver: every batch's header hash and line hashes, the `seq`/`prevHash` chain, the
 * chain head and the hourly manifests. Prints batches, events, first/last time and every break
 * with its file and line.
 *
 * Exit codes: 0 intact; 1 a break was found; 2 usage error; 3 intact, but the archive records
 * tampering with the audit table (MODIFY/REMOVE or forged inserts) that needs investigating.
 */
import { readdir } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { exitCodeOf, formatReport, verifyArchive } from '../lambda/audit/archive-verifier';

// The verifier lives beside the chain format it checks; re-exported for existing callers.
export {
  type BreakKind,
  type ChainBreak,
  type ChainSummary,
  exitCodeOf,
  formatReport,
  type TamperFinding,
  type VerifyReport,
  verifyArchive,
} from '../lambda/audit/archive-verifier';

const USAGE = 'usage: npm run audit:verify -- [--json] [--allow-partial] DIR';

/** CLI entry; returns the exit code. */
export async function main(
  argv: readonly string[],
  print: (text: string) => void = console.log,
): Promise<number> {
  const flags = argv.filter((arg) => arg.startsWith('--'));
  const positional = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = flags.filter((flag) => flag !== '--json' && flag !== '--allow-partial');
  if (unknown.length > 0 || positional.length !== 1) {
    console.error(unknown.length > 0 ? `unknown option ${unknown.join(', ')}\n${USAGE}` : USAGE);
    return 2;
  }
  const dir = positional[0]!;
  try {
    const entries = await readdir(dir);
    if (entries.length === 0) throw new Error('empty');
  } catch {
    console.error(`${dir} is not a readable, non-empty directory\n${USAGE}`);
    return 2;
  }
  const report = await verifyArchive(dir, { allowPartial: flags.includes('--allow-partial') });
  print(flags.includes('--json') ? JSON.stringify(report, null, 2) : formatReport(report));
  return exitCodeOf(report);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(`audit:verify failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 2;
    },
  );
}
