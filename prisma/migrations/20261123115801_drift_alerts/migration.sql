-- AlterTable
ALTER TABLE "PredictionLog" ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- CreateTable
CREATE TABLE "DriftProfile" (
    "versionId" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "schema" JSONB NOT NULL DEFAULT '{}',
    "profile" JSONB,
    "rows" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DriftProfile_pkey" PRIMARY KEY ("versionId")
);

-- CreateTable
CREATE TABLE "DriftWindowRow" (
    "versionId" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "minutes" INTEGER NOT NULL,
    "rows" INTEGER NOT NULL,
    "silentRows" INTEGER NOT NULL DEFAULT 0,
    "window" JSONB NOT NULL,
    "report" JSONB,
    "status" TEXT,
    "driftShare" DOUBLE PRECISION,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DriftWindowRow_pkey" PRIMARY KEY ("versionId","start")
);

-- CreateTable
CREATE TABLE "DriftCursor" (
    "id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "DriftCursor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DriftAdhocReport" (
    "id" UUID NOT NULL,
    "versionId" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "number" INTEGER NOT NULL,
    "datasetUri" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "report" JSONB,
    "createdByKind" TEXT NOT NULL,
    "createdById" TEXT,
    "createdByName" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "DriftAdhocReport_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AlertRuleSet" (
    "modelId" UUID NOT NULL,
    "latencySloMs" INTEGER NOT NULL DEFAULT 300,
    "rules" JSONB NOT NULL DEFAULT '[]',
    "updatedByName" TEXT,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "AlertRuleSet_pkey" PRIMARY KEY ("modelId")
);

-- CreateTable
CREATE TABLE "Alert" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "modelName" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "ruleId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "openKey" TEXT,
    "silent" BOOLEAN NOT NULL DEFAULT false,
    "message" TEXT NOT NULL,
    "value" DOUBLE PRECISION,
    "threshold" DOUBLE PRECISION,
    "details" JSONB NOT NULL DEFAULT '{}',
    "firedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolvedAt" TIMESTAMP(3),

    CONSTRAINT "Alert_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DriftProfile_model_number_key" ON "DriftProfile"("model", "number");

-- CreateIndex
CREATE INDEX "DriftWindowRow_model_start_idx" ON "DriftWindowRow"("model", "start");

-- CreateIndex
CREATE INDEX "DriftAdhocReport_versionId_createdAt_idx" ON "DriftAdhocReport"("versionId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Alert_openKey_key" ON "Alert"("openKey");

-- CreateIndex
CREATE INDEX "Alert_modelName_state_firedAt_idx" ON "Alert"("modelName", "state", "firedAt");

-- CreateIndex
CREATE INDEX "Alert_state_firedAt_idx" ON "Alert"("state", "firedAt");

-- CreateIndex
CREATE INDEX "PredictionLog_seq_idx" ON "PredictionLog"("seq");

-- AddForeignKey
ALTER TABLE "DriftProfile" ADD CONSTRAINT "DriftProfile_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DriftWindowRow" ADD CONSTRAINT "DriftWindowRow_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DriftAdhocReport" ADD CONSTRAINT "DriftAdhocReport_versionId_fkey" FOREIGN KEY ("versionId") REFERENCES "ModelVersion"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AlertRuleSet" ADD CONSTRAINT "AlertRuleSet_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Alert" ADD CONSTRAINT "Alert_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;
