/**
 * Loads a YAML (or JSON) config file: `${VAR}` / `${VAR:-default}` from the environment, then the zod schema.
 * Every problem is a ConfigFileError naming file, line and field, so an operator goes straight to the line.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument, parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigFileError } from './errors.js';
import { configSchema, type ServiceConfig } from './schema.js';

export type ConfigPath = readonly (string | number)[];

export interface LoadedConfig {
  readonly file: string;
  readonly config: ServiceConfig;
  /** Line and column (1-based) of the value at `path`, or of its nearest existing parent. */
  locate(path: ConfigPath, at?: 'key' | 'value'): { line: number; column: number };
  /** A ConfigFileError at `path` (used for errors found later, e.g. by a sink's own option schema). */
  error(path: ConfigPath, problem: string, cause?: unknown, at?: 'key' | 'value'): ConfigFileError;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigFileError(file, 0, 0, '', code === 'ENOENT' ? 'file not found' : `cannot read (${code})`, err);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const first = doc.errors[0];
  if (first) {
    const p = at(first.pos[0]);
    // Inside { } or [ ], YAML reads the `{` of an unquoted ${VAR} as the start of a mapping.
    const dollar = text.slice(Math.max(0, first.pos[0] - 1), first.pos[0] + 1) === '${';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} syntax
    const hint = dollar ? '; quote it: "${VAR}"' : '';
    throw new ConfigFileError(file, p.line, p.column, '', `YAML: ${first.message.split('\n')[0]}${hint}`);
  }

  const locate = (path: ConfigPath, where: 'key' | 'value' = 'value') => {
    let node: unknown = doc.contents;
    let keyNode: Node | null = null;
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(part));
        if (!pair) break;
        keyNode = pair.key as Node;
        node = pair.value;
      } else if (isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
        keyNode = null;
        node = node.items[part];
      } else break;
    }
    const range = (where === 'key' ? keyNode?.range : undefined) ?? (node as Node | null)?.range ?? keyNode?.range;
    return range ? at(range[0]) : { line: 1, column: 1 };
  };
  const error = (path: ConfigPath, problem: string, cause?: unknown, where: 'key' | 'value' = 'value') => {
    const p = locate(path, where);
    return new ConfigFileError(file, p.line, p.column, path.join('.'), problem, cause);
  };

  interpolate(doc.contents, [], env, error);
  const raw = doc.toJS({ maxAliasCount: 100 }) as unknown;
  if (raw === null || raw === undefined) throw new ConfigFileError(file, 1, 1, '', 'the file is empty');
  const r = configSchema.safeParse(raw);
  if (!r.success) throw fromZodIssue(r.error.issues[0] as z.core.$ZodIssue, [], error);
  return { file, config: r.data, locate, error };
}

/** Turns the first zod issue into a located error; `base` prefixes paths for schemas applied to a sub-tree. */
export function fromZodIssue(issue: z.core.$ZodIssue, base: ConfigPath, error: LoadedConfig['error']): ConfigFileError {
  const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  if (issue.code === 'unrecognized_keys') {
    const keys = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    return error([...path, issue.keys[0] as string], keys, undefined, 'key');
  }
  return error(path, issue.message);
}

function interpolate(
  node: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  error: LoadedConfig['error'],
): void {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key)) interpolate(pair.value, [...path, String(pair.key.value)], env, error);
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) interpolate(item, [...path, i], env, error);
  } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
    const source = node.value;
    const whole = /^\$\{[^}]+\}$/.test(source);
    const out = source.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      throw error(path, `environment variable ${name} is not set (use \${${name}:-default} for a default)`);
    });
    // `port: ${PORT}` should be a number, `enabled: ${X}` a boolean: a lone reference is read as a YAML scalar.
    node.value = whole ? scalarOf(out) : out;
  }
}

function scalarOf(text: string): unknown {
  try {
    const v = parseYaml(text) as unknown;
    return typeof v === 'number' || typeof v === 'boolean' ? v : text;
  } catch {
    return text;
  }
}
