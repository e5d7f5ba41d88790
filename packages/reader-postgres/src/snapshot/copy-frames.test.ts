import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { CopyFrameTap } from './copy-frames.js';

const frame = (code: string, body: Buffer | string): Buffer => {
  const b = Buffer.from(body);
  const h = Buffer.alloc(5);
  h.write(code, 0, 'latin1');
  h.writeUInt32BE(b.length + 4, 1);
  return Buffer.concat([h, b]);
};

const ROWS = ['1\tone\n', '2\t\\N\n', '3\té 😀\n', '\n'];
const copyPart = Buffer.concat([frame('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])), ...ROWS.map((r) => frame('d', r))]);
const tail = Buffer.concat([frame('c', ''), frame('C', 'COPY 4\0'), frame('Z', 'T')]);
const wire = Buffer.concat([copyPart, tail]);

function run(chunks: Buffer[]) {
  const stream = new EventEmitter();
  const toPg: Buffer[] = [];
  const pg = (b: Buffer) => toPg.push(Buffer.from(b));
  stream.on('data', pg);
  const rows: string[] = [];
  const tap = CopyFrameTap.attach({ stream }, (b, s, e) => rows.push(b.toString('utf8', s, e)));
  expect(tap).not.toBeNull();
  for (const c of chunks) stream.emit('data', c);
  return { rows, toPg: Buffer.concat(toPg), listeners: stream.listeners('data') };
}

describe('CopyFrameTap', () => {
  it('takes CopyData frames split at any byte and hands pg every byte from CopyDone on', () => {
    for (let cut = 0; cut <= wire.length; cut++) {
      const { rows, toPg, listeners } = run([wire.subarray(0, cut), wire.subarray(cut)]);
      expect(rows, `cut ${cut}`).toEqual(ROWS);
      expect(toPg.equals(tail), `cut ${cut}`).toBe(true);
      expect(listeners).toHaveLength(1);
    }
    const bytes = [...wire].map((b) => Buffer.from([b]));
    const one = run(bytes);
    expect(one.rows).toEqual(ROWS);
    expect(one.toPg.equals(tail)).toBe(true);
  });

  it('gives an error response straight back to pg', () => {
    const err = Buffer.concat([frame('E', 'SERROR\0Mboom\0\0'), frame('Z', 'I')]);
    const { rows, toPg } = run([Buffer.concat([frame('d', '1\n'), err])]);
    expect(rows).toEqual(['1\n']);
    expect(toPg.equals(err)).toBe(true);
  });

  it('pauses and resumes the socket only while it has it, and never gives pg a paused socket', () => {
    const calls: string[] = [];
    const stream = Object.assign(new EventEmitter(), {
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
    });
    stream.on('data', () => {});
    const tap = CopyFrameTap.attach({ stream }, () => {}) as CopyFrameTap;
    tap.pause();
    tap.pause();
    tap.resume();
    tap.resume();
    tap.pause();
    tap.detach();
    tap.pause();
    expect(calls).toEqual(['pause', 'resume', 'pause', 'resume']);
  });

  it('stays out when the socket has other data listeners', () => {
    const stream = new EventEmitter();
    stream.on('data', () => {});
    stream.on('data', () => {});
    expect(CopyFrameTap.attach({ stream }, () => {})).toBeNull();
    expect(CopyFrameTap.attach({}, () => {})).toBeNull();
  });
});
