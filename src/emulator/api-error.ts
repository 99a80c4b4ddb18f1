// An error that maps to an HTTP answer with a Marathon-style JSON body.
import type { JsonObject } from './types.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly body: JsonObject;
  constructor(status: number, body: JsonObject) {
    super(typeof body['message'] === 'string' ? body['message'] : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function notFoundApp(id: string): ApiError {
  return new ApiError(404, { message: `App '${id}' does not exist` });
}
