import { readFileSync } from 'node:fs';
import { silentLogger } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { SAMPLE_CONFIG } from './commands/init.js';
import { buildPipelines } from './config/build.js';
import { ConfigFileError } from './config/errors.js';
import { parseConfig } from './config/load.js';

const base = `pipelines:
  - name: orders
    source:
      connectionString: postgres://u:hunter2@db.internal:5432/shop
      slot: orders_slot
      publication: orders_pub
    sinks:
      - file:
          path: out/x.jsonl
`;

function problem(text: string, env: NodeJS.ProcessEnv = {}): ConfigFileError {
  try {
    parseConfig(text, 'walstream.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigFileError);
    return err as ConfigFileError;
  }
  throw new Error('expected a ConfigFileError');
}

describe('config file', () => {
  it("the README's example and the init template, every commented option on, parse", () => {
    const env = { DATABASE_URL: 'postgres://u@h/db', MASK_KEY: 'k'.repeat(32), WALSTREAM_TOKEN: 't'.repeat(32) };
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = /## Config file\n```yaml\n([\s\S]*?)```/.exec(readme)?.[1] as string;
    expect(parseConfig(example, 'README.md', env).config.pipelines[0]?.name).toBe('orders-sync');
    // `    #   - mask: ...` -> `      - mask: ...`: the template's commented options, uncommented in place.
    const uncommented = SAMPLE_CONFIG.replace(/^(\s*)# (?=\s*(?:[A-Za-z]\w*:|- ))/gm, '$1');
    expect(uncommented).toMatch(/^ {6}- mask: /m);
    for (const text of [SAMPLE_CONFIG, uncommented]) {
      expect(() => parseConfig(text, 'walstream.yaml', env)).not.toThrow();
    }
  });

  it('accepts a valid file and applies defaults later', () => {
    const c = parseConfig(base, 'walstream.yaml', {});
    expect(c.config.pipelines[0]?.name).toBe('orders');
    expect(c.locate(['pipelines', 0, 'sinks', 0, 'file', 'path'])).toEqual({ line: 9, column: 17 });
  });

  it('names file, line and field of an unknown key', () => {
    const e = problem(base.replace('    sinks:', '    sinkz: []\n    sinks:'));
    expect(e.message).toBe('walstream.yaml:7:5: pipelines.0.sinkz: unknown key sinkz');
    expect([e.line, e.field]).toEqual([7, 'pipelines.0.sinkz']);
  });

  it('names file, line and field of a wrong type', () => {
    const e = problem(`${base}    maxInFlightBytes: lots\n`);
    expect(e.message).toMatch(/^walstream\.yaml:10:23: pipelines\.0\.maxInFlightBytes: /);
  });

  it('names a missing environment variable without printing any value', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} syntax
    const e = problem(base.replace('slot: orders_slot', 'slot: ${SLOT_NAME}'));
    expect(e.message).toBe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} syntax
      'walstream.yaml:5:13: pipelines.0.source.slot: environment variable SLOT_NAME is not set (use ${SLOT_NAME:-default} for a default)',
    );
  });

  it('interpolates variables, with defaults, and reads a lone reference as a number', () => {
    const text = `${base}http:\n  port: \${PORT}\n  host: \${HOST:-127.0.0.1}\n`;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} syntax
    const c = parseConfig(text.replace('orders_slot', 's_${SUFFIX}'), 'f.yaml', { PORT: '9191', SUFFIX: 'a1' });
    expect(c.config.http).toEqual({ port: 9191, host: '127.0.0.1' });
    expect(c.config.pipelines[0]?.source.slot).toBe('s_a1');
  });

  it('rejects two sink kinds in one entry and duplicate pipeline names', () => {
    expect(problem(base.replace('      - file:', '      - nats: {}\n        file:')).message).toMatch(
      /pipelines\.0\.sinks\.0: give exactly one sink kind/,
    );
    const twice = `${base}${base.replace('pipelines:\n', '')}`;
    expect(problem(twice).message).toMatch(/pipelines\.1\.name: duplicate pipeline name/);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problem('pipelines:\n  - name: [unclosed\n').message).toMatch(/^walstream\.yaml:\d+:\d+: YAML: /);
  });

  it('says to quote a variable inside { } or [ ], where YAML reads it as a mapping', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's own ${VAR} syntax
    const err = problem('pipelines:\n  - name: p\n    source: { slot: s, connection: ${DB_URL} }\n');
    expect(err.message).toMatch(/^walstream\.yaml:3:37: YAML: .*; quote it: "\$\{VAR\}"/);
  });

  it('maps a sink package option error back to the config line', async () => {
    const c = parseConfig(
      base.replace('path: out/x.jsonl', 'path: out/x.jsonl\n          rotateBytes: -5'),
      'w.yaml',
      {},
    );
    const err = await buildPipelines(c, () => silentLogger).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).message).toMatch(/^w\.yaml:10:24: pipelines\.0\.sinks\.0\.file\.rotateBytes: /);
  });

  it('maps a reader option error back to the source section, never echoing the password', async () => {
    const c = parseConfig(base.replace('slot: orders_slot', 'slot: Orders-Slot'), 'w.yaml', {});
    const err = (await buildPipelines(c, () => silentLogger).catch((e: unknown) => e)) as ConfigFileError;
    expect(err.message).toMatch(/^w\.yaml:5:13: pipelines\.0\.source\.slot: /);
    expect(err.message).not.toContain('hunter2');
  });
});
