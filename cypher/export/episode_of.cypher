MATCH (p:Program)-[:EPISODE_OF]->(s:Series)
RETURN p.id AS src, s.id AS dst;
