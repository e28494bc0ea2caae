// Runs drizzle-orm's own PostgreSQL migrator (node-postgres driver), unchanged, so that
// schemawarden's interoperability tests and benchmarks compare against the real thing.
//
// Usage: DATABASE_URL=postgresql://... node migrate.mjs --folder DIR [--schema S] [--table T]
// Prints one JSON line on success ({"ok": true, "ms": <time spent in migrate()>, ...});
// on failure prints the error on stderr and exits 1 (2 for bad arguments).
import { readFileSync } from 'node:fs';
import process from 'node:process';

import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!['--folder', '--schema', '--table'].includes(key) || value === undefined) {
      throw new Error(`unexpected argument ${key}`);
    }
    args[key.slice(2)] = value;
  }
  if (!args.folder) throw new Error('--folder is required');
  return args;
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(`migrate.mjs: ${err.message}`);
  process.exit(2);
}

// drizzle-orm's exports map hides package.json; the script sits beside node_modules.
const version = JSON.parse(
  readFileSync(new URL('./node_modules/drizzle-orm/package.json', import.meta.url), 'utf8'),
).version;

// With no DATABASE_URL, node-postgres reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
const client = new pg.Client(process.env.DATABASE_URL ? { connectionString: process.env.DATABASE_URL } : {});
let code = 0;
try {
  await client.connect();
  const db = drizzle({ client });
  const config = { migrationsFolder: args.folder };
  if (args.schema) config.migrationsSchema = args.schema;
  if (args.table) config.migrationsTable = args.table;
  const started = process.hrtime.bigint();
  await migrate(db, config);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(JSON.stringify({ ok: true, ms, drizzleOrm: version }));
} catch (err) {
  const cause = err && err.cause ? ` (cause: ${err.cause.message ?? err.cause})` : '';
  console.error(`drizzle-orm ${version} migrate failed: ${err && err.message ? err.message : err}${cause}`);
  code = 1;
} finally {
  await client.end().catch(() => {});
}
process.exit(code);
