/**
 * Stable codes for files that cannot be read or written. The HTTP layer maps them to a 400/422
 * `AppError`; the message names the file (or row) and what was expected.
 */
export type FormatErrorCode =
  | 'zip_invalid'
  | 'shapefile_missing_shp'
  | 'shapefile_multiple_layers'
  | 'shapefile_invalid'
  | 'shapefile_record_mismatch'
  | 'shapefile_unsupported_shape'
  | 'shapefile_unsupported_geometry'
  | 'shapefile_mixed_geometry'
  | 'shapefile_invalid_geometry'
  | 'shapefile_invalid_name'
  | 'shapefile_unsupported_encoding'
  | 'dbf_invalid'
  | 'dbf_too_many_fields'
  | 'dbf_value_too_long'
  | 'csv_unterminated_quote'
  | 'csv_row_length';

/** A file format problem: an upload that cannot be parsed, or data that cannot be written in the format. */
export class FormatError extends Error {
  readonly code: FormatErrorCode;
  /** Where in the data, for callers that can name it better (e.g. a record's grid code). */
  readonly details: { record?: number; field?: string; bytes?: number } | undefined;

  constructor(code: FormatErrorCode, message: string, details?: { record?: number; field?: string; bytes?: number }) {
    super(message);
    this.name = 'FormatError';
    this.code = code;
    this.details = details;
  }
}
