-- AlterTable
ALTER TABLE "ModelVersion" ADD COLUMN     "servingSha256" TEXT;
