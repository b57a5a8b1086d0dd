/** Prisma's unique-constraint error, whichever driver adapter raised it. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as {
    code?: string;
    cause?: { code?: string };
    meta?: { driverAdapterError?: { cause?: { kind?: string } } };
  };
  return (
    err?.code === 'P2002' ||
    err?.cause?.code === '23505' ||
    err?.meta?.driverAdapterError?.cause?.kind === 'UniqueConstraintViolation'
  );
}
