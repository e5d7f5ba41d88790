/**
 * Test kit for walstream readers, sinks and pipelines: an array-backed reader, hand-written sinks and the
 * sink contract suite (needs vitest).
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createArrayReader, createMemorySink, makeTransactions } from '@walstream/core/testing';
 * const sink = createMemorySink();
 * const p = createPipeline({ name: 't', reader: createArrayReader(makeTransactions({ transactions: 3, eventsPerTransaction: 2 })), sinks: [sink] });
 * await p.start(); await p.done; // sink.events.length === 6
 * ```
 */

export type { ArrayReader, ArrayReaderOptions } from './array-reader.js';
export { createArrayReader } from './array-reader.js';
export type { SinkContractHarness, SinkContractOptions, SinkFaults } from './contract.js';
export { batchOf, describeSinkContract, expectDelivered, valueZoo } from './contract.js';
export type { MakeEventInput, MakeTransactionsInput } from './fixtures.js';
export { commitOf, makeEvent, makeTransactions } from './fixtures.js';
export type {
  ControlledSink,
  FailingSink,
  FailingSinkOptions,
  MemorySink,
  PendingWrite,
} from './sinks.js';
export {
  createControlledSink,
  createFailingSink,
  createMemorySink,
  createSlowSink,
} from './sinks.js';
