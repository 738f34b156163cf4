"use client";
// The checkbox cells of a table whose rows can be picked for a bulk action:
// one per row, and one in the header that picks or drops every row shown.

export function PickAllHeader<Row>({
  rows,
  isPicked,
  onPickAll,
}: {
  rows: Row[];
  isPicked: (row: Row) => boolean;
  onPickAll: (on: boolean) => void;
}) {
  return (
    <th scope="col" className="check">
      <input
        type="checkbox"
        aria-label="Select every row shown"
        checked={rows.length > 0 && rows.every(isPicked)}
        onChange={(e) => onPickAll(e.currentTarget.checked)}
      />
    </th>
  );
}

export function PickCell({ id, picked, onPick }: { id: string; picked: boolean; onPick: (on: boolean) => void }) {
  return (
    <td className="check">
      <input
        type="checkbox"
        aria-label={`Select ${id}`}
        checked={picked}
        onChange={(e) => onPick(e.currentTarget.checked)}
      />
    </td>
  );
}
