// Installs the workspace with the pinned pnpm (through npx, so a fresh machine needs only Node and npm).
// Kept dependency-free: it runs before anything is installed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pnpm = pkg.packageManager; // e.g. pnpm@10.34.8
const frozen = process.env.CI ? ['--frozen-lockfile'] : ['--prefer-offline'];
execFileSync('npx', ['-y', pnpm, 'install', ...frozen, '--reporter=silent'], { stdio: 'inherit' });
