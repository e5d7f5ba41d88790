/** The MySQL target for the shared apply scenarios (packages/sink-postgres/test/shared): a private MariaDB database. */
import type { SqlTarget, TargetDatabase } from '../../sink-postgres/test/shared/target.js';
import { quoteMysql } from '../src/dialect.js';
import { ApplyError, createMySqlSink, verifyTables } from '../src/index.js';
import { createTestDatabase } from './mysql-db.js';

export const mysqlTarget: SqlTarget = {
  sinkName: 'mysql',
  ApplyError,
  quote: quoteMysql,
  createSink: (url, options = {}) => createMySqlSink({ connectionString: url, ...options }),
  verifyTables,
  async createDatabase(prefix): Promise<TargetDatabase> {
    const db = await createTestDatabase(`sink_mysql_${prefix}`);
    const [{ id: me } = { id: 0 }] = await db.query<{ id: number }>('SELECT CONNECTION_ID() AS id');
    return {
      name: db.name,
      url: db.url,
      query: (sql, params) => db.query(sql, params),
      async killSessions() {
        const sessions = await db.query<{ id: number }>(
          'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> ?',
          [db.name, me],
        );
        for (const s of sessions) await db.query(`KILL ${Number(s.id)}`).catch(() => {});
        return sessions.length;
      },
      drop: () => db.drop(),
    };
  },
};
