-- Projects (issue 17). Everything that exists moves into the "default" project (a fixed id, so code and
-- later migrations can name it), and every user keeps today's role there: existing keys, URLs and logins go on
-- working unchanged.

-- CreateTable
CREATE TABLE "Project" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "maxVersions" INTEGER,
    "maxStoredBytes" BIGINT,
    "maxRequestsPerSecond" INTEGER,
    "maxConcurrentJobs" INTEGER,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Project_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ProjectGrant" (
    "id" UUID NOT NULL,
    "projectId" UUID NOT NULL,
    "userId" UUID,
    "groupId" UUID,
    "role" "Role" NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ProjectGrant_pkey" PRIMARY KEY ("id")
);

INSERT INTO "Project" ("id", "name", "description", "updatedAt")
VALUES ('00000000-0000-0000-0000-000000000001', 'default', 'Everything from before projects', CURRENT_TIMESTAMP);

INSERT INTO "ProjectGrant" ("id", "projectId", "userId", "role")
SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', "id", "role" FROM "User";

-- AlterTable
ALTER TABLE "ServiceAccount" ADD COLUMN     "projectId" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE "ServiceAccount" ALTER COLUMN "projectId" DROP DEFAULT;
ALTER TABLE "ServiceAccount" ADD COLUMN     "platformAdmin" BOOLEAN NOT NULL DEFAULT false;
-- The account holding MODELYARD_ADMIN_API_KEY manages the platform, as it did before projects.
UPDATE "ServiceAccount" SET "platformAdmin" = true WHERE "name" = 'bootstrap-admin';

-- AlterTable
ALTER TABLE "ApiKey" ADD COLUMN     "projectId" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE "ApiKey" ALTER COLUMN "projectId" DROP DEFAULT;

-- AlterTable
ALTER TABLE "AuditLog" ADD COLUMN     "project" TEXT;

-- AlterTable
ALTER TABLE "RegisteredModel" ADD COLUMN     "projectId" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE "RegisteredModel" ALTER COLUMN "projectId" DROP DEFAULT;

-- AlterTable
ALTER TABLE "Webhook" ADD COLUMN     "projectId" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE "Webhook" ALTER COLUMN "projectId" DROP DEFAULT;

-- AlterTable
ALTER TABLE "OutboxEvent" ADD COLUMN     "project" TEXT;

-- AlterTable
ALTER TABLE "MlflowRun" ADD COLUMN     "projectId" UUID NOT NULL DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE "MlflowRun" ALTER COLUMN "projectId" DROP DEFAULT;

-- CreateIndex
CREATE UNIQUE INDEX "Project_name_key" ON "Project"("name");

-- CreateIndex
CREATE UNIQUE INDEX "ProjectGrant_projectId_userId_key" ON "ProjectGrant"("projectId", "userId");

-- CreateIndex
CREATE UNIQUE INDEX "ProjectGrant_projectId_groupId_key" ON "ProjectGrant"("projectId", "groupId");

-- CreateIndex
CREATE INDEX "AuditLog_project_at_idx" ON "AuditLog"("project", "at");

-- AddForeignKey
ALTER TABLE "ServiceAccount" ADD CONSTRAINT "ServiceAccount_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProjectGrant" ADD CONSTRAINT "ProjectGrant_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProjectGrant" ADD CONSTRAINT "ProjectGrant_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ProjectGrant" ADD CONSTRAINT "ProjectGrant_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RegisteredModel" ADD CONSTRAINT "RegisteredModel_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Webhook" ADD CONSTRAINT "Webhook_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "MlflowRun" ADD CONSTRAINT "MlflowRun_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "Project"("id") ON DELETE CASCADE ON UPDATE CASCADE;
