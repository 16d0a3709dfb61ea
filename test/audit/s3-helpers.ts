/** S3 helpers for the moto-backed audit suites. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';

/** An S3 client for a moto endpoint. */
export function s3For(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
  });
}

/** Creates a bucket with Object Lock on and a COMPLIANCE default retention, like the audit archive. */
export async function createLockedBucket(s3: S3Client, bucket: string, days = 1): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  await s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: days } },
      },
    }),
  );
}

/** Lists every key of a bucket. */
export async function listKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.NextContinuationToken;
  } while (token !== undefined);
  return keys.sort();
}

/** Downloads a bucket to a directory with the same key layout (like `aws s3 sync`). */
export async function downloadBucket(s3: S3Client, bucket: string, dir: string): Promise<string[]> {
  const keys = await listKeys(s3, bucket);
  for (const key of keys) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const path = join(dir, key);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, await object.Body!.transformToByteArray());
  }
  return keys;
}
