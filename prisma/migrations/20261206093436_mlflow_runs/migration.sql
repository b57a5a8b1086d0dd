-- CreateTable
CREATE TABLE "MlflowRun" (
    "id" TEXT NOT NULL,
    "experimentId" TEXT NOT NULL DEFAULT '0',
    "name" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL DEFAULT 'RUNNING',
    "startTime" BIGINT NOT NULL,
    "endTime" BIGINT,
    "artifactBackend" TEXT NOT NULL,
    "tags" JSONB NOT NULL DEFAULT '{}',
    "params" JSONB NOT NULL DEFAULT '{}',
    "metrics" JSONB NOT NULL DEFAULT '{}',
    "createdByKind" TEXT NOT NULL,
    "createdById" TEXT,
    "createdByName" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MlflowRun_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MlflowRun_createdAt_idx" ON "MlflowRun"("createdAt");
