/**
 * A bad input found by code without I/O (geometry, tile maths, readers): the error middleware answers
 * 400 with its stable `code`; the message names the value and what was expected. Pure layers throw this
 * instead of the HTTP layer's AppError, so they stay free of the service.
 */
export class InputError extends Error {
  readonly code: string;
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'InputError';
    this.code = code;
    this.details = details;
  }
}

export const badRequest = (code: string, message: string, details?: unknown) => new InputError(code, message, details);
