/**
 * A Kafka cluster for tests: librdkafka's mock cluster (it speaks the real Kafka protocol), started by a small
 * C helper compiled at first use. The helper takes commands on stdin: `down N` / `up N` (broker N unreachable or
 * back), `topic NAME PARTITIONS`, `leader TOPIC PARTITION BROKER`, `errors BROKER API_KEY ERROR_CODE COUNT` (the
 * broker's next COUNT requests of that type fail), `quit`. librdkafka-dev is installed with apt-get when missing
 * (as root).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SOURCE = `#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  int brokers = argc > 1 ? atoi(argv[1]) : 3;
  char errstr[512];
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) { fprintf(stderr, "rd_kafka_new: %s\\n", errstr); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) { fprintf(stderr, "rd_kafka_mock_cluster_new failed\\n"); return 1; }
  printf("%s\\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  char line[512], topic[256];
  int id, parts, leader, api, err, cnt;
  while (fgets(line, sizeof line, stdin)) {
    if (sscanf(line, "down %d", &id) == 1) rd_kafka_mock_broker_set_down(mc, id);
    else if (sscanf(line, "up %d", &id) == 1) rd_kafka_mock_broker_set_up(mc, id);
    else if (sscanf(line, "topic %255s %d", topic, &parts) == 2) rd_kafka_mock_topic_create(mc, topic, parts, 1);
    else if (sscanf(line, "leader %255s %d %d", topic, &parts, &leader) == 3)
      rd_kafka_mock_partition_set_leader(mc, topic, parts, leader);
    else if (sscanf(line, "errors %d %d %d %d", &id, &api, &err, &cnt) == 4)
      for (int i = 0; i < cnt; i++)
        rd_kafka_mock_broker_push_request_error_rtts(mc, id, (int16_t)api, 1, (rd_kafka_resp_err_t)err, 0);
    else if (strncmp(line, "quit", 4) == 0) break;
    printf("ok\\n");
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
`;

const HEADER = '/usr/include/librdkafka/rdkafka_mock.h';

function ensureLibrdkafka(): void {
  if (existsSync(HEADER)) return;
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', 'librdkafka-dev'], { stdio: 'ignore', timeout: 300_000 });
  try {
    install();
  } catch {
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 });
      install();
    } catch (err) {
      throw new Error(
        'Kafka tests need librdkafka-dev (its mock cluster); `apt-get install -y librdkafka-dev` failed (are you root?)',
        { cause: err },
      );
    }
  }
  if (!existsSync(HEADER)) throw new Error(`librdkafka-dev installed but ${HEADER} is missing`);
}

/** Compiles the helper once per source version; returns its path. */
export function kafkaMockBinary(): string {
  ensureLibrdkafka();
  const hash = createHash('sha256').update(SOURCE).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), `walstream-kafka-mock-${hash}`);
  const bin = join(dir, 'kafka-mock');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kafka-mock.c'), SOURCE);
  try {
    execFileSync('gcc', ['-O1', '-o', bin, join(dir, 'kafka-mock.c'), '-lrdkafka'], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(
      `cannot compile the Kafka mock helper with gcc: ${(err as { stderr?: Buffer }).stderr?.toString() ?? err}`,
    );
  }
  return bin;
}

export interface KafkaMock {
  /** `host:port` of each broker. */
  readonly brokers: string[];
  /** Broker ids are 1..N. */
  brokerDown(id: number): Promise<void>;
  brokerUp(id: number): Promise<void>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** Moves the leadership of one partition to broker `broker` (clients see it on their next metadata refresh). */
  setLeader(topic: string, partition: number, broker: number): Promise<void>;
  /**
   * The next `count` requests of type `apiKey` (0 = Produce) that broker `broker` receives fail with Kafka error
   * `errorCode` (e.g. 7 REQUEST_TIMED_OUT) and are not applied: a deterministic partial failure of a produce.
   */
  failRequests(broker: number, apiKey: number, errorCode: number, count: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startKafkaMock(brokers = 3): Promise<KafkaMock> {
  const child: ChildProcess = spawn(kafkaMockBinary(), [String(brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const pending: ((line: string) => void)[] = [];
  let stderr = '';
  child.stderr?.on('data', (d) => {
    if (stderr.length < 10_000) stderr += d;
  });
  lines.on('line', (l) => pending.shift()?.(l));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      pending.push(resolve);
      child.once('exit', (code) => reject(new Error(`kafka mock exited (${code}): ${stderr}`)));
    });
  const bootstraps = await next();
  const command = async (c: string) => {
    const reply = next();
    child.stdin?.write(`${c}\n`);
    await reply;
  };
  return {
    brokers: bootstraps.split(','),
    brokerDown: (id) => command(`down ${id}`),
    brokerUp: (id) => command(`up ${id}`),
    createTopic: (name, partitions) => command(`topic ${name} ${partitions}`),
    setLeader: (topic, partition, broker) => command(`leader ${topic} ${partition} ${broker}`),
    failRequests: (broker, apiKey, errorCode, count) => command(`errors ${broker} ${apiKey} ${errorCode} ${count}`),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end('quit\n');
      await exited;
    },
  };
}
