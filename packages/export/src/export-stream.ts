import { Readable } from 'node:stream'
import type { Db } from '@radstream/db'
import { encodeExport, type ExportFormat } from './encode'
import { exportColumns, exportRows, type ExportRequest } from './export-rows'

/**
 * An export as a byte stream, read from PostgreSQL only as fast as it is consumed; destroying it
 * (a client gone) closes the cursor. What the API sends and the CLI writes.
 */
export function exportStream(
  db: Db,
  request: ExportRequest,
  format: ExportFormat,
  onProgress?: (rows: number) => void,
): Readable {
  return Readable.from(encodeExport(exportRows(db, request), exportColumns(request.kind), format, onProgress), {
    objectMode: false,
  })
}
