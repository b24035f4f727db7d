// The watches dated in [$since, $until), by program, channel (of the watch's latest
// event) and UTC day (its start, epoch s): their number and summed best completion
// (null, as in MovieLens, counts as 1). gnn/ranker.py (AudienceTable) sums the days into
// the "this week" audiences of a program and of a channel, for training and serving.
// The range index on WATCHED.last_ts (cypher/schema.cypher) keeps this to the days asked.
MATCH (:User)-[w:WATCHED]->(p:Program)
WHERE w.last_ts >= $since AND w.last_ts < $until
WITH p.id AS program_id, w.last_channel_id AS channel_id,
     w.last_ts.epochSeconds / 86400 * 86400 AS day, coalesce(w.completion, 1.0) AS completion
RETURN program_id, channel_id, day, count(*) AS watchers, sum(completion) AS completion;
