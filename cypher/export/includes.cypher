MATCH (b:Bundle)-[:INCLUDES]->(c:Channel)
RETURN b.id AS src, c.id AS dst;
