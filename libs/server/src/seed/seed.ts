import { randomBytes } from 'node:crypto';
import type { SeedConfig } from '@modelyard/config';
import { createPrismaClient } from '../db/prisma.service.js';
import { hashPassword, displayPrefix, sha256Hex } from '../auth/crypto.js';
import { SCOPES_BY_ROLE } from '@modelyard/contracts';
import { DEFAULT_PROJECT_ID } from '../tenancy/model-key.js';
import { defaultProjectGrant } from '../tenancy/project-roles.js';

export const BOOTSTRAP_SERVICE_ACCOUNT = 'bootstrap-admin';
const BOOTSTRAP_KEY_NAME = 'bootstrap (MODELYARD_ADMIN_API_KEY)';

export interface SeedResult {
  /** Set only when this run created the first admin: the credentials are shown this once. */
  createdAdmin: { email: string; password: string; generated: boolean } | null;
  bootstrapKeyCreated: boolean;
  /** Earlier bootstrap keys revoked by this run because MODELYARD_ADMIN_API_KEY changed or was unset. */
  bootstrapKeysRevoked: number;
  /** MODELYARD_ADMIN_API_KEY is a value that was revoked before: it stays revoked, pick a new one. */
  bootstrapKeyWasRevoked: boolean;
}

export interface SeedOptions {
  /** The service account that holds the key; tests seed throwaway admins under their own name. */
  serviceAccount?: string;
}

/**
 * First start: make sure someone can log in. Creates the first admin when there is no user at all
 * (credentials from MODELYARD_ADMIN_EMAIL/PASSWORD or generated and printed once), and, when
 * MODELYARD_ADMIN_API_KEY is set, an admin service account holding exactly that key (stored hashed). The
 * env value is the only bootstrap key: when it changes or is unset, the earlier ones are revoked, so rotating
 * a leaked value in the environment really locks the old one out.
 */
export async function runSeed(cfg: SeedConfig, opts: SeedOptions = {}): Promise<SeedResult> {
  const account = opts.serviceAccount ?? BOOTSTRAP_SERVICE_ACCOUNT;
  const db = createPrismaClient(cfg.db.url, 2);
  try {
    let createdAdmin: SeedResult['createdAdmin'] = null;
    if ((await db.user.count()) === 0) {
      const email = (cfg.admin.email ?? 'admin@modelyard.local').toLowerCase();
      const generated = !cfg.admin.password;
      const password = cfg.admin.password ?? randomBytes(12).toString('base64url');
      await db.user.create({
        data: {
          email,
          name: 'Administrator',
          role: 'admin',
          passwordHash: await hashPassword(password),
          grants: defaultProjectGrant(null, 'admin'),
        },
      });
      await db.auditLog.create({
        data: {
          actorKind: 'system',
          action: 'user.created',
          objectType: 'user',
          summary: { email, role: 'admin', by: 'seed' },
        },
      });
      createdAdmin = { email, password, generated };
    }
    let bootstrapKeyCreated = false;
    let bootstrapKeyWasRevoked = false;
    const sha = cfg.admin.apiKey ? sha256Hex(cfg.admin.apiKey) : null;
    const stale = await db.apiKey.findMany({
      where: {
        name: BOOTSTRAP_KEY_NAME,
        revokedAt: null,
        serviceAccount: { name: account, projectId: DEFAULT_PROJECT_ID },
        ...(sha ? { sha256: { not: sha } } : {}),
      },
      select: { id: true, prefix: true, serviceAccountId: true },
    });
    for (const k of stale) {
      await db.apiKey.update({ where: { id: k.id }, data: { revokedAt: new Date() } });
      await db.auditLog.create({
        data: {
          actorKind: 'system',
          action: 'apiKey.revoked',
          objectType: 'apiKey',
          objectId: k.id,
          summary: {
            prefix: k.prefix,
            by: 'seed',
            why: sha ? 'MODELYARD_ADMIN_API_KEY changed' : 'MODELYARD_ADMIN_API_KEY unset',
          },
        },
      });
    }
    if (cfg.admin.apiKey && sha) {
      const existing = await db.apiKey.findUnique({ where: { sha256: sha } });
      // A value revoked before (rotated away, or revoked by an admin) is not brought back to life by the env.
      if (existing?.revokedAt) bootstrapKeyWasRevoked = true;
      if (!existing) {
        const sa = await db.serviceAccount.upsert({
          where: { projectId_name: { projectId: DEFAULT_PROJECT_ID, name: account } },
          create: {
            name: account,
            description: 'Holds MODELYARD_ADMIN_API_KEY',
            role: 'admin',
            platformAdmin: true,
            projectId: DEFAULT_PROJECT_ID,
          },
          update: { platformAdmin: true },
        });
        await db.apiKey.create({
          data: {
            name: BOOTSTRAP_KEY_NAME,
            prefix: displayPrefix(cfg.admin.apiKey),
            sha256: sha,
            scopes: [...SCOPES_BY_ROLE.admin],
            serviceAccountId: sa.id,
            projectId: sa.projectId,
          },
        });
        await db.auditLog.create({
          data: {
            actorKind: 'system',
            action: 'apiKey.created',
            objectType: 'serviceAccount',
            objectId: sa.id,
            summary: { by: 'seed' },
          },
        });
        bootstrapKeyCreated = true;
      }
    }
    return { createdAdmin, bootstrapKeyCreated, bootstrapKeysRevoked: stale.length, bootstrapKeyWasRevoked };
  } finally {
    await db.$disconnect();
  }
}
