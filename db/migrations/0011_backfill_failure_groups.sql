-- DLQ rows written before 0003 have a failure but no failure group, and every DLQ read (list,
-- counts, search, failure groups, requeue and purge jobs) takes its rows by failure group: those
-- rows were invisible. This gives each the group failureGroup() (server/queue/failure-group.ts)
-- would have given it, so it joins the groups of later failures; its dlq_reason and
-- dlq_message_id (generated from failure_group) follow. failureGroup masks in one left-to-right
-- pass of one alternation; here a pass per mask does the same: each pass's pattern also matches
-- the tokens of the kinds after it, and (*SKIP)(*F) steps over them unmasked, so a token claims
-- its text exactly as in that one pass. Masks hold no token, so earlier passes change no later
-- one. Case-sensitive with both cases spelt out: JavaScript's /i without /u folds ASCII only.
-- tests/queue/dlq-legacy-rows.test.ts holds the result to failureGroup().
SET @sluice_edge_before = '(?<![0-9a-zA-Z])';--> statement-breakpoint
SET @sluice_edge_after = '(?![0-9a-zA-Z])';--> statement-breakpoint
SET @sluice_uuid = CONCAT(@sluice_edge_before, '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', @sluice_edge_after);--> statement-breakpoint
-- JavaScript's `.` stops at the four line terminators.
SET @sluice_str = '(?:"(?:[^"\\\\]|\\\\[^\\n\\r\\x{2028}\\x{2029}])*"|''(?:[^''\\\\]|\\\\[^\\n\\r\\x{2028}\\x{2029}])*'')';--> statement-breakpoint
SET @sluice_hex = CONCAT('(?:', @sluice_edge_before, '0[xX][0-9a-fA-F]+', @sluice_edge_after,
  '|', @sluice_edge_before, '(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}', @sluice_edge_after, ')');--> statement-breakpoint
SET @sluice_name = CONCAT(@sluice_edge_before, '[a-zA-Z]+-[0-9]{1,3}(?![0-9a-zA-Z]|\\.[0-9])');--> statement-breakpoint
SET @sluice_num = '[0-9]+(?:\\.[0-9]+)?';--> statement-breakpoint
SET @sluice_skip = '(*SKIP)(*F)';--> statement-breakpoint
UPDATE `queue_messages`
SET `failure_group` = IF(
  CHAR_LENGTH(@sluice_group := TRIM(REGEXP_REPLACE(
    REGEXP_REPLACE(
      REGEXP_REPLACE(
        REGEXP_REPLACE(
          REGEXP_REPLACE(
            `failure_reason`,
            CONCAT('(?-i)', @sluice_uuid, '|', @sluice_str, @sluice_skip, '|', @sluice_hex, @sluice_skip, '|', @sluice_name, @sluice_skip, '|', @sluice_num, @sluice_skip),
            '<uuid>'),
          CONCAT('(?-i)', @sluice_str, '|', @sluice_hex, @sluice_skip, '|', @sluice_name, @sluice_skip, '|', @sluice_num, @sluice_skip),
          '<str>'),
        CONCAT('(?-i)', @sluice_hex, '|', @sluice_name, @sluice_skip, '|', @sluice_num, @sluice_skip),
        '<hex>'),
      CONCAT('(?-i)', @sluice_name, @sluice_skip, '|', @sluice_num),
      '<n>'),
    -- JavaScript's \s.
    '[\\t\\n\\x0b\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]+',
    ' '))) > 191,
  CONCAT(LEFT(@sluice_group, 190), '…'),
  @sluice_group)
WHERE `failure_reason` IS NOT NULL AND `failure_group` IS NULL;
