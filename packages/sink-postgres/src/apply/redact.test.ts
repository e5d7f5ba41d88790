import { describe, expect, it } from 'vitest';
import { redactValues } from './engine.js';

describe('redactValues', () => {
  it('removes quoted values from database messages and keeps quoted names', () => {
    expect(redactValues("Duplicate entry 'secret@example.test' for key 'email'")).toBe(
      "Duplicate entry '?' for key 'email'",
    );
    expect(redactValues('invalid input syntax for type integer: "abc"')).toBe(
      "invalid input syntax for type integer: '?'",
    );
    expect(redactValues(`Incorrect integer value: 'it''s' for column "n" at row 1`)).toBe(
      `Incorrect integer value: '?' for column "n" at row 1`,
    );
    expect(redactValues('duplicate key value violates unique constraint "t_email_key"')).toBe(
      'duplicate key value violates unique constraint "t_email_key"',
    );
    expect(redactValues("Out of range value for column 'f4' at row 1")).toBe(
      "Out of range value for column 'f4' at row 1",
    );
  });
});
