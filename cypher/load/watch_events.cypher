// One batch of watch events, grouped by (user, program) in the caller:
// row = {user_id, program_id, events: [{event_id, ts, watched_s, completion, channel_id}]}.
// WATCHED keeps the ids of the events it has absorbed, so replaying a file
// (or a batch after a failure) adds nothing twice. POST /v1/events folds its
// watch events through this same statement. last_channel_id is the channel of
// the latest event (ties on ts: the greatest id); it is set before last_ts,
// which it compares with.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (p:Program {id: row.program_id})
MERGE (u)-[w:WATCHED]->(p)
  ON CREATE SET w.event_ids = [], w.count = 0, w.seconds = 0, w.completion = 0.0
WITH w, [e IN row.events WHERE NOT e.event_id IN w.event_ids] AS fresh
WHERE size(fresh) > 0
SET w.event_ids = w.event_ids + [e IN fresh | e.event_id],
    w.count = w.count + size(fresh),
    w.seconds = w.seconds + reduce(total = 0, e IN fresh | total + e.watched_s),
    w.completion = reduce(best = w.completion, e IN fresh |
                          CASE WHEN e.completion > best THEN e.completion ELSE best END),
    w.last_channel_id = reduce(latest = {ts: w.last_ts, channel_id: w.last_channel_id},
                               e IN fresh |
                               CASE WHEN latest.ts IS NULL OR e.ts > latest.ts
                                         OR (e.ts = latest.ts AND e.channel_id > latest.channel_id)
                                    THEN {ts: e.ts, channel_id: e.channel_id}
                                    ELSE latest END).channel_id,
    w.first_ts = reduce(first = w.first_ts, e IN fresh |
                        CASE WHEN first IS NULL OR e.ts < first THEN e.ts ELSE first END),
    w.last_ts = reduce(last = w.last_ts, e IN fresh |
                       CASE WHEN last IS NULL OR e.ts > last THEN e.ts ELSE last END)
RETURN sum(size(fresh)) AS applied;
