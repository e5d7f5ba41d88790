// A consumer of the INIT protocol: mirrors one table into PGlite (an embedded Postgres in WASM). It reads the
// table's schema from the KV bucket, asks for a snapshot on snapshot.request.<table>, applies the chunks from
// init.snap.<table>.<snapshot_id>.*, then every CDC event (stream CDC) whose commit LSN is above the snapshot's
// `lsn`, and keeps applying CDC. Run alone: NATS_URL=127.0.0.1:4222 TABLE=orders node mirror.mjs
import { PGlite } from '@electric-sql/pglite';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect } from '@nats-io/transport-node';
import { decodeEventMsgpack, parseLsn } from '@walstream/core';
import { decodeInitMessage } from '@walstream/nats-init';

const q = (name) => `"${name.replaceAll('"', '""')}"`;
const text = (v) =>
  v === null || v === undefined ? null : typeof v === 'object' && !(v instanceof Uint8Array) ? String(v) : v;

/** Starts mirroring `table` (in schema public); returns the PGlite database and a stop function. */
export async function mirror({ servers, table, ns = '', cdcStream = 'CDC', bucket = 'schemas', log = () => {} }) {
  const nc = await connect({ servers });
  const js = jetstream(nc);
  const kv = await new Kvm(nc).open(bucket);
  const schema = JSON.parse((await kv.get(`public.${table}`)).string());
  const db = new PGlite();
  const cols = schema.columns;
  const keys = cols.filter((c) => c.key).map((c) => c.name);
  await db.exec(
    `CREATE TABLE ${q(table)} (${cols.map((c) => `${q(c.name)} ${c.type}`).join(', ')}, PRIMARY KEY (${keys.map(q).join(', ')}))`,
  );
  const upsert = `INSERT INTO ${q(table)} (${cols.map((c) => q(c.name)).join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})
    ON CONFLICT (${keys.map(q).join(', ')}) DO UPDATE SET ${cols.map((c) => `${q(c.name)} = EXCLUDED.${q(c.name)}`).join(', ')}`;
  const del = `DELETE FROM ${q(table)} WHERE ${keys.map((k, i) => `${q(k)} = $${i + 1}`).join(' AND ')}`;
  const apply = async (row) =>
    db.query(
      upsert,
      cols.map((c) => text(row[c.name])),
    );

  // Subscribe before asking, so no chunk is missed; the chunks also stay in the INIT stream.
  const chunks = nc.subscribe(`${ns}init.snap.${table}.>`);
  const metaSub = nc.subscribe(`${ns}init.meta.${table}`, { max: 1 });
  const reply = JSON.parse((await nc.request(`${ns}snapshot.request.${table}`, '', { timeout: 10_000 })).string());
  if (reply.error) throw new Error(`snapshot request failed: ${reply.error}`);
  log(`snapshot ${reply.snapshot_id} of ${reply.table} from LSN ${reply.lsn}`);
  let applied = 0;
  const chunkLoop = (async () => {
    for await (const m of chunks) {
      const c = await decodeInitMessage(m.data, m.headers);
      if (c.snapshot_id !== reply.snapshot_id) continue;
      for (const row of c.data) await apply(row);
      applied += c.data.length;
    }
  })();
  let meta;
  for await (const m of metaSub) meta = await decodeInitMessage(m.data, m.headers);
  while (applied < meta.row_count) await new Promise((r) => setTimeout(r, 20));
  chunks.unsubscribe();
  await chunkLoop;
  log(`applied ${meta.batch_count} chunks, ${meta.row_count} rows`);

  // Then CDC, from the start of the stream, skipping what the snapshot already covers.
  const after = parseLsn(meta.lsn);
  const consumer = await js.consumers.get(cdcStream, {
    deliver_policy: DeliverPolicy.All,
    filter_subjects: `${ns}cdc.${table}.>`,
  });
  const messages = await consumer.consume();
  let lastLsn = 0n;
  const cdcLoop = (async () => {
    for await (const m of messages) {
      const e = decodeEventMsgpack(m.data);
      lastLsn = e.position.lsn;
      if (e.position.lsn <= after) continue;
      if (e.operation === 'DELETE')
        await db.query(
          del,
          keys.map((k) => text(e.key[k])),
        );
      else if (e.operation === 'TRUNCATE') await db.exec(`TRUNCATE ${q(table)}`);
      else if (e.operation === 'INSERT' || e.operation === 'UPDATE') {
        if (e.operation === 'UPDATE' && e.before && keys.some((k) => String(e.before[k]) !== String(e.after[k]))) {
          await db.query(
            del,
            keys.map((k) => text(e.before[k])),
          );
        }
        await apply(e.after);
      }
    }
  })();
  return {
    db,
    meta,
    /** Commit LSN of the last CDC event seen. */
    get lastLsn() {
      return lastLsn;
    },
    async stop() {
      await messages.close();
      await cdcLoop;
      await nc.drain();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const m = await mirror({
    servers: process.env.NATS_URL ?? '127.0.0.1:4222',
    table: process.env.TABLE ?? 'orders',
    log: console.log,
  });
  const report = setInterval(async () => {
    const { rows } = await m.db.query(`SELECT count(*)::int AS n FROM ${q(process.env.TABLE ?? 'orders')}`);
    console.log(`mirror has ${rows[0].n} rows`);
  }, 2000);
  process.on('SIGINT', async () => {
    clearInterval(report);
    await m.stop();
    process.exit(0);
  });
}
