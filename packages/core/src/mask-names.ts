/**
 * Which column (or JSON key) names are sensitive. A name is cut into words (separators, camelCase and acronyms:
 * `APIKey` -> api key), each word singular (`emails` -> email), and it matches a listed name when a run of its
 * words, joined, equals the listed name joined: `e_mail`, `EMail`, `user_emails` and `emailAddress` match
 * `email`; `apiKey`, `api_key`, `APIKey` and `apikey` match `api_key`; `monkey` matches nothing.
 */

/** Email names: the `partial` strategy keeps `u***@example.com` for these. */
export const EMAIL_NAMES = ['email', 'e_mail', 'mail_address'] as const;
/** Phone names: the `partial` strategy keeps the last two digits (`***67`) for these. */
export const PHONE_NAMES = ['phone', 'telephone', 'mobile', 'msisdn', 'fax'] as const;

/**
 * The default sensitive names. Extend with `mask({ extraColumns: [...] })`, replace with `columns`.
 * Every one but the email and phone names is redacted whatever the strategy (`partial` only applies to those).
 */
export const DEFAULT_MASK_COLUMNS: readonly string[] = [
  ...EMAIL_NAMES,
  ...PHONE_NAMES,
  // credentials
  'password',
  'passwd',
  'pwd',
  'passphrase',
  'secret',
  'token',
  'key',
  'api_key',
  'access_key',
  'private_key',
  'credential',
  'auth',
  'authorization',
  'cookie',
  'otp',
  'pin',
  // identity and money
  'ssn',
  'social_security_number',
  'tax_id',
  'national_id',
  'passport',
  'credit_card',
  'card_number',
  'cvv',
  'cvc',
  'iban',
  'full_name',
  'first_name',
  'last_name',
  'birth_date',
  'date_of_birth',
  'dob',
  'address',
];

const singular = (w: string) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);

/** The words of a name, lower case and singular. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([A-Z]{2,})s(?![a-z])/g, '$1S') // SSNs, APIKEYs: an acronym's plural
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map(singular);
}

/** A name joined to one token, as compared: `API-Keys` -> `apikey`. */
export const joinedName = (name: string): string => nameWords(name).join('');

export type NameClass = 'email' | 'phone' | 'other';

/** Classifies names against a list; results are cached per name. */
export class NameMatcher {
  private readonly listed: Map<string, NameClass>;
  private readonly cache = new Map<string, NameClass | null>();

  constructor(names: readonly string[]) {
    const email = new Set(EMAIL_NAMES.map(joinedName));
    const phone = new Set(PHONE_NAMES.map(joinedName));
    this.listed = new Map();
    for (const n of names) {
      const j = joinedName(n);
      if (j.length > 0) this.listed.set(j, email.has(j) ? 'email' : phone.has(j) ? 'phone' : 'other');
    }
  }

  /** The class of a sensitive name, or null when the name is not sensitive. Email wins over phone over other. */
  classify(name: string): NameClass | null {
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const w = nameWords(name);
    let found: NameClass | null = null;
    for (let i = 0; i < w.length && found !== 'email'; i++) {
      let run = '';
      for (let j = i; j < w.length; j++) {
        run += w[j];
        const c = this.listed.get(run);
        if (c !== undefined && (found === null || rank(c) < rank(found))) found = c;
      }
    }
    if (this.cache.size < 10_000) this.cache.set(name, found);
    return found;
  }
}

const rank = (c: NameClass) => (c === 'email' ? 0 : c === 'phone' ? 1 : 2);
