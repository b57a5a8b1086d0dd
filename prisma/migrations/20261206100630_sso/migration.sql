-- AlterTable
ALTER TABLE "User" ADD COLUMN     "ssoSubject" TEXT,
ALTER COLUMN "passwordHash" DROP NOT NULL;

-- AlterTable
ALTER TABLE "Session" ADD COLUMN     "ssoCheckAt" TIMESTAMP(3),
ADD COLUMN     "ssoClient" TEXT,
ADD COLUMN     "ssoRefreshSealed" TEXT;

-- AlterTable
ALTER TABLE "Group" ADD COLUMN     "idpManaged" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE UNIQUE INDEX "User_ssoSubject_key" ON "User"("ssoSubject");
