-- CreateTable
CREATE TABLE "PredictionLogChunk" (
    "id" UUID NOT NULL,
    "rows" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PredictionLogChunk_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PredictionLogChunk_at_idx" ON "PredictionLogChunk"("at");
