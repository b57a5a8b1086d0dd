-- CreateTable
CREATE TABLE "MetricRollup" (
    "model" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "role" TEXT NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL,
    "errors" INTEGER NOT NULL,
    "sumMs" DOUBLE PRECISION NOT NULL,
    "buckets" INTEGER[],

    CONSTRAINT "MetricRollup_pkey" PRIMARY KEY ("model","version","role","minute")
);

-- CreateIndex
CREATE INDEX "MetricRollup_model_minute_idx" ON "MetricRollup"("model", "minute");
