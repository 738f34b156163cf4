// Asserting on rejections: what a promise was rejected with, checked to be of the expected class.
import { expect } from "vitest";

/** The error `promise` rejects with; fails the test if it resolves or rejects with another class. */
export async function rejectionOf<E>(
  promise: Promise<unknown>,
  kind: abstract new (...args: never[]) => E,
): Promise<E> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(kind);
  return err as E;
}
