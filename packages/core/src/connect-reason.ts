/**
 * Why a connection could not be opened, in words safe for an error message: "cannot connect" alone leaves a user
 * guessing between a wrong password, a missing database and a server that is down.
 *
 * Only failures of the connection phase are described, from fields that hold no row value and no secret: the
 * server's message for SQLSTATE classes 08 (connection), 28 (authorization: names the user, never the password),
 * 3D (no such database), 42501 (no REPLICATION attribute), 53300 (too many connections) and 57P01-57P03 (shutting
 * down, starting up); a socket error by its code, call and address or host name. Anything else (a message that
 * could quote a value) gives null.
 */
const SERVER_CLASSES = /^(?:08|28|3D)/;
const SERVER_CODES = new Set(['42501', '53300', '57P01', '57P02', '57P03']);
/** Messages of the pg client itself during connect: fixed texts. */
const CLIENT_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout expired',
  'The server does not support SSL connections',
]);

export function connectFailureReason(err: unknown): string | null {
  if (typeof err !== 'object' || err === null) return null;
  const e = err as { code?: unknown; message?: unknown; syscall?: unknown; address?: unknown; port?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code) && 'severity' in e) {
    return SERVER_CLASSES.test(code) || SERVER_CODES.has(code) ? `${message} (SQLSTATE ${code})` : null;
  }
  if (/^E[A-Z0-9_]+$/.test(code) && typeof e.syscall === 'string') {
    const host = (err as { hostname?: unknown }).hostname;
    const at =
      typeof e.address === 'string'
        ? ` ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}`
        : typeof host === 'string'
          ? ` ${host}`
          : '';
    return `${e.syscall} ${code}${at}`;
  }
  if (CLIENT_MESSAGES.has(message)) return message;
  // An AggregateError (every address of a host name refused): its first socket error.
  if (Array.isArray((err as { errors?: unknown }).errors)) {
    return connectFailureReason((err as { errors: unknown[] }).errors[0]);
  }
  return null;
}

/** `message` followed by `: reason` when connectFailureReason finds one. */
export function withConnectReason(message: string, err: unknown): string {
  const reason = connectFailureReason(err);
  return reason === null ? message : `${message}: ${reason}`;
}
