/**
 * @walstream/cli: walstream as a service. The `walstream` bin runs pipelines from a YAML config with HTTP
 * telemetry, a slot lag monitor and graceful shutdown; the same pieces are importable.
 *
 * ```ts
 * import { loadConfig, startService } from '@walstream/cli';
 *
 * const service = await startService(await loadConfig('walstream.yaml'));
 * process.once('SIGTERM', () => service.stop());
 * process.exitCode = await service.done;
 * ```
 */

export type { CliIo } from './cli.js';
export { main, USAGE } from './cli.js';
export type { CheckLevel, CheckResult, CheckTarget } from './commands/check.js';
export { describeTarget, formatChecks, runChecks } from './commands/check.js';
export { SAMPLE_CONFIG, writeSampleConfig } from './commands/init.js';
export type { DropResult, SourceStatus } from './commands/slot.js';
export { dropSource, sourceStatus } from './commands/slot.js';
export type { ColumnInfo, Shape, TableTypes } from './commands/types.js';
export { readTableTypes, renderJsonSchema, renderTypeScript, renderZod, typeName } from './commands/types.js';
export type { BuiltPipeline } from './config/build.js';
export { buildPipelines, buildReader } from './config/build.js';
export { ConfigFileError } from './config/errors.js';
export type { ConfigPath, LoadedConfig } from './config/load.js';
export { loadConfig, parseConfig } from './config/load.js';
export type { HttpConfig, LogConfig, MonitorConfig, PipelineSection, ServiceConfig } from './config/schema.js';
export { configSchema, SINK_KINDS } from './config/schema.js';
export type { HttpHandlers, TelemetryServer } from './service/http.js';
export { startTelemetry } from './service/http.js';
export type { ServiceLogger } from './service/log.js';
export { createServiceLogger } from './service/log.js';
export { ServiceMetrics } from './service/metrics.js';
export type { RunningService, ServiceOptions } from './service/service.js';
export { ExitCode, startService } from './service/service.js';
export type { LagLevel, SlotMonitor, SlotReport } from './service/slot-monitor.js';
export { readSlot, startSlotMonitor } from './service/slot-monitor.js';
