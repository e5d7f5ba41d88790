import { ErrorCode, WalstreamError } from '@walstream/core';

/**
 * A problem in a config file, located: `walstream.yaml:12:7: pipelines.0.sinks.1.nats.servers: expected string`.
 * `line` and `column` are 1-based; 0 when the problem has no place in the file (the file itself is missing).
 * Messages name keys and environment variable names, never values (a value may be a secret).
 */
export class ConfigFileError extends WalstreamError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly field: string;
  constructor(file: string, line: number, column: number, field: string, problem: string, cause?: unknown) {
    const where = line > 0 ? `${file}:${line}:${column}` : file;
    super(ErrorCode.Config, `${where}: ${field ? `${field}: ` : ''}${problem}`, { cause });
    this.file = file;
    this.line = line;
    this.column = column;
    this.field = field;
  }
}
