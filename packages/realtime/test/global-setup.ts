import { ensureServices } from '@walstream/testkit';

export async function setup(): Promise<void> {
  await ensureServices(['redis']);
}
