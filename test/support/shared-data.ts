/**
 * The labelled prompt set lives outside the repository (`../shared/data/`, never copied in:
 * see its README). Tests that measure against it find it here; where it is absent (a clean
 * clone on its own), they are reported as skipped with the reason in their title, and the
 * eval command (`npm run eval:guardrail -- FILE`) measures the same figures on any file.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CANDIDATES = [
  process.env.OMNICHAT_PROMPT_DATA,
  fileURLToPath(new URL('../../../shared/data/prompt-injection/dev.jsonl', import.meta.url)),
].filter((path): path is string => path !== undefined && path !== '');

/** Path of the labelled prompt set, or undefined when it is not on this machine. */
export const PROMPT_DATA_FILE: string | undefined = CANDIDATES.find((path) => existsSync(path));

/** Suffix for a test title that needs the data set. */
export const PROMPT_DATA_NOTE = PROMPT_DATA_FILE
  ? ''
  : ' (skipped: labelled prompt set not found; set OMNICHAT_PROMPT_DATA)';
