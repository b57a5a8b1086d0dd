-- CreateTable
CREATE TABLE "Deployment" (
    "id" UUID NOT NULL,
    "modelId" UUID NOT NULL,
    "currentRevision" INTEGER NOT NULL,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentRevision" (
    "id" UUID NOT NULL,
    "deploymentId" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "config" JSONB NOT NULL,
    "authorKind" TEXT NOT NULL,
    "authorId" TEXT,
    "authorName" TEXT,
    "comment" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DeploymentRevision_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Deployment_modelId_key" ON "Deployment"("modelId");

-- CreateIndex
CREATE UNIQUE INDEX "DeploymentRevision_deploymentId_number_key" ON "DeploymentRevision"("deploymentId", "number");

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_modelId_fkey" FOREIGN KEY ("modelId") REFERENCES "RegisteredModel"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DeploymentRevision" ADD CONSTRAINT "DeploymentRevision_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;
