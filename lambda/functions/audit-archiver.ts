/**
 * Audit archiver: DynamoDB stream of the audit table -> hash-chained, gzipped JSON Lines
 * batches in the Object Lock bucket. The wiring lives in lambda/audit/archiver-handler.ts.
 */
export { handler } from '../audit/archiver-handler';
