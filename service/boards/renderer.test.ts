import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import { createPdfRenderer } from './renderer';

describe('PDF renderer without a browser', () => {
  it.each([
    [undefined, 'PDF output is off'],
    ['/nonexistent/chromium', 'no Chromium at CHROMIUM_PATH=/nonexistent/chromium'],
  ])('answers 503 pdf_renderer_unavailable for executable %s', async (executablePath, message) => {
    const renderer = createPdfRenderer({ executablePath });
    const err = await renderer.pdf('<p>x</p>').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, code: 'pdf_renderer_unavailable' });
    expect((err as Error).message).toContain(message);
    await renderer.close();
  });
});
