// Errors of sign-in and user management whose message is fit for the caller.
import { CodedError, type ErrorCode } from "@/server/coded-error";

export type AuthErrorCode = Extract<
  ErrorCode,
  "INVALID_ARGUMENT" | "NOT_FOUND" | "CONFLICT" | "UNAUTHORIZED" | "TOO_MANY_REQUESTS"
>;

export class AuthError extends CodedError<AuthErrorCode> {
  constructor(
    code: AuthErrorCode,
    message: string,
    /** For TOO_MANY_REQUESTS: when to try again, ms. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
    this.name = "AuthError";
  }
}
