/** nats.js errors onto walstream's model: transient ones retriable, configuration and permission ones not. */
import { SinkError } from '@walstream/core';

const RETRIABLE_NAMES = new Set([
  'TimeoutError',
  'ConnectionError',
  'ClosedConnectionError',
  'DrainingConnectionError',
  'RequestError',
  // A stream that is not (yet) listening, e.g. while the server restarts: retried; a misconfigured subject
  // exhausts the retries and stops the pipeline with this message.
  'NoRespondersError',
]);

export function mapNatsError(err: unknown, what: string): SinkError {
  const e = err as Error & { code?: number | string; api_error?: { code?: number } };
  const name = e?.name ?? 'Error';
  if (name === 'JetStreamApiError') {
    const status = Number(e.api_error?.code ?? e.code);
    return new SinkError(`${what}: JetStream API error ${status}`, {
      cause: err,
      retriable: status === 503 || status === 408,
    });
  }
  // nats.js reports a publish that no stream captures as JetStreamNotEnabled ("no responders").
  if (name === 'NoRespondersError' || name === 'JetStreamNotEnabled') {
    return new SinkError(
      `${what}: no JetStream stream captures the subject (or JetStream is off, or the server is restarting)`,
      {
        cause: err,
        retriable: true,
      },
    );
  }
  return new SinkError(`${what}: ${name}`, { cause: err, retriable: RETRIABLE_NAMES.has(name) });
}
