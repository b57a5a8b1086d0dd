/** A Prisma error of one kind, whichever driver adapter raised it: Prisma's code, Postgres's, or the adapter's kind. */
function isPrismaError(e: unknown, prisma: string, postgres: string, adapterKind: string): boolean {
  const err = e as {
    code?: string;
    cause?: { code?: string };
    meta?: { driverAdapterError?: { cause?: { kind?: string } } };
  };
  return (
    err?.code === prisma || err?.cause?.code === postgres || err?.meta?.driverAdapterError?.cause?.kind === adapterKind
  );
}

/** Prisma's unique-constraint error. */
export const isUniqueViolation = (e: unknown) => isPrismaError(e, 'P2002', '23505', 'UniqueConstraintViolation');

/** Prisma's foreign-key error: the referenced row is gone. */
export const isForeignKeyViolation = (e: unknown) =>
  isPrismaError(e, 'P2003', '23503', 'ForeignKeyConstraintViolation');
