-- CreateEnum
CREATE TYPE "JobType" AS ENUM ('predict_async', 'batch_score');

-- CreateEnum
CREATE TYPE "JobStatus" AS ENUM ('queued', 'running', 'succeeded', 'failed', 'cancelled');

-- CreateTable
CREATE TABLE "Job" (
    "id" UUID NOT NULL,
    "type" "JobType" NOT NULL,
    "status" "JobStatus" NOT NULL DEFAULT 'queued',
    "modelId" UUID NOT NULL,
    "modelName" TEXT NOT NULL,
    "version" INTEGER,
    "selector" JSONB NOT NULL DEFAULT '{}',
    "format" TEXT,
    "request" JSONB,
    "result" JSONB,
    "options" JSONB NOT NULL DEFAULT '{}',
    "inputUri" TEXT,
    "ownedInput" BOOLEAN NOT NULL DEFAULT false,
    "outputUri" TEXT,
    "errorsUri" TEXT,
    "rowsIn" INTEGER NOT NULL DEFAULT 0,
    "rowsOut" INTEGER NOT NULL DEFAULT 0,
    "rowsFailed" INTEGER NOT NULL DEFAULT 0,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "error" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "callbackUrl" TEXT,
    "callbackSecret" TEXT,
    "callbackStatus" TEXT,
    "scheduleId" UUID,
    "createdByKind" TEXT NOT NULL,
    "createdById" TEXT,
    "createdByName" TEXT,
    "createdByKeyId" TEXT,
    "submittedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "expiresAt" TIMESTAMP(3),

    CONSTRAINT "Job_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "JobChunk" (
    "jobId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "rowsIn" INTEGER NOT NULL,
    "rowsOut" INTEGER NOT NULL,
    "rowsFailed" INTEGER NOT NULL,
    "partUri" TEXT NOT NULL,
    "errorsUri" TEXT,
    "bytesEnd" BIGINT NOT NULL,
    "writtenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "JobChunk_pkey" PRIMARY KEY ("jobId","index")
);

-- CreateTable
CREATE TABLE "ScoringSchedule" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "modelId" UUID NOT NULL,
    "cron" TEXT NOT NULL,
    "inputPrefix" TEXT NOT NULL,
    "options" JSONB NOT NULL DEFAULT '{}',
    "paused" BOOLEAN NOT NULL DEFAULT false,
    "createdByKind" TEXT NOT NULL,
    "createdById" TEXT,
    "createdByName" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastRunAt" TIMESTAMP(3),

    CONSTRAINT "ScoringSchedule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ScheduledInput" (
    "scheduleId" UUID NOT NULL,
    "inputUri" TEXT NOT NULL,
    "jobId" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ScheduledInput_pkey" PRIMARY KEY ("scheduleId","inputUri")
);

-- CreateIndex
CREATE INDEX "Job_type_submittedAt_idx" ON "Job"("type", "submittedAt");

-- CreateIndex
CREATE INDEX "Job_status_submittedAt_idx" ON "Job"("status", "submittedAt");

-- CreateIndex
CREATE INDEX "Job_modelId_submittedAt_idx" ON "Job"("modelId", "submittedAt");

-- CreateIndex
CREATE INDEX "Job_createdById_submittedAt_idx" ON "Job"("createdById", "submittedAt");

-- CreateIndex
CREATE INDEX "Job_expiresAt_idx" ON "Job"("expiresAt");

-- CreateIndex
CREATE UNIQUE INDEX "ScoringSchedule_modelId_name_key" ON "ScoringSchedule"("modelId", "name");

-- AddForeignKey
ALTER TABLE "Job" ADD CONSTRAINT "Job_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "JobChunk" ADD CONSTRAINT "JobChunk_jobId_fkey" FOREIGN KEY ("jobId") REFERENCES "Job"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ScoringSchedule" ADD CONSTRAINT "ScoringSchedule_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ScheduledInput" ADD CONSTRAINT "ScheduledInput_scheduleId_fkey" FOREIGN KEY ("scheduleId") REFERENCES "ScoringSchedule"("id") ON DELETE CASCADE ON UPDATE CASCADE;
