// One row per (user, bundle) a user ever subscribed to: a re-subscriber has one
// SUBSCRIBES_TO per period, which must not become duplicate message-passing edges.
MATCH (u:User)-[:SUBSCRIBES_TO]->(b:Bundle)
RETURN DISTINCT u.id AS src, b.id AS dst;
