import { kafkaMockBinary } from '@walstream/testkit';

/** Installs librdkafka-dev if needed and compiles the mock helper once, before the test files start clusters. */
export async function setup(): Promise<void> {
  kafkaMockBinary();
}
