import { formatBytes } from '@/lib/format';
import type { UploadProgress } from '@/lib/upload';

/** A streamed upload's progress bar and byte count (indeterminate until the browser reports a total). */
export function UploadProgressBar({ fileName, progress }: { fileName: string; progress: UploadProgress | null }) {
  const pct = progress && progress.total > 0 ? Math.round((progress.loaded / progress.total) * 100) : null;
  return (
    <div className="upload-progress">
      <progress max={100} value={pct ?? undefined} aria-label={`Uploading ${fileName}`} />
      <span className="small">
        Uploading {fileName}
        {progress ? `: ${pct}% (${formatBytes(progress.loaded)} of ${formatBytes(progress.total)})` : '…'}
      </span>
    </div>
  );
}
