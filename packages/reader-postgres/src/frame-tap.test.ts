import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FrameTap, REPLICATION } from './frame-tap.js';

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
  const tap = FrameTap.attach({ stream }, (b, s, e) => rows.push(b.toString('utf8', s, e)));
  expect(tap).not.toBeNull();
  for (const c of chunks) stream.emit('data', c);
  return { rows, toPg: Buffer.concat(toPg), listeners: stream.listeners('data') };
}

describe('FrameTap', () => {
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
    const tap = FrameTap.attach({ stream }, () => {}) as FrameTap;
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
    expect(FrameTap.attach({ stream }, () => {})).toBeNull();
    expect(FrameTap.attach({}, () => {})).toBeNull();
  });

  describe('with the replication policy', () => {
    const start = frame('W', Buffer.from([0, 0, 0]));
    const notice = frame('N', 'SWARNING\0Mskipped loading publication\0\0');
    const status = frame('S', 'application_name\0x\0');
    const xlog = ['w-one', 'k-keepalive', 'w-two', 'w-three'];
    const end = Buffer.concat([frame('c', ''), frame('C', 'START_REPLICATION\0'), frame('Z', 'I')]);
    const stream = Buffer.concat([
      start,
      frame('d', xlog[0] as string),
      frame('d', xlog[1] as string),
      notice,
      frame('d', xlog[2] as string),
      status,
      frame('d', xlog[3] as string),
      end,
    ]);

    function replay(chunks: Buffer[], onPg?: (b: Buffer, tap: FrameTap) => void) {
      const em = new EventEmitter();
      const toPg: Buffer[] = [];
      let tap: FrameTap | null = null;
      em.on('data', (b: Buffer) => {
        toPg.push(Buffer.from(b));
        onPg?.(b, tap as FrameTap);
      });
      const frames: string[] = [];
      tap = FrameTap.attach({ stream: em }, (b, s, e) => frames.push(b.toString('utf8', s, e)), REPLICATION);
      for (const c of chunks) em.emit('data', c);
      return { frames, toPg, listeners: em.listeners('data').length, tap: tap as FrameTap };
    }

    it('keeps the socket across forwarded messages, each handed to pg whole and alone, split at any byte', () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const { frames, toPg, listeners, tap } = replay([stream.subarray(0, cut), stream.subarray(cut)]);
        expect(frames, `cut ${cut}`).toEqual(xlog);
        // Before the end: every message pg got was one whole message, in order.
        const whole = toPg.slice(0, 3);
        expect(
          whole.map((b) => b.toString('latin1', 0, 1)),
          `cut ${cut}`,
        ).toEqual(['W', 'N', 'S']);
        expect(Buffer.concat(whole).equals(Buffer.concat([start, notice, status])), `cut ${cut}`).toBe(true);
        expect(Buffer.concat(toPg.slice(3)).equals(end), `cut ${cut}`).toBe(true);
        expect(tap.attached).toBe(false);
        expect(listeners).toBe(1);
      }
    });

    it('gives pg the bytes after a forwarded message that ended the tap, once', () => {
      const { frames, toPg } = replay([stream], (b, tap) => {
        if (b[0] === 0x4e /* N */) tap.detach(); // e.g. the stream failed on that notice and pg took over
      });
      expect(frames).toEqual(xlog.slice(0, 2));
      const after = stream.subarray(stream.indexOf(notice) + notice.length);
      expect(Buffer.concat(toPg).equals(Buffer.concat([start, notice, after]))).toBe(true);
    });
  });
});
