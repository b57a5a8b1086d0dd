import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { uniqueId } from '@modelyard/testing';

// Tests run from the repository root (npm test sets cwd), where the migration tooling lives.
const root = process.cwd();
type Migrations = {
  applyMigrations(url: string): Promise<string[]>;
  diffSql(from: string | null, to: string, url: string): Promise<string>;
};

const CATALOG = `
  SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS item
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
  UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
  UNION ALL SELECT 'con ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
    WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
  UNION ALL SELECT 'enum ' || t.typname || ' ' || e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
  ORDER BY 1`;

/**
 * The migrations folder must build exactly the database schema.prisma describes: a database migrated from
 * scratch is compared with one built straight from the schema. Fails when someone edits schema.prisma
 * without `npm run db:new-migration`.
 */
describe('migrations', () => {
  let m: Migrations;
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
  const dbs = [uniqueId('mig').replace('-', '_'), uniqueId('sch').replace('-', '_')];
  const urlOf = (db: string) => {
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${db}`;
    return u.toString();
  };

  before(async () => {
    m = (await import(pathToFileURL(path.join(root, 'scripts/migrations.mjs')).href)) as Migrations;
    await admin.connect();
    for (const db of dbs) await admin.query(`CREATE DATABASE "${db}"`);
  });
  after(async () => {
    for (const db of dbs) await admin.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`);
    await admin.end();
  });

  async function catalog(db: string) {
    const c = new pg.Client({ connectionString: urlOf(db) });
    await c.connect();
    try {
      return (await c.query(CATALOG)).rows.map((r) => r.item as string);
    } finally {
      await c.end();
    }
  }

  it('reproduce schema.prisma exactly and apply idempotently', async () => {
    const [migrated, direct] = dbs as [string, string];
    const applied = await m.applyMigrations(urlOf(migrated));
    assert.ok(applied.length >= 1);
    assert.deepEqual(await m.applyMigrations(urlOf(migrated)), []);

    const schema = readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8');
    const sql = await m.diffSql(null, schema, urlOf(direct));
    const c = new pg.Client({ connectionString: urlOf(direct) });
    await c.connect();
    await c.query(sql);
    await c.end();

    const [a, b] = [await catalog(migrated), await catalog(direct)];
    assert.ok(
      a.some((i) => i.startsWith('col User.email')),
      'catalog query found the User table',
    );
    assert.deepEqual(a, b);
  });
});
