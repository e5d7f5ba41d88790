import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeEventJson } from './codec-json.js';
import { encodeEventMsgpack } from './codec-msgpack.js';
import { ConfigError } from './errors.js';
import { type ChangeEvent, RawJson, type Row } from './event.js';
import { DEFAULT_MASK_COLUMNS, mask, REDACTED } from './mask.js';
import { makeEvent } from './testing/index.js';

const K = 'mask-test-secret';
const hmac = (s: string) => createHmac('sha256', K).update(s).digest('hex');

describe('mask: partial only for email and phone', () => {
  it('keeps a hint for email and phone values, redacts every other sensitive column', () => {
    const e = makeEvent({
      key: { id: 1 },
      after: {
        id: 1,
        email: 'user@example.com',
        phone: '+44 20 7946 0958',
        password: 'hunter2',
        full_name: 'Ada Lovelace',
        api_key: 'k-123',
        monkey: 'ok',
        note: null,
      },
    });
    expect(mask()(e)?.after).toEqual({
      id: 1,
      email: 'u***@example.com',
      phone: '***58',
      password: REDACTED,
      full_name: REDACTED,
      api_key: REDACTED,
      monkey: 'ok',
      note: null,
    });
  });

  it('redacts a value that does not have the shape of its name (an email column holding no email)', () => {
    const e = makeEvent({ key: { id: 1 }, after: { id: 1, email: 'not an email', phone: '12', mobile: 'call me' } });
    expect(mask()(e)?.after).toEqual({ id: 1, email: REDACTED, phone: REDACTED, mobile: REDACTED });
  });
});

describe('mask: names', () => {
  const sensitive = [
    'email',
    'emails',
    'e_mail',
    'E-Mail',
    'EMAIL_ADDRESS',
    'userEmail',
    'password',
    'passwd',
    'PASSWORD_HASH',
    'pwd',
    'APIKey',
    'apiKey',
    'api_key',
    'api-keys',
    'apikey',
    'accessToken',
    'refresh_tokens',
    'client_secret',
    'ssn',
    'SSNs',
    'credit_card',
    'creditCardNumber',
    'card_number',
    'cvv',
    'iban',
    'phone',
    'phoneNumbers',
    'mobile',
    'fullName',
    'date_of_birth',
    'private_key',
  ];
  const harmless = ['id', 'monkey', 'keyboard', 'secretary', 'status', 'amount', 'description', 'created_at'];

  it('catches plurals, separators, case and common variants; leaves look-alikes alone', () => {
    const after: Row = Object.fromEntries([...sensitive, ...harmless].map((n) => [n, `v-${n}`]));
    const out = mask({ strategy: 'redact' })(makeEvent({ key: { id: 1 }, after: { ...after, id: 1 } }))?.after ?? {};
    for (const n of sensitive) expect(out[n], n).toBe(REDACTED);
    for (const n of harmless.filter((n) => n !== 'id')) expect(out[n], n).toBe(`v-${n}`);
  });

  it('is documented and extendable', () => {
    expect(DEFAULT_MASK_COLUMNS).toContain('password');
    const e = makeEvent({ key: { id: 1 }, after: { id: 1, loyalty_number: 'L-1', password: 'p' } });
    expect(mask({ extraColumns: ['loyalty_number'] })(e)?.after).toEqual({
      id: 1,
      loyalty_number: REDACTED,
      password: REDACTED,
    });
    expect(mask({ columns: ['loyalty_number'] })(e)?.after).toEqual({ id: 1, loyalty_number: REDACTED, password: 'p' });
  });
});

describe('mask: json values', () => {
  it('walks nested objects and arrays by key, keeps big numbers and everything else exact', () => {
    const doc =
      '{"name":"ok","n":12345678901234567890,"contact":{"Email":"deep@z.example","phones":["+44 20 7946 0958"]},' +
      '"tokens":[{"api_key":"k_live_42"}],"pass\\u0077ord":"esc4ped","list":[1,2.5e10,null,true],"secret":{"a":[1]}}';
    const e = makeEvent({
      key: { id: 1 },
      after: { id: 1, profile: new RawJson(doc), tags: [new RawJson('{"ssn":"1"}')] },
    });
    const out = mask()(e)?.after as Row;
    expect(JSON.parse((out.profile as RawJson).text)).toEqual({
      name: 'ok',
      n: expect.any(Number), // exact digits checked on the text below
      contact: { Email: 'd***@z.example', phones: REDACTED },
      tokens: REDACTED,
      password: REDACTED,
      list: [1, 2.5e10, null, true],
      secret: REDACTED,
    });
    expect((out.profile as RawJson).text).toContain('"n":12345678901234567890');
    expect((out.tags as RawJson[])[0]?.text).toBe(`{"ssn":"${REDACTED}"}`);
  });

  it('returns the same value when nothing inside is sensitive, and redacts json that does not parse', () => {
    const clean = new RawJson('{"a": [1, {"b": "c"}]}');
    const e = makeEvent({ key: { id: 1 }, after: { id: 1, doc: clean, bad: new RawJson('{"password": "x"') } });
    const out = mask()(e)?.after as Row;
    expect(out.doc).toBe(clean);
    expect(out.bad).toBe(REDACTED);
  });
});

describe('mask: key columns and messages', () => {
  it('masks a key column with an HMAC under hashKey, the same in key, before and after; distinct keys stay distinct', () => {
    const ev = (email: string) =>
      makeEvent({ operation: 'UPDATE', key: { email }, before: { email, n: 1 }, after: { email, n: 2 } });
    const m = mask({ hashKey: K });
    const a = m(ev('a@example.com')) as ChangeEvent;
    const b = m(ev('b@example.com')) as ChangeEvent;
    expect(a.key).toEqual({ email: hmac('a@example.com') });
    expect(a.before?.email).toBe(hmac('a@example.com'));
    expect(a.after?.email).toBe(hmac('a@example.com'));
    expect(b.key?.email).not.toBe(a.key?.email);
  });

  it('fails the event with a ConfigError when a key column is masked and no hashKey is set', () => {
    expect(() => mask()(makeEvent({ key: { email: 'a@example.com' }, after: { email: 'a@example.com' } }))).toThrow(
      ConfigError,
    );
    expect(() => mask({ strategy: 'hash' })).toThrow(ConfigError);
  });

  it('redacts MESSAGE content in allow-list mode and masks every column not allowed', () => {
    const msg = makeEvent({
      operation: 'MESSAGE',
      key: null,
      after: null,
      message: { prefix: 'audit', content: new TextEncoder().encode('ssn 987-65-4321'), transactional: true },
    });
    const out = mask({ allow: ['id'] })(msg) as ChangeEvent;
    expect(new TextDecoder().decode(out.message?.content)).toBe(REDACTED);
    expect(out.message?.prefix).toBe('audit');
    const row = mask({ allow: ['id'], hashKey: K })(
      makeEvent({ key: { id: 1 }, after: { id: 1, comment: 'call me at home', email: 'x@y.example' } }),
    );
    expect(row?.after).toEqual({ id: 1, comment: REDACTED, email: 'x***@y.example' });
  });
});

describe('mask: hostile corpus', () => {
  const secrets = [
    'alice.k@corp.example',
    'bob@x.example',
    'c1@y.example',
    'c2@y.example',
    'hunter2-Σ"\\\n',
    'AKIA-XYZ-123',
    'tok_abc_9f8e',
    '4111 1111 1111 1111',
    '+1 (555) 123-9876',
    '5551239876',
    '918273645',
    'deep@z.example',
    '+44 20 7946 0958',
    'k_live_42',
    'esc4ped',
    'Ada Lovelace',
    '987-65-4321',
    'pin-0420',
  ];
  const pwBytes = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x42, 0x13, 0x37]);
  const row = (): Row => ({
    user_email: 'alice.k@corp.example',
    Password: 'hunter2-Σ"\\\n',
    APIKey: 'AKIA-XYZ-123',
    'e-mail': 'bob@x.example',
    emails: ['c1@y.example', 'c2@y.example'],
    passwd: pwBytes,
    ssn: 918273645n,
    credit_card: '4111 1111 1111 1111',
    accessToken: 'tok_abc_9f8e',
    PhoneNumber: '+1 (555) 123-9876',
    full_name: 'Ada Lovelace',
    PIN: 'pin-0420',
    profile: new RawJson(
      '{"contact":{"email":"deep@z.example","phones":["+44 20 7946 0958"]},"tokens":[{"api_key":"k_live_42"}],' +
        '"pass\\u0077ord":"esc4ped","n":12345678901234567890}',
    ),
    notes: 'fine',
  });
  const corpus: ChangeEvent[] = [
    makeEvent({ lsn: 0x10n, key: { user_email: 'alice.k@corp.example' }, after: row() }),
    makeEvent({
      lsn: 0x20n,
      operation: 'UPDATE',
      key: { user_email: 'alice.k@corp.example' },
      before: row(),
      after: row(),
    }),
    makeEvent({
      lsn: 0x30n,
      operation: 'DELETE',
      key: { user_email: 'alice.k@corp.example' },
      before: row(),
      after: null,
    }),
    makeEvent({
      lsn: 0x40n,
      operation: 'MESSAGE',
      key: null,
      after: null,
      message: { prefix: 'audit', content: new TextEncoder().encode('ssn 987-65-4321 pin-0420'), transactional: false },
    }),
  ];

  /** Every form a value could take in output bytes: raw UTF-8, JSON-escaped, base64/hex for bytes. */
  const needles = (): Buffer[] => {
    const out: Buffer[] = [];
    for (const s of secrets) {
      out.push(Buffer.from(s, 'utf8'));
      out.push(Buffer.from(JSON.stringify(s).slice(1, -1), 'utf8'));
    }
    out.push(
      Buffer.from(pwBytes),
      Buffer.from(Buffer.from(pwBytes).toString('base64')),
      Buffer.from(Buffer.from(pwBytes).toString('hex')),
    );
    return out;
  };

  for (const [label, options, events] of [
    ['default names', { hashKey: K }, corpus.slice(0, 3)],
    ['allow list', { hashKey: K, allow: ['notes', 'profile'] }, corpus],
    ['redact strategy', { hashKey: K, strategy: 'redact' }, corpus.slice(0, 3)],
    ['hash strategy', { hashKey: K, strategy: 'hash' }, corpus.slice(0, 3)],
  ] as const) {
    it(`leaks no sensitive value into any output byte, JSON and MessagePack (${label})`, () => {
      const m = mask(options);
      for (const e of events) {
        const masked = m(e) as ChangeEvent;
        const outputs = [Buffer.from(encodeEventJson(masked), 'utf8'), Buffer.from(encodeEventMsgpack(masked))];
        for (const bytes of outputs) {
          for (const n of needles()) expect(bytes.indexOf(n), `${n.toString('utf8')} in ${label}`).toBe(-1);
        }
        // The harmless data survives, so the test is not passing by dropping everything.
        if (masked.after) expect(encodeEventJson(masked)).toContain('12345678901234567890');
        if (masked.after) expect(masked.after.notes).toBe('fine');
      }
    });
  }
});

describe('mask: column names of Object.prototype', () => {
  it('masks a column named __proto__ like any other (an assignment would have kept the clear value)', () => {
    const after = JSON.parse('{"id": 1, "__proto__": "secret-a", "constructor": "secret-b"}') as Row;
    const out = mask({ allow: ['id'] })(makeEvent({ key: { id: 1 }, after }))?.after as Row;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['id', '__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toBe(REDACTED);
    expect(JSON.stringify(out)).not.toContain('secret');
  });
});
