import JSZip from 'jszip';
import { escapeXml as escape } from './escape';

/**
 * A one-sheet XLSX workbook (Office Open XML SpreadsheetML), for printable registers: unlike CSV, Excel
 * keeps 15–20-digit grid codes as text here instead of turning them into rounded numbers. Strings are
 * inline strings, numbers numeric cells; the header row is bold and frozen.
 *
 * @param sheetName the worksheet's name (at most 31 characters; []:*?/\ are replaced)
 * @param header column titles
 * @param rows cell values; numbers become numeric cells, null/undefined empty cells, anything else text
 * @returns the .xlsx file
 * @example await writeXlsx('网格责任人明细表', ['网格编码', '户数'], [['110105001001001', 320]])
 */
export async function writeXlsx(sheetName: string, header: string[], rows: unknown[][]): Promise<Buffer> {
  return writeXlsxSheets([{ name: sheetName, header, rows }]);
}

/**
 * A workbook of several worksheets, each as `writeXlsx` writes its one (e.g. a report's table per unit and
 * its table per bank, issue #13).
 *
 * @param sheets in tab order; names at most 31 characters ([]:*?/\ replaced), made unique by a suffix
 * @returns the .xlsx file
 */
export async function writeXlsxSheets(sheets: readonly { name: string; header: string[]; rows: unknown[][] }[]): Promise<Buffer> {
  const zip = new JSZip();
  const used = new Set<string>();
  const names = sheets.map((sheet, i) => {
    let name = sheet.name.replace(/[[\]:*?/\\]/g, ' ').slice(0, 31) || `Sheet${i + 1}`;
    if (used.has(name)) name = `${name.slice(0, 28)} ${i + 1}`;
    used.add(name);
    return name;
  });
  const parts = sheets.map((_, i) => `<Override PartName="/xl/worksheets/sheet${i + 1}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>`).join('');
  zip.file('[Content_Types].xml', CONTENT_TYPES.replace('</Types>', `${parts}</Types>`));
  zip.file('_rels/.rels', ROOT_RELS);
  const tabs = names.map((name, i) => `<sheet name="${escape(name)}" sheetId="${i + 1}" r:id="rId${i + 1}"/>`).join('');
  zip.file('xl/workbook.xml', `${XML}<workbook xmlns="${MAIN}" xmlns:r="${REL}"><sheets>${tabs}</sheets></workbook>`);
  const rels = sheets.map((_, i) => `<Relationship Id="rId${i + 1}" Type="${REL}/worksheet" Target="worksheets/sheet${i + 1}.xml"/>`).join('');
  zip.file('xl/_rels/workbook.xml.rels', `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">${rels}<Relationship Id="rId${sheets.length + 1}" Type="${REL}/styles" Target="styles.xml"/></Relationships>`);
  zip.file('xl/styles.xml', STYLES);
  sheets.forEach((sheet, s) => {
    const lines = [row(1, sheet.header, 1), ...sheet.rows.map((values, i) => row(i + 2, values, 0))];
    zip.file(
      `xl/worksheets/sheet${s + 1}.xml`,
      `${XML}<worksheet xmlns="${MAIN}"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" state="frozen"/></sheetView></sheetViews><sheetData>${lines.join('')}</sheetData></worksheet>`,
    );
  });
  return zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
}

const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const MAIN = 'http://schemas.openxmlformats.org/spreadsheetml/2006/main';
const REL = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const CONTENT_TYPES = `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>`;
const ROOT_RELS = `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`;
// Style 0 is the default, style 1 bold (the header row).
const STYLES = `${XML}<styleSheet xmlns="${MAIN}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf fontId="0"/><xf fontId="1" applyFont="1"/></cellXfs></styleSheet>`;

function row(index: number, values: unknown[], style: number): string {
  const cells = values.map((v, i) => {
    const ref = `${column(i)}${index}`;
    const s = style ? ` s="${style}"` : '';
    if (v === null || v === undefined || v === '') return '';
    if (typeof v === 'number' && Number.isFinite(v)) return `<c r="${ref}"${s}><v>${v}</v></c>`;
    return `<c r="${ref}"${s} t="inlineStr"><is><t xml:space="preserve">${escape(String(v))}</t></is></c>`;
  });
  return `<row r="${index}">${cells.join('')}</row>`;
}

/** Column letters: 0 → A, 25 → Z, 26 → AA. */
function column(i: number): string {
  let n = i + 1;
  let out = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    out = String.fromCharCode(65 + r) + out;
    n = Math.floor((n - 1) / 26);
  }
  return out;
}

