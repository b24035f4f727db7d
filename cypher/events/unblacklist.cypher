// Un-blacklist events, in rounds like blacklist.cypher (same rows), and like it
// the latest action by ts wins. An un-blacklist older than the target's latest
// blacklist event (BLACKLISTED.last_at) is superseded and leaves the blacklist;
// otherwise BLACKLISTED is deleted (one loaded from a file has no last_at: any
// un-blacklist undoes it). Either way UNBLACKLISTED {at, event_ids} keeps this
// event's id (and those of the blacklist events it undid), so replaying any of
// them later changes nothing, and at = the ts of the latest un-blacklist, which
// a blacklist event synced late is compared with.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
CALL (row) {
  MATCH (t:Program {id: row.target_id}) WHERE row.target_type = 'program' RETURN t
  UNION
  MATCH (t:Channel {id: row.target_id}) WHERE row.target_type = 'channel' RETURN t
  UNION
  MATCH (t:Genre {id: row.target_id}) WHERE row.target_type = 'genre' RETURN t
}
MERGE (u)-[off:UNBLACKLISTED]->(t)
  ON CREATE SET off.event_ids = []
WITH u, t, off, row
WHERE NOT row.event_id IN off.event_ids
OPTIONAL MATCH (u)-[b:BLACKLISTED]->(t)
WITH off, row, CASE WHEN row.ts < b.last_at THEN null ELSE b END AS undone
SET off.event_ids = off.event_ids + coalesce(undone.event_ids, []) + row.event_id,
    off.at = CASE WHEN row.ts < off.at THEN off.at ELSE row.ts END
DELETE undone
RETURN count(*) AS applied;
