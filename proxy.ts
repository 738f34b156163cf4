// Sends a browser without a session cookie to the sign-in page before any
// page renders. Only a convenience: the server checks the session and the
// role on every tRPC call, whatever reaches it.
import { type NextRequest, NextResponse } from "next/server";

const SESSION_COOKIE = "sluice_session";

/** The page's path and query, for app/layout.tsx (a layout is not told which page it wraps). */
export const PATH_HEADER = "x-sluice-path";

export function proxy(request: NextRequest) {
  if (request.cookies.has(SESSION_COOKIE)) {
    const headers = new Headers(request.headers);
    headers.set(PATH_HEADER, request.nextUrl.pathname + request.nextUrl.search);
    return NextResponse.next({ request: { headers } });
  }
  const url = request.nextUrl.clone();
  const next = request.nextUrl.pathname + request.nextUrl.search;
  url.pathname = "/signin";
  url.search = next === "/" ? "" : `?next=${encodeURIComponent(next)}`;
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: not the sign-in page, the APIs (they answer 401 themselves), or static files.
  matcher: ["/((?!signin|api/|_next/|favicon\\.ico|icon\\.svg|robots\\.txt).*)"],
};
