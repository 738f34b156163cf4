/**
 * The database clock in milliseconds since the epoch. Every time Sluice
 * compares or stores is this one, never an application's clock. Exact when
 * the session's time_zone is UTC (see openUtcPool).
 */
export const NOW_MS_SQL = "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS UNSIGNED)";
