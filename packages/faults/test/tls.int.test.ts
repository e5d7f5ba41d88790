/**
 * G36 TLS: a cluster with a certificate from a private CA. Under sslmode=verify-full the reader connects (directly
 * and through a plain TCP proxy), and refuses a man in the middle that answers the SSLRequest and presents another
 * certificate for the same address (from another CA, and self-signed), which sslmode=require would accept.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TLSSocket } from 'node:tls';
import { createPostgresReader } from '@walstream/reader-postgres';
import { startPostgres, startTcpProxy } from '@walstream/testkit';
import { expect, it } from 'vitest';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir` as `<name>-ca.pem`, `<name>.pem`, `<name>.key`. */
function makePki(dir: string, name: string): void {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name} test CA`,
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
    ],
    dir,
  );
  openssl(
    ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', `${name}.key`, '-out', `${name}.csr`],
    dir,
  );
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/** A man in the middle: says yes to the SSLRequest, then does the TLS handshake with its own certificate. */
async function startMitm(key: Buffer, cert: Buffer): Promise<{ port: number; close: () => Promise<void> }> {
  const server: Server = createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => {
      sock.write('S');
      const tls = new TLSSocket(sock, { isServer: true, key, cert });
      // Whoever gets through the handshake is hung up on at its first bytes (its startup message).
      tls.once('data', () => tls.destroy());
      tls.on('error', () => {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

it('G36 TLS: verify-full accepts the cluster certificate from its CA and refuses a proxy presenting another one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'walstream-tls-'));
  makePki(dir, 'good');
  makePki(dir, 'evil');
  // Postgres runs as the postgres OS user when we are root: it must own its key (mode 0600).
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'good.key'), 0o600);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    for (const f of ['good.key', 'good.pem']) chownSync(join(dir, f), uid, gid);
  }
  const pg = await startPostgres({
    version: 18,
    settings: { ssl: 'on', ssl_cert_file: join(dir, 'good.pem'), ssl_key_file: join(dir, 'good.key') },
  });
  const proxy = await startTcpProxy({ host: pg.host, port: pg.port });
  const mitm = await startMitm(readFileSync(join(dir, 'evil.key')), readFileSync(join(dir, 'evil.pem')));
  const selfSigned = await startMitm(readFileSync(join(dir, 'evil-ca.key')), readFileSync(join(dir, 'evil-ca.pem')));
  const ca = join(dir, 'good-ca.pem');
  const url = (port: number, mode = 'verify-full') =>
    `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=${mode}&sslrootcert=${encodeURIComponent(ca)}`;
  const tryOpen = async (connectionString: string, slot: string) => {
    const r = createPostgresReader({ connectionString, slot, publication: 'tls_pub', createSlot: true });
    try {
      await r.open();
      return null;
    } catch (err) {
      return err as Error;
    } finally {
      await r.close().catch(() => {});
    }
  };
  try {
    const admin = new (await import('pg')).default.Client({ connectionString: url(pg.port) });
    await admin.connect();
    await admin.query('CREATE TABLE t (id int PRIMARY KEY); CREATE PUBLICATION tls_pub FOR TABLE t');
    // A verify-full connection really is encrypted.
    const ssl = await admin.query('SELECT count(*)::int AS n FROM pg_stat_ssl WHERE ssl AND pid = pg_backend_pid()');
    await admin.end();

    expect(await tryOpen(url(pg.port), 'tls_direct')).toBeNull();
    expect(await tryOpen(url(proxy.port), 'tls_proxied')).toBeNull();
    const wrongCa = await tryOpen(url(mitm.port), 'tls_mitm');
    expect(wrongCa).not.toBeNull();
    // The reader's message names host and port; the TLS reason is on its cause.
    const reason = (e: Error | null) =>
      `${e?.message} ${(e?.cause as Error | undefined)?.message} ${(e?.cause as { code?: string } | undefined)?.code}`;
    expect(reason(wrongCa)).toMatch(/certificate|self.signed|verify/i);
    const wrongSelf = await tryOpen(url(selfSigned.port), 'tls_mitm2');
    expect(reason(wrongSelf)).toMatch(/certificate|self.signed|verify/i);
    // The same man in the middle completes the handshake when the client does not verify: the refusal above is
    // verify-full's doing, not a broken proxy.
    const noVerify = await tryOpen(
      `postgres://postgres@127.0.0.1:${mitm.port}/postgres?sslmode=no-verify`,
      'tls_mitm3',
    );
    expect(noVerify).not.toBeNull();
    // It got past TLS (the man in the middle hung up after the handshake), no certificate complaint.
    expect(reason(noVerify)).not.toMatch(/certificate|self.signed|verify/i);
    expect(ssl.rows[0].n).toBeGreaterThan(0);
  } finally {
    await mitm.close();
    await selfSigned.close();
    await proxy.close();
    await pg.stop();
  }
}, 120_000);
