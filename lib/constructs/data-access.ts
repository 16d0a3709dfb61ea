/**
 * Least-privilege data grants for the functions, spelled out action by action.
 *
 * CDK's `table.grantReadWriteData()` would hand every function BatchWriteItem, DeleteItem
 * and UpdateItem on every table it touches, which is exactly what the audit table must not
 * allow. Here each function names the DynamoDB actions it calls, and the table's CMK is
 * usable only through DynamoDB (`kms:ViaService`), so the key cannot be used directly.
 */
import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { ApiFunction } from './api-function';

/** DynamoDB data-plane actions a function may be granted. */
export type TableAction =
  | 'GetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

const READS: ReadonlySet<TableAction> = new Set(['GetItem', 'Query', 'ConditionCheckItem']);

/** Options of {@link grantTable}. */
export interface TableGrant {
  /** Statement id prefix, e.g. `AuditPut`. */
  readonly sid: string;
  readonly table: dynamodb.ITable;
  /** The CMK the table is encrypted with. */
  readonly key: kms.IKey;
  readonly actions: readonly TableAction[];
  /** Also on these global secondary indexes (reads only). */
  readonly indexes?: readonly string[];
  /** IAM conditions on the table statement (e.g. `dynamodb:Attributes`). */
  readonly conditions?: Record<string, unknown>;
}

/** Grants exactly `actions` on the table (and the named indexes for reads), plus its key via DynamoDB. */
export function grantTable(fn: ApiFunction, grant: TableGrant): void {
  const resources = [grant.table.tableArn];
  const indexReads = grant.actions.filter((a) => READS.has(a) && a !== 'GetItem');
  fn.grant(
    grant.sid,
    grant.actions.map((a) => `dynamodb:${a}`),
    resources,
    grant.conditions,
  );
  if (grant.indexes && grant.indexes.length > 0 && indexReads.length > 0) {
    fn.grant(
      `${grant.sid}Indexes`,
      indexReads.map((a) => `dynamodb:${a}`),
      grant.indexes.map((index) => `${grant.table.tableArn}/index/${index}`),
    );
  }
  const writes = grant.actions.some((a) => !READS.has(a));
  fn.grant(
    `${grant.sid}Key`,
    writes ? ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
    [grant.key.keyArn],
    { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(fn).region}.amazonaws.com` } },
  );
}
