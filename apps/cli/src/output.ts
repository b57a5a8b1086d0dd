/** Exit codes CI pipelines can rely on. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export class UsageError extends Error {}

export interface Io {
  json: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Machine output for --json, human text otherwise. */
  result(human: string, data: unknown): void;
}

export function makeIo(json: boolean): Io {
  return {
    json,
    out: (t) => process.stdout.write(t + '\n'),
    err: (t) => process.stderr.write(t + '\n'),
    result(human, data) {
      process.stdout.write((json ? JSON.stringify(data) : human) + '\n');
    },
  };
}
