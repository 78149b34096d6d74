// node-postgres (the driver under the official @databricks/lakebase) against
// `lakebase-emulator --postgres`: plaintext, TLS without verification, TLS verified against the
// emulator's CA, a password callback (as the official driver passes credentials), and 28P01.
// Usage: node pg_client.js <host> <port> <user> <token> <ca_file>
const fs = require('fs');
const { Client, Pool } = require('pg');

const [host, port, user, token, caFile] = process.argv.slice(2);
const base = { host, port: Number(port), user, database: 'databricks_postgres' };

(async () => {
  const modes = [
    ['plaintext', false],
    ['tls, no verification', { rejectUnauthorized: false }],
    ['tls, verified against the emulator CA', { ca: fs.readFileSync(caFile, 'utf8') }],
  ];
  for (const [name, ssl] of modes) {
    const c = new Client({ ...base, password: async () => token, ssl });
    await c.connect();
    const r = await c.query('SELECT current_user AS u, $1::int + 1 AS n', [41]);
    if (r.rows[0].u !== user || r.rows[0].n !== 42) throw new Error(`${name}: ${JSON.stringify(r.rows)}`);
    await c.end();
    console.log(`-- ${name}: ok`);
  }
  const pool = new Pool({ ...base, password: 'not-a-token' });
  try {
    await pool.query('SELECT 1');
    throw new Error('a wrong password logged in');
  } catch (e) {
    if (e.code !== '28P01') throw e;
    console.log('-- wrong password: 28P01');
  } finally {
    await pool.end();
  }
  console.log('node-postgres against --postgres: passed');
})().catch((e) => {
  console.error('FAILED', e);
  process.exit(1);
});
