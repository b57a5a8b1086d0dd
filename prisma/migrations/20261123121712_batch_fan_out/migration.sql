-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "workers" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- AlterTable
ALTER TABLE "JobChunk" ADD COLUMN     "scoredBy" TEXT;
