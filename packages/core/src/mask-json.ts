/**
 * Masks inside JSON text by key, keeping every other byte's meaning: numbers stay verbatim (no precision loss),
 * keys and strings are compared decoded (`"pass\u0077ord"` is `password`). Whitespace is not kept.
 */

type Node =
  | { readonly t: 'obj'; readonly entries: [raw: string, key: string, value: Node][] }
  | { readonly t: 'arr'; readonly items: Node[] }
  | { readonly t: 'str'; readonly raw: string; readonly value: string }
  | { readonly t: 'lit'; readonly raw: string };

/** Replaces a value under a sensitive key: gets the key and the decoded value (string, or raw JSON text). */
export type JsonMasker = (key: string, node: { string?: string; raw: string }) => string;

/**
 * Rewrites `text`, masking values under keys `isSensitive` accepts (whole subtrees: an object under `password` is
 * replaced as one). Returns null when nothing was masked. Throws on text that is not JSON.
 */
export function maskJsonText(text: string, isSensitive: (key: string) => boolean, replace: JsonMasker): string | null {
  const p = new Parser(text);
  const root = p.value();
  p.ws();
  if (p.i !== text.length) throw new SyntaxError('trailing characters after JSON value');
  let changed = false;
  const out = (n: Node): string => {
    switch (n.t) {
      case 'obj':
        return `{${n.entries
          .map(([raw, key, v]) => {
            if (!isSensitive(key)) return `${raw}:${out(v)}`;
            changed = true;
            return `${raw}:${replace(key, n2v(v, out))}`;
          })
          .join(',')}}`;
      case 'arr':
        return `[${n.items.map(out).join(',')}]`;
      default:
        return n.raw;
    }
  };
  const result = out(root);
  return changed ? result : null;
}

function n2v(n: Node, out: (n: Node) => string): { string?: string; raw: string } {
  return n.t === 'str' ? { string: n.value, raw: n.raw } : { raw: out(n) };
}

class Parser {
  i = 0;
  private depth = 0;
  constructor(private readonly s: string) {}

  ws(): void {
    while (this.i < this.s.length && ' \t\n\r'.includes(this.s[this.i] as string)) this.i++;
  }

  value(): Node {
    this.ws();
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      // Hostile nesting fails like bad JSON (the caller masks the whole value) instead of overflowing the stack.
      if (++this.depth > 512) throw new SyntaxError('JSON nested too deep');
      const n = c === '{' ? this.object() : this.array();
      this.depth--;
      return n;
    }
    if (c === '"') return this.string();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      this.s.slice(this.i, this.i + 400),
    );
    if (m === null) throw new SyntaxError(`unexpected character at ${this.i}`);
    this.i += m[0].length;
    return { t: 'lit', raw: m[0] };
  }

  private object(): Node {
    this.i++;
    const entries: [string, string, Node][] = [];
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return { t: 'obj', entries };
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') throw new SyntaxError(`expected a key at ${this.i}`);
      const k = this.string();
      this.ws();
      if (this.s[this.i++] !== ':') throw new SyntaxError(`expected ':' at ${this.i - 1}`);
      entries.push([k.raw, k.value, this.value()]);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return { t: 'obj', entries };
      if (c !== ',') throw new SyntaxError(`expected ',' or '}' at ${this.i - 1}`);
    }
  }

  private array(): Node {
    this.i++;
    const items: Node[] = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return { t: 'arr', items };
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return { t: 'arr', items };
      if (c !== ',') throw new SyntaxError(`expected ',' or ']' at ${this.i - 1}`);
    }
  }

  private string(): Node & { t: 'str' } {
    const start = this.i++;
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) throw new SyntaxError('unterminated string');
      if (c === '\\') this.i++;
      else if (c === '"') break;
    }
    const raw = this.s.slice(start, this.i);
    return { t: 'str', raw, value: JSON.parse(raw) as string };
  }
}
