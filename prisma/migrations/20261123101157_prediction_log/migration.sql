-- CreateTable
CREATE TABLE "PredictionLog" (
    "id" UUID NOT NULL,
    "model" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "silent" BOOLEAN NOT NULL DEFAULT false,
    "at" TIMESTAMP(3) NOT NULL,
    "features" JSONB NOT NULL,
    "outputs" JSONB NOT NULL,
    "latencyMs" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "PredictionLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PredictionLog_model_version_at_idx" ON "PredictionLog"("model", "version", "at");

-- CreateIndex
CREATE INDEX "PredictionLog_at_idx" ON "PredictionLog"("at");
