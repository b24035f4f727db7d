MATCH (p:Program)-[:HAS_GENRE]->(g:Genre)
RETURN p.id AS src, g.id AS dst;
