/**
 * Postgres -> MySQL/MariaDB types: the column type createTables uses for a source column, and the conversion of
 * a walstream value into what mysql2 sends for a target column. Conversions are exact or they fail (or write
 * NULL when `unrepresentable: 'null'` and the value is NaN, an infinity or a date MySQL has no room for).
 */
import { type ColumnSchema, RawJson, type Value } from '@walstream/core';
import {
  ApplyError,
  ApplyErrorReason,
  type ConvertOptions,
  lengthTypmod,
  numericTypmod,
  type TargetColumn,
  type ValueSite,
} from '@walstream/sink-postgres/internal';

/** Bytes InnoDB allows in one index key; textual key columns share it. */
const KEY_BYTES = 3072;

/** The MySQL column type for a Postgres column (the README's type table). */
export function mysqlColumnType(col: ColumnSchema, textKeyChars: number | null): string {
  const t = col.type;
  const text = textKeyChars === null ? 'LONGTEXT' : `VARCHAR(${textKeyChars})`;
  if (t.endsWith('[]')) return 'JSON';
  const frac = col.typeModifier >= 0 ? Math.min(col.typeModifier, 6) : 6;
  switch (t) {
    case 'smallint':
      return 'SMALLINT';
    case 'integer':
      return 'INT';
    case 'bigint':
    case 'oid':
    case 'xid':
      return 'BIGINT';
    case 'numeric': {
      const n = numericTypmod(col.typeModifier);
      return n !== null && n.precision <= 65 && n.scale <= 30 && n.scale <= n.precision
        ? `DECIMAL(${n.precision},${n.scale})`
        : 'DECIMAL(65,30)';
    }
    case 'real':
      return 'FLOAT';
    case 'double precision':
      return 'DOUBLE';
    case 'boolean':
      return 'BOOLEAN';
    case 'character varying': {
      const n = lengthTypmod(col.typeModifier);
      if (textKeyChars !== null) return `VARCHAR(${n === null ? textKeyChars : Math.min(n, textKeyChars)})`;
      return n !== null && n <= 255 ? `VARCHAR(${n})` : 'LONGTEXT';
    }
    case 'character': {
      const n = lengthTypmod(col.typeModifier) ?? 1;
      return n <= 255 ? `CHAR(${n})` : text;
    }
    case 'bytea':
      return textKeyChars === null ? 'LONGBLOB' : `VARBINARY(${textKeyChars * 4})`;
    case 'uuid':
      return 'CHAR(36) CHARACTER SET ascii COLLATE ascii_bin';
    case 'json':
    case 'jsonb':
      return 'JSON';
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return `DATETIME(${frac})`;
    case 'date':
      return 'DATE';
    case 'time without time zone':
      return `TIME(${frac})`;
    case 'time with time zone':
      return 'VARCHAR(32)';
    case 'interval':
      return 'VARCHAR(64)';
    default:
      // text, enums, domains, inet, money, ranges, xml, ...: Postgres' text form, unchanged.
      return text;
  }
}

/**
 * Characters each textual key column gets so the whole key fits InnoDB's index limit (utf8mb4: 4 bytes a
 * character): what the fixed-size key columns take comes off the limit first, the textual ones share the rest.
 */
export function textKeyChars(keyColumns: readonly ColumnSchema[]): number {
  let fixed = 0;
  let textual = 0;
  for (const c of keyColumns) {
    const bytes = fixedKeyBytes(c);
    if (bytes === null) textual++;
    else fixed += bytes;
  }
  return Math.max(1, Math.min(768, Math.floor((KEY_BYTES - fixed) / 4 / Math.max(1, textual))));
}

/** Bytes a key column of mysqlColumnType's fixed-size types takes in an InnoDB index; null for textual ones. */
function fixedKeyBytes(col: ColumnSchema): number | null {
  switch (col.type) {
    case 'smallint':
      return 2;
    case 'integer':
    case 'real':
      return 4;
    case 'bigint':
    case 'oid':
    case 'xid':
    case 'double precision':
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return 8;
    case 'numeric':
      return 30; // DECIMAL(65,30) at most
    case 'boolean':
      return 1;
    case 'uuid':
      return 36; // CHAR(36) in ascii
    case 'date':
      return 3;
    case 'time without time zone':
      return 6;
    case 'time with time zone':
      return 32 * 4;
    case 'interval':
      return 64 * 4;
    case 'character': {
      const n = lengthTypmod(col.typeModifier) ?? 1;
      return n <= 255 ? n * 4 : null;
    }
    default:
      return null;
  }
}

function bad(site: ValueSite, what: string): ApplyError {
  return new ApplyError(ApplyErrorReason.Value, `${site.table}.${site.column}: ${what}`);
}

function unrepresentable(site: ValueSite, opts: ConvertOptions, what: string): null {
  if (opts.unrepresentable === 'null') return null;
  throw bad(site, `${what} has no MySQL representation (unrepresentable: 'null' writes NULL instead)`);
}

/** The decimal text when it fits DECIMAL(p,s) without rounding; throws otherwise. */
function exactDecimal(s: string, col: TargetColumn, site: ValueSite): string {
  // One pass over the characters, no regular expression or substrings: it runs for every decimal value. Accepts
  // what /^[+-]?\d*(\.\d*)?$/ does; integer digits count from the first non-zero one, fraction digits up to the
  // last non-zero one.
  const n = s.length;
  let i = n > 0 && (s.charCodeAt(0) === 43 || s.charCodeAt(0) === 45) ? 1 : 0;
  let intDigits = 0;
  let fracDigits = 0;
  let frac = -1; // digits seen after the point; -1 before it
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 && frac < 0) {
      frac = 0;
      continue;
    }
    if (c < 48 || c > 57) throw bad(site, 'value is not a plain decimal number for DECIMAL');
    if (frac >= 0) {
      frac++;
      if (c !== 48) fracDigits = frac;
    } else if (intDigits > 0 || c !== 48) intDigits++;
  }
  const p = col.precision ?? 65;
  const sc = col.scale ?? 0;
  if (intDigits > p - sc || fracDigits > sc) {
    throw bad(site, `numeric value does not fit DECIMAL(${p},${sc}) without rounding`);
  }
  return s;
}

const TS = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?( BC)?$/;

/** ISO 8601 from the reader (offset optional) -> `YYYY-MM-DD HH:MM:SS.ffffff` in UTC. */
export function toMysqlDatetime(s: string, site: ValueSite, opts: ConvertOptions): string | null {
  if (s === 'infinity' || s === '-infinity') return unrepresentable(site, opts, `timestamp ${s}`);
  const m = TS.exec(s);
  if (m === null) {
    // `YYYY-MM-DD HH:MM:SS` already in MySQL form (a text source column) passes as it is.
    if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(s)) return s;
    throw bad(site, 'value is not an ISO 8601 timestamp');
  }
  if (m[12] !== undefined) return unrepresentable(site, opts, 'a BC timestamp');
  const frac = (m[7] ?? '').slice(1);
  let ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (Number(m[1]) < 100) {
    const d = new Date(ms);
    d.setUTCFullYear(Number(m[1]));
    ms = d.getTime();
  }
  if (m[8] !== undefined) {
    const off = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
    ms -= m[8] === '+' ? off : -off;
  }
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  if (y < 1 || y > 9999) return unrepresentable(site, opts, 'a timestamp outside years 1-9999');
  const p2 = (n: number) => String(n).padStart(2, '0');
  const base = `${String(y).padStart(4, '0')}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())} ${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return frac === '' ? base : `${base}.${frac}`;
}

function toMysqlDate(s: string, site: ValueSite, opts: ConvertOptions): string | null {
  if (s === 'infinity' || s === '-infinity') return unrepresentable(site, opts, `date ${s}`);
  if (s.endsWith(' BC')) return unrepresentable(site, opts, 'a BC date');
  if (!/^\d{4}-\d\d-\d\d$/.test(s)) return unrepresentable(site, opts, 'a date outside years 1-9999');
  return s;
}

/** MySQL rounds fractional seconds past the column's precision silently: refuse instead. */
function exactFraction(v: string | null, col: TargetColumn, site: ValueSite): string | null {
  if (v === null || col.scale === null) return v;
  const m = /\.(\d+)$/.exec(v);
  const digits = m ? (m[1] as string).replace(/0+$/, '').length : 0;
  if (digits > col.scale) {
    throw bad(site, `fractional seconds beyond ${col.dataType.toUpperCase()}(${col.scale}) would be rounded`);
  }
  return v;
}

/** A JSON text for an array (arrays -> JSON): exact numbers, bytea as base64, NaN/infinities per option. */
export function arrayJson(v: readonly Value[], site: ValueSite, opts: ConvertOptions): string {
  const el = (x: Value): string => {
    if (x === null) return 'null';
    if (Array.isArray(x)) return `[${x.map(el).join(',')}]`;
    if (typeof x === 'bigint') return x.toString();
    if (typeof x === 'number') {
      if (Number.isFinite(x)) return Object.is(x, -0) ? '-0' : String(x);
      unrepresentable(site, opts, `float ${x} in an array`);
      return 'null';
    }
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    if (x instanceof RawJson) return x.text;
    if (x instanceof Uint8Array)
      return JSON.stringify(Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('base64'));
    return JSON.stringify(x);
  };
  return el(v);
}

/** A walstream value as mysql2 should send it into `col`. */
export function toMysqlValue(col: TargetColumn, v: Value, site: ValueSite, opts: ConvertOptions): unknown {
  if (v === null) return null;
  const type = col.dataType;
  if (typeof v === 'string') {
    switch (type) {
      case 'decimal':
        if (v === 'NaN' || v === 'Infinity' || v === '-Infinity') return unrepresentable(site, opts, `numeric ${v}`);
        return exactDecimal(v, col, site);
      case 'datetime':
      case 'timestamp':
        return exactFraction(toMysqlDatetime(v, site, opts), col, site);
      case 'time':
        return exactFraction(v, col, site);
      case 'date':
        return toMysqlDate(v, site, opts);
      case 'blob':
      case 'longblob':
      case 'mediumblob':
      case 'tinyblob':
      case 'varbinary':
      case 'binary':
        return Buffer.from(v, 'utf8');
      default:
        return v;
    }
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return unrepresentable(site, opts, `float ${v}`);
    if (type === 'decimal') return exactDecimal(Number.isInteger(v) ? v.toFixed(0) : String(v), col, site);
    if (/char|text|json/.test(type)) return String(v);
    // The float4 value itself: its shortest decimal text can lie just past FLT_MAX, which MySQL rejects.
    if (type === 'float') return Math.fround(v);
    return v;
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return /char|text/.test(type) ? (v ? 'true' : 'false') : v ? 1 : 0;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof RawJson) return v.text;
  if (Array.isArray(v)) return arrayJson(v, site, opts);
  throw bad(site, 'value of an unknown kind');
}
