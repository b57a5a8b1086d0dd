-- AlterTable
ALTER TABLE "RegisteredModel" ADD COLUMN     "servingConfig" JSONB NOT NULL DEFAULT '{}';
