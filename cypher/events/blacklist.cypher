// Blacklist (and dislike) events; each (user, target) at most once per call,
// so the caller sends a batch's events in rounds, in the order they came:
// row = {user_id, target_type: 'program'|'channel'|'genre', target_id, event_id, ts}.
// The latest action by ts wins, whatever order events arrive in (a device may
// sync hours late; equal ts: arrival order). An event older than the target's
// latest un-blacklist (UNBLACKLISTED.at) is superseded: only its id is kept, in
// UNBLACKLISTED.event_ids. Otherwise it is folded into BLACKLISTED {at,
// last_at, event_ids}: at is when the blacklist started (the earliest event's
// ts; a blacklist loaded from a file has none: "always"), last_at the latest
// event's ts, which un-blacklist.cypher compares with. The ids in event_ids
// and in UNBLACKLISTED.event_ids make a replay a no-op.
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
OPTIONAL MATCH (u)-[old:BLACKLISTED]->(t)
WITH u, t, row, off, old
WHERE NOT row.event_id IN coalesce(off.event_ids, []) + coalesce(old.event_ids, [])
WITH u, t, row, off, coalesce(row.ts < off.at, false) AS superseded
CALL (off, row, superseded) {
  WITH off, row WHERE superseded
  SET off.event_ids = off.event_ids + row.event_id
}
CALL (u, t, row, superseded) {
  WITH u, t, row WHERE NOT superseded
  MERGE (u)-[b:BLACKLISTED]->(t)
    ON CREATE SET b.at = row.ts
  SET b.event_ids = coalesce(b.event_ids, []) + row.event_id,
      b.at = CASE WHEN b.at IS NOT NULL AND row.ts < b.at THEN row.ts ELSE b.at END,
      b.last_at = CASE WHEN row.ts < b.last_at THEN b.last_at ELSE row.ts END
}
RETURN count(*) AS applied;
