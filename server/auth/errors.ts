// Errors of sign-in and user management whose message is fit for the caller.
export type AuthErrorCode = "INVALID_ARGUMENT" | "NOT_FOUND" | "CONFLICT" | "UNAUTHORIZED" | "TOO_MANY_REQUESTS";

export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
    /** For TOO_MANY_REQUESTS: when to try again, ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "AuthError";
  }
}
