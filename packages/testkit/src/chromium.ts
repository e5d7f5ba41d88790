/**
 * Headless Chromium for browser tests: Debian's `chromium` package (installed with apt-get when missing, as root),
 * driven by playwright-core (which downloads no browser of its own). Each launch gets a fresh profile folder,
 * removed on close.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Installs Debian's chromium when /usr/bin/chromium is missing; throws naming the package when it cannot. */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-q', 'chromium'], { stdio: 'ignore', timeout: 600_000 });
  try {
    install();
  } catch {
    try {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', timeout: 300_000 });
      install();
    } catch (err) {
      throw new Error(
        "browser tests need Debian's chromium; `apt-get install -y chromium` failed (are you root, is the Debian mirror reachable?)",
        { cause: err },
      );
    }
  }
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`chromium installed but ${CHROMIUM_PATH} is missing`);
  return CHROMIUM_PATH;
}

export interface ChromiumHandle {
  /** A persistent context on the fresh profile: open pages with `context.newPage()`. */
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

/** Launches headless Chromium (Debian's binary) on a fresh --user-data-dir. */
export async function launchChromium(): Promise<ChromiumHandle> {
  const executablePath = ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'walstream-chromium-'));
  let context: BrowserContext;
  try {
    // Playwright refuses --user-data-dir in `args`; a persistent context is how it takes a profile folder.
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: FLAGS,
      timeout: 120_000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
