-- AlterTable
ALTER TABLE "AuditLog" ADD COLUMN     "eventId" UUID;

-- CreateTable
CREATE TABLE "OutboxEvent" (
    "seq" BIGSERIAL NOT NULL,
    "id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "actor" JSONB NOT NULL,
    "objectType" TEXT NOT NULL,
    "objectId" TEXT,
    "data" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "claimedUntil" TIMESTAMP(3),
    "dispatchedAt" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,

    CONSTRAINT "OutboxEvent_pkey" PRIMARY KEY ("seq")
);

-- CreateIndex
CREATE UNIQUE INDEX "OutboxEvent_id_key" ON "OutboxEvent"("id");

-- CreateIndex
CREATE INDEX "OutboxEvent_dispatchedAt_seq_idx" ON "OutboxEvent"("dispatchedAt", "seq");

-- CreateIndex
CREATE UNIQUE INDEX "AuditLog_eventId_key" ON "AuditLog"("eventId");
