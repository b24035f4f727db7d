// Users who watched program $anchor_id and each of $program_ids ("because you
// watched"). Counted among at most $sample watchers of the anchor, so that a
// blockbuster anchor stays cheap; the caller reports the sample size. The programs
// are matched once, up front, and each watch of a sampled user is tested against
// them by identity: reading every watched program's id instead cost twice the db hits
// and about three times the time on the 100k-user bench graph. A WATCHED relationship
// always goes from a User to a Program (the loaders write no other): no label is tested.
MATCH (anchor:Program {id: $anchor_id})
WITH anchor, COLLECT { MATCH (p:Program) WHERE p.id IN $program_ids RETURN p } AS programs
MATCH (anchor)<-[:WATCHED]-(o)
WITH o, programs LIMIT $sample
MATCH (o)-[:WATCHED]->(p)
WHERE p IN programs
RETURN p.id AS program_id, count(o) AS co_watchers;
