-- AlterTable
ALTER TABLE "PredictionLog" ADD COLUMN     "callerGroups" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "entityIds" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "predictionId" UUID;

-- CreateTable
CREATE TABLE "GroundTruth" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "predictionId" UUID,
    "row" INTEGER,
    "entityId" TEXT,
    "label" JSONB NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updates" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "GroundTruth_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "GroundTruth_modelId_predictionId_idx" ON "GroundTruth"("modelId", "predictionId");

-- CreateIndex
CREATE INDEX "GroundTruth_modelId_entityId_idx" ON "GroundTruth"("modelId", "entityId");

-- CreateIndex
CREATE UNIQUE INDEX "GroundTruth_modelId_key_key" ON "GroundTruth"("modelId", "key");

-- CreateIndex
CREATE INDEX "PredictionLog_predictionId_idx" ON "PredictionLog"("predictionId");

-- CreateIndex
CREATE INDEX "PredictionLog_entityIds_idx" ON "PredictionLog" USING GIN ("entityIds");

-- AddForeignKey
ALTER TABLE "GroundTruth" ADD CONSTRAINT "GroundTruth_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;
