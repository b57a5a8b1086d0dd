-- CreateTable
CREATE TABLE "ComparisonRollup" (
    "model" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "count" INTEGER NOT NULL,
    "rows" INTEGER NOT NULL,
    "labelAgree" INTEGER NOT NULL,
    "probAbsDiffSum" DOUBLE PRECISION NOT NULL,
    "valueAbsDiffSum" DOUBLE PRECISION NOT NULL,
    "errors" INTEGER NOT NULL,
    "dropped" INTEGER NOT NULL,

    CONSTRAINT "ComparisonRollup_pkey" PRIMARY KEY ("model","version","minute")
);
