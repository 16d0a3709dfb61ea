/**
 * Benchmark (not a test): cost of verifying one Cognito access token with the preloaded JWKS,
 * the work every authenticated request pays in the Lambda. Prints µs p50/p99/mean.
 *
 *   tsx scripts/bench-verifier.ts [--iterations 5000]
 */
import { parseArgs } from 'node:util';
import { principalFromToken } from '../lambda/auth/principal';
import { createAccessTokenVerifier } from '../lambda/auth/token-verifier';
import {
  generateSigningKey,
  jwksOf,
  mint,
  TEST_CLIENT_ID,
  TEST_ISSUER,
  userAccessClaims,
} from '../test/support/tokens';
import { isEntryPoint } from './cognito-cli';

/** Result of one run, in microseconds. */
export interface VerifierBenchResult {
  readonly iterations: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
}

const percentile = (sorted: readonly number[], fraction: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;

/** Verifies the same valid token `iterations` times (after a warm-up) and reports per-token cost. */
export function benchVerifier(iterations = 5000): VerifierBenchResult {
  const key = generateSigningKey('bench-key');
  // Two keys in the JWKS, as during a Cognito key rotation.
  const verifier = createAccessTokenVerifier({
    issuer: TEST_ISSUER,
    jwks: jwksOf(key, generateSigningKey('bench-key-2')),
    clientIds: [TEST_CLIENT_ID],
  });
  const token = mint(userAccessClaims({ groups: ['developer', 'auditor'] }), key);
  for (let index = 0; index < 500; index++) principalFromToken(verifier.verify(token));
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const start = process.hrtime.bigint();
    principalFromToken(verifier.verify(token));
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 10) / 10;
  return {
    iterations,
    p50Us: round(percentile(samples, 0.5)),
    p99Us: round(percentile(samples, 0.99)),
    meanUs: round(samples.reduce((sum, value) => sum + value, 0) / samples.length),
  };
}

if (isEntryPoint(import.meta.url)) {
  const { values } = parseArgs({ options: { iterations: { type: 'string', default: '5000' } } });
  const iterations = Number(values.iterations);
  if (!Number.isInteger(iterations) || iterations < 100) {
    process.stderr.write('--iterations must be an integer >= 100\n');
    process.exitCode = 2;
  } else {
    const result = benchVerifier(iterations);
    process.stdout.write(
      '| benchmark | iterations | p50 (µs) | p99 (µs) | mean (µs) |\n|---|---|---|---|---|\n',
    );
    process.stdout.write(
      `| access-token verify + principal (RS256, 2048-bit, preloaded JWKS) | ${result.iterations} | ${result.p50Us} | ${result.p99Us} | ${result.meanUs} |\n`,
    );
  }
}
