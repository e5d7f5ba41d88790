/**
 * @walstream/realtime: change events to browsers and apps over WebSockets. Topics `realtime:<project>:<table>`,
 * `realtime:<project>:*` and (admins) `realtime:global:<table>`; JWT auth; rows masked per role before they leave;
 * instances share events through Redis pub/sub. The browser client is `@walstream/realtime/client`.
 *
 * ```ts
 * import { createPipeline } from '@walstream/core';
 * import { createPostgresReader } from '@walstream/reader-postgres';
 * import { createRealtimeServer } from '@walstream/realtime';
 *
 * const server = createRealtimeServer({ port: 4000, redis: 'redis://127.0.0.1:6379', auth: { secret: process.env.JWT_SECRET } });
 * await server.ready;
 * const pipeline = createPipeline({
 *   name: 'realtime',
 *   reader: createPostgresReader({ connectionString, slot: 'realtime', publication: 'realtime', tables: ['public.orders'] }),
 *   sinks: [server.sink],
 * });
 * await pipeline.start();
 * // browser: new WebSocket('ws://host:4000/realtime?token=<jwt>'), then {"type":"subscribe","topic":"realtime:p1:orders"}
 * ```
 */
import type { FilterOperator, RowPredicate } from './filter.js';
import { FilterSyntaxError, parseRowFilter } from './filter.js';
import type {
  ProjectResolver,
  RealtimeAuthOptions,
  RealtimeRole,
  RealtimeServerOptions,
  RealtimeStats,
  RoleMaskPolicy,
} from './options.js';
import { CloseCode, FrameErrorCode } from './options.js';
import type { RealtimeServer } from './server.js';
import { createRealtimeServer } from './server.js';
import type { ParsedTopic } from './topics.js';
import { parseTopic, topicTable } from './topics.js';

export type {
  FilterOperator,
  ParsedTopic,
  ProjectResolver,
  RealtimeAuthOptions,
  RealtimeRole,
  RealtimeServer,
  RealtimeServerOptions,
  RealtimeStats,
  RoleMaskPolicy,
  RowPredicate,
};
export { CloseCode, createRealtimeServer, FilterSyntaxError, FrameErrorCode, parseRowFilter, parseTopic, topicTable };
