import { randomBytes } from 'node:crypto';
import type { SeedConfig } from '@modelyard/config';
import { createPrismaClient } from '../db/prisma.service.js';
import { hashPassword, displayPrefix, sha256Hex } from '../auth/crypto.js';
import { SCOPES_BY_ROLE } from '@modelyard/contracts';

export const BOOTSTRAP_SERVICE_ACCOUNT = 'bootstrap-admin';

export interface SeedResult {
  /** Set only when this run created the first admin: the credentials are shown this once. */
  createdAdmin: { email: string; password: string; generated: boolean } | null;
  bootstrapKeyCreated: boolean;
}

/**
 * First start: make sure someone can log in. Creates the first admin when there is no user at all
 * (credentials from MODELYARD_ADMIN_EMAIL/PASSWORD or generated and printed once), and, when
 * MODELYARD_ADMIN_API_KEY is set, an admin service account holding exactly that key (stored hashed).
 */
export async function runSeed(cfg: SeedConfig): Promise<SeedResult> {
  const db = createPrismaClient(cfg.db.url, 2);
  try {
    let createdAdmin: SeedResult['createdAdmin'] = null;
    if ((await db.user.count()) === 0) {
      const email = (cfg.admin.email ?? 'admin@modelyard.local').toLowerCase();
      const generated = !cfg.admin.password;
      const password = cfg.admin.password ?? randomBytes(12).toString('base64url');
      await db.user.create({ data: { email, name: 'Administrator', role: 'admin', passwordHash: await hashPassword(password) } });
      await db.auditLog.create({ data: { actorKind: 'system', action: 'user.created', objectType: 'user', summary: { email, role: 'admin', by: 'seed' } } });
      createdAdmin = { email, password, generated };
    }
    let bootstrapKeyCreated = false;
    if (cfg.admin.apiKey) {
      const sha = sha256Hex(cfg.admin.apiKey);
      if (!(await db.apiKey.findUnique({ where: { sha256: sha } }))) {
        const sa = await db.serviceAccount.upsert({
          where: { name: BOOTSTRAP_SERVICE_ACCOUNT },
          create: { name: BOOTSTRAP_SERVICE_ACCOUNT, description: 'Holds MODELYARD_ADMIN_API_KEY', role: 'admin' },
          update: {},
        });
        await db.apiKey.create({
          data: {
            name: 'bootstrap (MODELYARD_ADMIN_API_KEY)', prefix: displayPrefix(cfg.admin.apiKey), sha256: sha,
            scopes: [...SCOPES_BY_ROLE.admin], serviceAccountId: sa.id,
          },
        });
        await db.auditLog.create({ data: { actorKind: 'system', action: 'apiKey.created', objectType: 'serviceAccount', objectId: sa.id, summary: { by: 'seed' } } });
        bootstrapKeyCreated = true;
      }
    }
    return { createdAdmin, bootstrapKeyCreated };
  } finally {
    await db.$disconnect();
  }
}
