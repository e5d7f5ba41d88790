import type { ChangeEvent } from './event.js';

/** Turns events into bytes for a wire or a file, and back. */
export interface Codec {
  readonly name: 'json' | 'msgpack';
  readonly contentType: string;
  encode(event: ChangeEvent): Uint8Array;
  decode(bytes: Uint8Array): ChangeEvent;
}
