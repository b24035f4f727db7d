// Blacklist audit: per kind of target, how many users blacklist it, and the
// most blacklisted programs, channels and genres.
MATCH (u:User)-[:BLACKLISTED]->(t)
WITH labels(t)[0] AS kind, t, count(u) AS users
ORDER BY users DESC
WITH kind, collect({id: t.id, name: coalesce(t.title, t.name), users: users})[..10] AS top,
     sum(users) AS blacklists
RETURN kind, blacklists, top
ORDER BY kind;
