/**
 * A small streaming RFC 4180 CSV reader and writer: quoted fields, doubled
 * quotes, CRLF or LF line ends, commas and newlines inside quotes. The reader
 * takes text chunks as they arrive, so an import never holds the whole file.
 */

/** Incremental parser: `push(chunk)` returns the rows completed by it; `end()` the last one. */
export class CsvReader {
  private field = '';
  private row: string[] = [];
  private inQuotes = false;
  /** The previous character was a quote inside a quoted field (either an escape or the closing quote). */
  private quotePending = false;
  private sawAny = false;
  /** 1-based line number where the current record started (for error reports). */
  recordLine = 1;
  private line = 1;

  push(chunk: string): string[][] {
    const rows: string[][] = [];
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      this.sawAny = true;
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (ch === '"') { this.field += '"'; continue; }
          this.inQuotes = false;
          // fall through to unquoted handling of ch
        } else if (ch === '"') {
          this.quotePending = true;
          continue;
        } else {
          if (ch === '\n') this.line++;
          this.field += ch;
          continue;
        }
      }
      if (ch === ',') {
        this.row.push(this.field);
        this.field = '';
      } else if (ch === '\n') {
        this.row.push(this.field.endsWith('\r') ? this.field.slice(0, -1) : this.field);
        rows.push(this.row);
        this.row = [];
        this.field = '';
        this.sawAny = false;
        this.line++;
        this.recordLine = this.line;
      } else if (ch === '"' && this.field === '') {
        this.inQuotes = true;
      } else {
        this.field += ch;
      }
    }
    return rows;
  }

  /** Flushes the last record (a file need not end with a newline). */
  end(): string[][] {
    if (this.quotePending) { this.quotePending = false; this.inQuotes = false; }
    if (this.inQuotes) throw new Error(`unterminated quoted field starting on line ${this.recordLine}`);
    if (!this.sawAny && this.row.length === 0 && this.field === '') return [];
    this.row.push(this.field.endsWith('\r') ? this.field.slice(0, -1) : this.field);
    const row = this.row;
    this.row = [];
    this.field = '';
    this.sawAny = false;
    return [row];
  }
}

/** Parses a whole CSV string (tests, small inputs). */
export function parseCsv(text: string): string[][] {
  const reader = new CsvReader();
  return [...reader.push(text), ...reader.end()];
}

/** One CSV line (with CRLF) from values; quotes only where needed, and neutralises spreadsheet formulas. */
export function csvLine(values: Array<string | number | null | undefined>): string {
  return values.map((value) => {
    let text = value === null || value === undefined ? '' : String(value);
    // A leading =, +, -, @ would run as a formula when the export is opened in a spreadsheet.
    if (/^[=+\-@\t\r]/.test(text) && !/^[+-]?\d[\d.]*$/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }).join(',') + '\r\n';
}
