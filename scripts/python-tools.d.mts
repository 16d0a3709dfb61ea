/** Types of python-tools.mjs (plain JavaScript so that `npm ci` can run it before tsx exists). */
export interface PythonTools {
  /** Command that runs cfn-lint; undefined when absent. */
  readonly cfnLint: string | undefined;
  /** A Python that imports moto.server; undefined when absent. */
  readonly python: string | undefined;
  readonly source: 'global' | 'venv' | 'none';
}
export interface PythonToolsOptions {
  readonly root?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  /** @default REQUIREMENTS_FILE */
  readonly requirements?: string;
}
export const PROJECT_ROOT: string;
export const REQUIREMENTS_FILE: string;
export function venvBin(root?: string): string;
export function findPythonTools(options?: PythonToolsOptions): PythonTools;
export function ensurePythonTools(options?: PythonToolsOptions): PythonTools & {
  readonly cfnLint: string;
  readonly python: string;
};
export class PythonToolsError extends Error {}
