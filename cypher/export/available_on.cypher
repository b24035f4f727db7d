// One edge per (program, channel) pair, however many windows it has.
MATCH (p:Program)-[:AVAILABLE_ON]->(c:Channel)
RETURN DISTINCT p.id AS src, c.id AS dst;
