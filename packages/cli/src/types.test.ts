import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { renderJsonSchema, renderTypeScript, renderZod, type TableTypes, typeName } from './commands/types.js';

const tables: TableTypes[] = [
  {
    schema: 'Shop Floor',
    table: 'Order "Items"',
    columns: [
      { name: 'id', type: 'bigint', notNull: true, shape: { kind: 'string' } },
      { name: 'qty', type: 'integer', notNull: true, shape: { kind: 'number' } },
      { name: 'mood', type: 'mood', notNull: false, shape: { kind: 'enum', labels: ['sad', "it's ok"] } },
      { name: 'tags', type: 'text[]', notNull: false, shape: { kind: 'array', of: { kind: 'string' } } },
      { name: 'w', type: 'real', notNull: false, shape: { kind: 'float' } },
    ],
  },
];

describe('generated types', () => {
  it('names types from hostile identifiers safely', () => {
    expect(typeName('public', 'orders')).toBe('Orders');
    expect(typeName('Shop Floor', 'Order "Items"')).toBe('ShopFloorOrderItems');
    expect(typeName('public', '1st')).toBe('T1st');
  });

  it('renders TypeScript, zod and JSON Schema with quoted keys and exact JSON shapes', () => {
    const ts = renderTypeScript(tables);
    expect(ts).toContain('export interface ShopFloorOrderItemsRow {');
    expect(ts).toContain(`"mood": "sad" | "it's ok" | null;`);
    expect(ts).toContain('"tags": Array<string | null> | null;');
    expect(ts).toContain(`"w": number | 'NaN' | 'Infinity' | '-Infinity' | null;`);
    expect(ts).toContain('export type WalstreamEvent = ShopFloorOrderItemsEvent;');
    expect(renderZod(tables)).toContain(`"mood": z.enum(["sad", "it's ok"]).nullable(),`);
    const schema = JSON.parse(renderJsonSchema(tables));
    expect(schema.$defs['Shop Floor.Order "Items"'].properties.qty).toEqual({ type: 'integer' });
  });

  it('keeps names and types that hold a comment end inside their comments: the output parses, nothing runs', () => {
    const hostile: TableTypes[] = [
      {
        schema: 'public',
        table: 'we"ird*/tab',
        columns: [
          { name: 'id', type: 'public."x*/ type"', notNull: true, shape: { kind: 'string' } },
          { name: '*/ c', type: 'text', notNull: false, shape: { kind: 'string' } },
        ],
      },
    ];
    for (const out of [renderTypeScript(hostile), renderZod(hostile)]) {
      const r = ts.transpileModule(out, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext } });
      expect(r.diagnostics?.map((d) => d.messageText)).toEqual([]);
      // Every comment is closed exactly where the generator closes it.
      for (const comment of out.match(/\/\*\*[\s\S]*?\*\//g) ?? []) expect(comment.slice(3, -2)).not.toContain('*/');
    }
  });
});
