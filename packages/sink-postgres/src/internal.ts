/**
 * Internals the SQL apply sinks share (the MySQL sink builds on them). Not a public API: names may change.
 */
export type { ConvertOptions, Dialect, TargetColumn, TargetTable, ValueSite } from './apply/dialect.js';
export { chunkSizes } from './apply/dialect.js';
export { ApplyEngine, redactValues } from './apply/engine.js';
export { ApplyError, ApplyErrorReason } from './apply/errors.js';
export type { ApplyCommonOptions, ColumnFilter, ResolvedCommonOptions } from './apply/options.js';
export { resolveCommon } from './apply/options.js';
export { isWidening, lengthTypmod, numericTypmod } from './apply/schema.js';
export type { ApplySink, ApplySinkOptions, ApplyTarget } from './apply/sink.js';
export { createApplySink, validateApplyOptions } from './apply/sink.js';
export { connectionLost, flatten, openConnection, StatementCache } from './apply/statements.js';
export type { MappingOptions, NormalizedMapping } from './apply/tables.js';
export type { ComparedRow, CompareResult, CompareSide } from './verify/compare.js';
export { compareTable, rowHash } from './verify/compare.js';
export type { Family } from './verify/normalize.js';
export {
  canonDecimal,
  canonJson,
  canonTimestamp,
  familyOf,
  normalizeJsonText,
  normalizeMysqlValue,
} from './verify/normalize.js';
export type { DescribedColumn, DescribedTable, TableName } from './verify/pg-side.js';
export { describePgTable, parseTableName, pgSide, prepareVerifySession, quotePg } from './verify/pg-side.js';
export type {
  TargetCopy,
  VerifyOptionsBase,
  VerifyResult,
  VerifyTableResult,
  VerifyTableSpecBase,
  VerifyTarget,
} from './verify/run.js';
export { verifyAgainst } from './verify/run.js';
