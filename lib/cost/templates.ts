import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One resource of a CloudFormation template, as synthesized. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** The part of a CloudFormation template the cost model reads. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
}

/** One stack's template. */
export interface StackTemplate {
  readonly stackName: string;
  readonly template: CfnTemplate;
}

/** Every stack of one environment. */
export interface EnvironmentTemplates {
  readonly envName: string;
  readonly stacks: readonly StackTemplate[];
}

interface Manifest {
  readonly artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
}

/** True when `dir` holds per-environment assemblies (`assembly-<env>/manifest.json`). */
export function hasAssemblies(dir: string): boolean {
  return (
    existsSync(dir) &&
    readdirSync(dir).some((d) => d.startsWith('assembly-') && existsSync(join(dir, d, 'manifest.json')))
  );
}

/** Reads the templates of every environment from a cloud assembly directory (`cdk.out`). */
export function readAssemblies(dir: string): EnvironmentTemplates[] {
  const envs: EnvironmentTemplates[] = [];
  for (const entry of readdirSync(dir).sort()) {
    if (!entry.startsWith('assembly-')) continue;
    const assemblyDir = join(dir, entry);
    const manifestPath = join(assemblyDir, 'manifest.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
    const stacks: StackTemplate[] = [];
    for (const [stackName, artifact] of Object.entries(manifest.artifacts ?? {})) {
      const file = artifact.properties?.templateFile;
      if (artifact.type !== 'aws:cloudformation:stack' || file === undefined) continue;
      stacks.push({
        stackName,
        template: JSON.parse(readFileSync(join(assemblyDir, file), 'utf8')) as CfnTemplate,
      });
    }
    envs.push({ envName: entry.slice('assembly-'.length), stacks });
  }
  return envs;
}

/**
 * Synthesizes every environment in-process, offline and without the compliance packs (they
 * change no resource), into a temporary directory that is removed afterwards; for when
 * `cdk.out` is absent. Never writes the shared `cdk.out`.
 */
export async function synthesizeAssemblies(): Promise<EnvironmentTemplates[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'omnichat-cost-'));
  try {
    // Imported lazily: loading the CDK app is slow and only this path needs it.
    const { buildApp } = await import('../app');
    const { app } = buildApp({ compliance: false, outdir });
    app.synth();
    return readAssemblies(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
