// Users who watched program $anchor_id and each of $program_ids ("because you
// watched"). Counted among at most $sample watchers of the anchor, so that a
// blockbuster anchor stays cheap; the caller reports the sample size.
MATCH (:Program {id: $anchor_id})<-[:WATCHED]-(o:User)
WITH o LIMIT $sample
MATCH (o)-[:WATCHED]->(p:Program)
WHERE p.id IN $program_ids
RETURN p.id AS program_id, count(o) AS co_watchers;
