/** A private database on the shared MariaDB for one test file, dropped afterwards. */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const MYSQL_ROOT = process.env.WALSTREAM_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  query<T = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createTestDatabase(prefix = 'sink_mysql'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_ROOT });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const base = new URL(MYSQL_ROOT);
  base.pathname = `/${name}`;
  const url = base.toString();
  const conn = await mysql.createConnection({
    uri: url,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'utf8mb4',
    // JSON columns as their text (parsed, big numbers would lose digits before we normalize).
    jsonStrings: true,
  });
  return {
    name,
    url,
    async query<T>(sql: string, values: unknown[] = []) {
      const [rows] = await conn.query(sql, values);
      return rows as T[];
    },
    async drop() {
      await conn.end().catch(() => {});
      await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await admin.end();
    },
  };
}
