import { ensureChromium, ensureServices } from '@walstream/testkit';

export async function setup(): Promise<void> {
  await ensureServices(['redis']);
  // Installing Debian's chromium (apt-get) can take minutes on a fresh machine: done here, outside any test timeout.
  ensureChromium();
}
