import { DecodeError } from '@walstream/core';
import { describe, expect, it } from 'vitest';
import { splitCopyRow, unescapeCopy } from './copy.js';

describe('COPY text rows', () => {
  it('splits on tabs and keeps NULL, empty and the text \\N apart', () => {
    expect(splitCopyRow('1\t\\N\t\t\\\\N\tNULL', 5)).toEqual(['1', null, '', '\\N', 'NULL']);
    expect(splitCopyRow('\\N', 1)).toEqual([null]);
    expect(splitCopyRow('', 1)).toEqual(['']);
  });

  it('undoes the escapes COPY TO writes, and the ASCII octal and hex ones COPY FROM accepts', () => {
    expect(unescapeCopy('a\\tb\\nc\\rd\\be\\ff\\vg\\\\h')).toBe('a\tb\nc\rd\be\ff\vg\\h');
    expect(unescapeCopy('\\101\\7\\x41\\x9z\\q')).toBe('A\u0007A\tzq');
    expect(unescapeCopy('é 😀 \\\\')).toBe('é 😀 \\');
    expect(splitCopyRow('x\\ty\t\\\\\\\\', 2)).toEqual(['x\ty', '\\\\']);
  });

  it('refuses a wrong column count, a lone backslash and a non-ASCII byte escape', () => {
    expect(() => splitCopyRow('1\t2', 3)).toThrow(DecodeError);
    expect(() => unescapeCopy('a\\')).toThrow(DecodeError);
    expect(() => unescapeCopy('\\377')).toThrow(DecodeError);
    expect(() => unescapeCopy('\\xff')).toThrow(DecodeError);
  });
});
