// One batch of MovieLens ratings: one WATCHED per (user, film), with its rating.
UNWIND $rows AS row
MATCH (u:User {id: row.user_id})
MATCH (p:Program {id: row.program_id})
MERGE (u)-[w:WATCHED]->(p)
SET w.rating = row.rating, w.first_ts = row.ts, w.last_ts = row.ts, w.count = 1,
    w.event_ids = [row.event_id];
