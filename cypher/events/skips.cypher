// One batch of skip events, grouped by (user, program) in the caller:
// row = {user_id, program_id, events: [{event_id, ts, channel_id}]} (channel_id may be null).
// A skip is not a watch: it folds into its own relationship, the WATCHED way
// (event ids kept, so a replay adds nothing), and only fatigue reads it.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (p:Program {id: row.program_id})
MERGE (u)-[s:SKIPPED]->(p)
  ON CREATE SET s.event_ids = [], s.count = 0
WITH s, [e IN row.events WHERE NOT e.event_id IN s.event_ids] AS fresh
WHERE size(fresh) > 0
SET s.event_ids = s.event_ids + [e IN fresh | e.event_id],
    s.count = s.count + size(fresh),
    s.last_channel_id = reduce(latest = {ts: s.last_ts, channel_id: s.last_channel_id},
                               e IN fresh |
                               CASE WHEN latest.ts IS NULL OR e.ts > latest.ts
                                    THEN {ts: e.ts, channel_id: e.channel_id}
                                    ELSE latest END).channel_id,
    s.first_ts = reduce(first = s.first_ts, e IN fresh |
                        CASE WHEN first IS NULL OR e.ts < first THEN e.ts ELSE first END),
    s.last_ts = reduce(last = s.last_ts, e IN fresh |
                       CASE WHEN last IS NULL OR e.ts > last THEN e.ts ELSE last END)
RETURN sum(size(fresh)) AS applied;
