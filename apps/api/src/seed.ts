import { ConfigError, loadSeedConfig } from '@modelyard/config';
import { runSeed } from '@modelyard/server';

/** `node apps/api/dist/seed.js`: first-start seeding, run by `npm start` / `npm test` after migrations. */
try {
  const r = await runSeed(loadSeedConfig());
  if (r.createdAdmin) {
    const line = '='.repeat(64);
    console.log(`${line}\nFirst admin created: ${r.createdAdmin.email}`);
    if (r.createdAdmin.generated)
      console.log(`Password (shown once, change it after logging in): ${r.createdAdmin.password}`);
    console.log(line);
  }
  if (r.bootstrapKeyCreated) console.log('Admin service account "bootstrap-admin" holds MODELYARD_ADMIN_API_KEY');
  if (r.bootstrapKeysRevoked) console.log(`Revoked ${r.bootstrapKeysRevoked} earlier MODELYARD_ADMIN_API_KEY value(s)`);
  if (r.bootstrapKeyWasRevoked)
    console.warn('MODELYARD_ADMIN_API_KEY was revoked before and stays revoked: set a new value');
  process.exit(0);
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : e);
  process.exit(1);
}
