import QRCode from 'qrcode';

/**
 * A QR code as inline SVG (no image request when printed), medium error correction so a worn or
 * partly covered board still scans.
 * @param text what the code encodes, e.g. the report URL of a grid
 */
export async function qrSvg(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return svg.replace(/^<\?xml[^>]*>\s*/, '');
}
