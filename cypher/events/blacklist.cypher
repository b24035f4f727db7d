// Blacklist (and dislike) events; each (user, target) at most once per call,
// so the caller sends a batch's events in rounds, in the order they came:
// row = {user_id, target_type: 'program'|'channel'|'genre', target_id, event_id, ts}.
// BLACKLISTED.at is when the blacklist started (the earliest event's ts; a
// blacklist loaded from a file has none: "always"); event_ids makes a replay a
// no-op, and so do the ids an un-blacklist absorbed into UNBLACKLISTED.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
CALL (row) {
  MATCH (t:Program {id: row.target_id}) WHERE row.target_type = 'program' RETURN t
  UNION
  MATCH (t:Channel {id: row.target_id}) WHERE row.target_type = 'channel' RETURN t
  UNION
  MATCH (t:Genre {id: row.target_id}) WHERE row.target_type = 'genre' RETURN t
}
OPTIONAL MATCH (u)-[off:UNBLACKLISTED]->(t)
WITH u, t, row
WHERE NOT row.event_id IN coalesce(off.event_ids, [])
MERGE (u)-[b:BLACKLISTED]->(t)
  ON CREATE SET b.at = row.ts, b.event_ids = []
WITH b, row
WHERE NOT row.event_id IN coalesce(b.event_ids, [])
SET b.event_ids = coalesce(b.event_ids, []) + row.event_id,
    b.at = CASE WHEN b.at IS NOT NULL AND row.ts < b.at THEN row.ts ELSE b.at END
RETURN count(*) AS applied;
