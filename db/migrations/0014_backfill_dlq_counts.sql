-- Counts the dead letters already in the log into queue_dlq_counts (0013), which from here on
-- every write that adds or removes a DLQ row keeps in its own transaction.
INSERT INTO `queue_dlq_counts` (`topic`, `original_group`, `failure_group`, `dead_letters`, `newest_log_id`)
SELECT `topic`, COALESCE(`original_group`, ''), `failure_group`, COUNT(*), MAX(`log_id`)
FROM `queue_messages`
WHERE `failure_group` IS NOT NULL
GROUP BY `topic`, COALESCE(`original_group`, ''), `failure_group`;
