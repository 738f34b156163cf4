// The header row of a data table: every heading is a column header, and
// number columns are right-aligned like their cells.
import type { ReactNode } from "react";

/** A heading, or a heading with the class its column's cells carry. */
export type Column = string | { label: string; className: string };

export const num = (label: string): Column => ({ label, className: "num" });

export function TableHead({ columns, lead }: { columns: Column[]; lead?: ReactNode }) {
  return (
    <thead>
      <tr>
        {lead}
        {columns.map((c) => {
          const { label, className } = typeof c === "string" ? { label: c, className: undefined } : c;
          // Labels are unique within a table; an empty one heads the row's actions.
          return (
            <th key={label || "actions"} scope="col" className={className}>
              {label || null}
            </th>
          );
        })}
      </tr>
    </thead>
  );
}
