import { AppError } from '../errors';

/**
 * The embedded engine (PGlite 0.5.8 + PostGIS 3.6.2) can end a statement with neither a result nor an
 * error: `ST_MakeValid` (default method) of a MultiPolygon whose first part has collapsed to a point, as
 * in US counties 08005, 08013 and 08123 of `us-atlas`, returns no columns and no rows, and an `INSERT …
 * ST_MakeValid(…) RETURNING id` inserts nothing and reports nothing, while the transaction goes on and
 * commits. The PostGIS server returns the repaired collection. Found by issue #15's benchmark, whose plain
 * SQL on the embedded engine had been timing such lost statements.
 *
 * A statement that returns rows always describes its columns, even with no rows; so a result without
 * columns from such a statement is this fault, and it is turned into an error: the transaction rolls back
 * and nothing is half-written. Only results without columns are looked at, so the usual path costs nothing.
 *
 * @param sql the statement as sent
 * @param fields the result's column descriptions
 * @throws AppError 422 `statement_lost` when a row-returning statement came back without columns
 */
export function checkResult(sql: string, fields: readonly unknown[] | undefined): void {
  if (fields && fields.length > 0) return;
  if (!returnsRows(sql)) return;
  throw new AppError(
    422,
    'statement_lost',
    'the embedded PostGIS (PGlite) ended a statement with neither a result nor an error, so nothing of it was stored; ' +
      'a known cause is ST_MakeValid of a MultiPolygon whose first part has collapsed to a point (import such grids without ' +
      '"repair": gridatlas validates and repairs them itself, or run on a PostGIS server with DATABASE_URL)',
    { statement: sql.replace(/\s+/g, ' ').trim().slice(0, 200) },
  );
}

const MAIN = new Set(['select', 'values', 'table', 'insert', 'update', 'delete', 'merge', 'show', 'explain']);

/**
 * Whether a statement returns rows: a SELECT, VALUES, TABLE, SHOW or EXPLAIN, or an INSERT, UPDATE or
 * DELETE with its own RETURNING — after any WITH clause, whose inner statements do not count. Words inside
 * parentheses, quotes and comments are skipped.
 */
export function returnsRows(sql: string): boolean {
  let depth = 0;
  let main: string | null = null;
  let withClause = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      i = end < 0 ? sql.length : end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '$') {
      // A dollar-quoted body ($$ … $$ or $tag$ … $tag$), not a $1 parameter.
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? sql.length : end + tag.length - 1;
      }
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /[A-Za-z_]/.test(c) && (i === 0 || !/[A-Za-z0-9_$]/.test(sql[i - 1]!))) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i, i + 64))![0].toLowerCase();
      if (main === null) {
        // The statement's first word, or after WITH and its clause the first statement word.
        if (MAIN.has(word)) {
          main = word;
          if (main !== 'insert' && main !== 'update' && main !== 'delete' && main !== 'merge') return true;
        } else if (!withClause) {
          if (word !== 'with') return false;
          withClause = true;
        }
      } else if (word === 'returning') return true;
      i += word.length - 1;
    }
  }
  return false;
}
