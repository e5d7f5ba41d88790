/**
 * Rows are plain objects keyed by column name, and a column may be named `__proto__`: `row[name] = value` on an
 * object without that own property calls Object.prototype's `__proto__` setter instead, which changes the
 * prototype (or ignores the value) and loses the column. Building a row by assignment goes through here.
 */
export function setField(row: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(row, name, { value, writable: true, enumerable: true, configurable: true });
  } else row[name] = value;
}
