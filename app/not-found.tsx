import Link from "next/link";

export default function NotFound() {
  return (
    <div className="page page-narrow">
      <h1>Not found</h1>
      <p className="muted">There is nothing at this address: it may have been removed, or it is not built yet.</p>
      <p>
        <Link href="/">Back to the overview</Link>
      </p>
    </div>
  );
}
