/** What the numbers were measured on: machine, Node version, commit. */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** Machine and build facts recorded with every report. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  /** 1-minute load average when the run started (other work on the machine skews timings). */
  readonly loadAverage1m: number;
  readonly commit: string;
  /** Whether the working tree had uncommitted changes. */
  readonly dirty: boolean;
}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Collects the facts for `projectRoot`. */
export function machineInfo(projectRoot: string): MachineInfo {
  const cpuList = cpus();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    loadAverage1m: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    commit: git(['rev-parse', 'HEAD'], projectRoot) || 'unknown',
    dirty: git(['status', '--porcelain', '--untracked-files=no'], projectRoot) !== '',
  };
}
