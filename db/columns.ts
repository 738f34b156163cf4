import { customType } from "drizzle-orm/mysql-core";

// drizzle-orm 0.45 mysql-core has no blob column; mysql2 hands blobs back as Buffers.
export const mediumBlob = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "mediumblob",
});

// Fixed-width binary keys (sha-256 digests).
export const binary32 = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => "binary(32)",
});
