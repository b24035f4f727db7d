MATCH (u:User)-[:SUBSCRIBES_TO]->(b:Bundle)
RETURN u.id AS src, b.id AS dst;
