/** `walstream init`: writes a commented sample config that `walstream check` and `walstream run` accept. */
import { writeFile } from 'node:fs/promises';

export const SAMPLE_CONFIG = `# walstream service configuration. Values may use \${ENV_VAR} or \${ENV_VAR:-default}.
# Check it against your server with:  walstream check --config walstream.yaml
# Run it with:                        walstream run --config walstream.yaml

pipelines:
  - name: orders-sync                # labels logs and metrics: letters, digits, _ . -
    source:                          # options of createPostgresReader (see @walstream/reader-postgres)
      connectionString: \${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
      slot: orders_slot              # created (permanent) when missing; drop it with \`walstream drop\`
      publication: orders_pub        # created for \`tables\` when missing
      tables: [public.orders]
      # snapshot: { mode: initial }  # copy existing rows first (READ events), then stream
    sinks:                           # each sink gets every batch; the slot advances only when all hold it
      - file:
          path: out/changes.jsonl
      # - nats: { servers: 127.0.0.1:4222, stream: { name: CDC, subjects: ['cdc.>'] } }
      #   retry: { maxAttempts: 20 }
      #   deadLetter: { file: { path: out/dead-letters.jsonl } }
    # transforms:
    #   - filter: { operations: [INSERT, UPDATE, DELETE] }
    #   - mask: { columns: [email, phone], hashKey: "\${MASK_KEY}" }
    batch: { maxEvents: 500, maxBytes: 524288, maxWaitMs: 100 }
    maxInFlightBytes: 1048576        # memory bound: the reader pauses when this much is in flight

http:                                # /metrics /health /ready /status, POST /shutdown
  host: 127.0.0.1                    # beyond loopback, set shutdownToken
  port: 9090
  # shutdownToken: \${WALSTREAM_TOKEN}

monitor:                             # slot lag monitor (pg_replication_slots)
  intervalMs: 30000
  warnBytes: 536870912               # 512 MiB of retained WAL
  criticalBytes: 1073741824          # 1 GiB

log:
  level: info                        # debug | info | warn | error
  format: auto                       # auto (readable on a TTY, else JSON) | json | pretty
`;

export async function writeSampleConfig(path: string, force: boolean): Promise<void> {
  await writeFile(path, SAMPLE_CONFIG, { flag: force ? 'w' : 'wx' });
}
