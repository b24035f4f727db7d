// Un-blacklist events, in rounds like blacklist.cypher (same rows). The
// BLACKLISTED relationship is deleted; UNBLACKLISTED {at, event_ids} remembers
// this event's id and those of the blacklist events it undid, so replaying any
// of them later changes nothing. at is the ts of the latest un-blacklist.
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
SET off.event_ids = off.event_ids + coalesce(b.event_ids, []) + row.event_id,
    off.at = row.ts
DELETE b
RETURN count(*) AS applied;
