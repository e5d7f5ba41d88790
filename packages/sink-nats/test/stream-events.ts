/** Reads back what a test stream holds. */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  type ChangeEvent,
  decodeEventJson,
  decodeMsgpackMulti,
  eventFromJsonObject,
  fromMsgpackObject,
} from '@walstream/core';
import { loadZstd } from '../src/payload.js';

export /** Every event stored in `stream`, in stream order (batch messages unpacked). */
async function streamEvents(conn: NatsConnection, stream: string): Promise<ChangeEvent[]> {
  const jsm = await jetstreamManager(conn);
  const info = await jsm.streams.info(stream);
  const zstd = await loadZstd();
  const out: ChangeEvent[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (!m) continue;
    let data = m.data;
    if (m.header?.get('Content-Encoding') === 'zstd') data = zstd.decompress(data);
    if (m.header?.get('Content-Type') === 'application/json') {
      const text = new TextDecoder().decode(data);
      const parsed = JSON.parse(text);
      if (Array.isArray(parsed)) out.push(...parsed.map(eventFromJsonObject));
      else out.push(decodeEventJson(text));
    } else {
      const [v] = decodeMsgpackMulti(data);
      if (Array.isArray(v)) out.push(...v.map(fromMsgpackObject));
      else out.push(fromMsgpackObject(v));
    }
  }
  return out;
}
