/**
 * Normal forms for comparing rows across databases. The source is read as `to_json(column)::text` (exact
 * numbers, ISO timestamps, `\x` bytea); each value becomes a string that the same value read from the target
 * (Postgres or MySQL) also becomes. Normal forms of key columns double as query parameters on both sides.
 */

export function canonDecimal(s: string): string {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) return s;
  const neg = s.startsWith('-');
  const [ip = '', fp = ''] = s.replace(/^[+-]/, '').split('.');
  const i = ip.replace(/^0+/, '') || '0';
  const f = fp.replace(/0+$/, '');
  const r = f ? `${i}.${f}` : i;
  return neg && r !== '0' ? `-${r}` : r;
}

const NUMERIC_LIKE = /^-?\d+(\.\d+)?$/;

/** JSON with sorted keys where a number and a numeric-looking string compare equal (arrays of numeric). */
export function canonJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(canonJson).join(',')}]`;
  if (typeof v === 'number') return `n${canonDecimal(String(v))}`;
  if (typeof v === 'string') return NUMERIC_LIKE.test(v) ? `n${canonDecimal(v)}` : JSON.stringify(v);
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonJson(o[k])}`)
      .join(',')}}`;
  }
  return String(v);
}

/** Type families the comparison distinguishes, from format_type names. */
export type Family =
  | 'int'
  | 'numeric'
  | 'real'
  | 'double'
  | 'bool'
  | 'bytea'
  | 'timestamptz'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'json'
  | 'char'
  | 'uuid'
  | 'text';

export function familyOf(type: string): Family {
  if (type.endsWith('[]')) return 'json';
  if (/^(smallint|integer|bigint|oid|xid)$/.test(type)) return 'int';
  if (type.startsWith('numeric')) return 'numeric';
  if (type === 'real') return 'real';
  if (type === 'double precision') return 'double';
  if (type === 'boolean') return 'bool';
  if (type === 'bytea') return 'bytea';
  if (type.startsWith('timestamp') && type.endsWith('with time zone')) return 'timestamptz';
  if (type.startsWith('timestamp')) return 'timestamp';
  if (type === 'date') return 'date';
  if (type.startsWith('time') && !type.endsWith('with time zone')) return 'time';
  if (type === 'json' || type === 'jsonb') return 'json';
  if (type.startsWith('character(') || type === 'character') return 'char';
  if (type === 'uuid') return 'uuid';
  return 'text';
}

function stripFraction(s: string): string {
  return s.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');
}

/** `2026-05-03T02:40:00.120+05:30` -> `2026-05-02 21:10:00.12` (UTC); infinity and BC stay as they are. */
export function canonTimestamp(s: string): string {
  const m = /^(\d{4,})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?$/.exec(s);
  if (m === null) return s;
  const frac = stripFraction(m[7] ?? '');
  if (m[8] === undefined) return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:${m[6]}${frac}`;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  const off = (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0)) * 1000;
  const t = new Date(d.getTime() - (m[8] === '+' ? off : -off));
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(t.getUTCFullYear()).padStart(4, '0')}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())} ${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}${frac}`;
}

/** A source value read as `to_json(col)::text` (or a Postgres target's, read the same way). */
export function normalizeJsonText(f: Family, json: string | null): string | null {
  if (json === null || json === 'null') return null;
  // Numbers straight from the JSON text: JSON.parse would round int8 and numeric.
  const raw = json.startsWith('"') ? (JSON.parse(json) as string) : json;
  switch (f) {
    case 'int':
    case 'numeric':
      return canonDecimal(raw);
    case 'real':
      return String(Math.fround(Number(raw)));
    case 'double':
      return String(Number(raw));
  }
  const v = JSON.parse(json) as unknown;
  if (v === null) return null;
  switch (f) {
    case 'bool':
      return v ? 'true' : 'false';
    case 'bytea':
      return String(v).replace(/^\\x/, '').toLowerCase();
    case 'timestamptz':
    case 'timestamp':
      return canonTimestamp(String(v));
    case 'time':
      return stripFraction(String(v));
    case 'json':
      return canonJson(v);
    case 'char':
      return String(v).trimEnd();
    case 'uuid':
      return String(v).toLowerCase();
    default:
      // Text, and types a target may hold as text (createTables makes domains and enums text): a number or a
      // boolean of a domain compares as the text Postgres writes for it.
      if (typeof v === 'number') return raw;
      if (typeof v === 'boolean') return String(v);
      return typeof v === 'string' ? v : canonJson(v);
  }
}

/** A value as mysql2 returns it (strings for numbers and dates, Buffers for blobs), in the same normal form. */
export function normalizeMysqlValue(f: Family, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  switch (f) {
    case 'int':
    case 'numeric':
      return canonDecimal(String(v));
    case 'real':
      return String(Math.fround(Number(v)));
    case 'double':
      return String(Number(v));
    case 'bool':
      return Number(v) !== 0 ? 'true' : 'false';
    case 'bytea':
      return Buffer.isBuffer(v) ? v.toString('hex') : Buffer.from(String(v)).toString('hex');
    case 'timestamptz':
    case 'timestamp':
    case 'time':
      return stripFraction(String(v));
    case 'json':
      return canonJson(typeof v === 'string' ? JSON.parse(v) : v);
    case 'char':
      return String(v).trimEnd();
    case 'uuid':
      return String(v).toLowerCase();
    default:
      return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
}
