// Delete up to $batch served rails recorded before $before (the retention,
// GRAPHRAILS_SERVED_RETENTION_DAYS), with their items. The writer repeats it
// while a whole batch was deleted, so one call never holds a huge transaction.
MATCH (s:Served)
WHERE s.at < $before
WITH s
LIMIT $batch
DETACH DELETE s
RETURN count(*) AS deleted;
