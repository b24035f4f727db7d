// Programs most often watched by the viewers of program $program_id.
MATCH (:Program {id: $program_id})<-[:WATCHED]-(viewer:User)
WITH viewer LIMIT 5000
MATCH (viewer)-[:WATCHED]->(other:Program)
WHERE other.id <> $program_id
RETURN other.id AS program_id, other.title AS title, count(*) AS co_viewers
ORDER BY co_viewers DESC, program_id
LIMIT 20;
