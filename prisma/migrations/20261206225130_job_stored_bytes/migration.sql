-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "storedBytes" BIGINT NOT NULL DEFAULT 0;
