-- DropIndex
DROP INDEX "ServiceAccount_name_key";

-- CreateIndex
CREATE UNIQUE INDEX "ServiceAccount_projectId_name_key" ON "ServiceAccount"("projectId", "name");
