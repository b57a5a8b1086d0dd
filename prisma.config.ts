import { defineConfig } from 'prisma/config';

// The Prisma CLI is used only for `prisma generate` here (its migrate commands need a native engine that
// cannot be downloaded on our machines; scripts/migrations.mjs drives the Wasm engine instead). generate does
// not connect, so a placeholder URL keeps `env()` from throwing when DATABASE_URL is unset.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://placeholder@127.0.0.1:5432/placeholder' },
});
