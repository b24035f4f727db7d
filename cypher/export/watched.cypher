// The training positives: every WATCHED, with what weights and splits need.
// completion is null for sources without it (MovieLens).
MATCH (u:User)-[w:WATCHED]->(p:Program)
RETURN u.id AS src, p.id AS dst, w.completion AS completion,
       w.last_ts.epochSeconds AS last_ts;
