// Users to preview on the rails page: the most active users of each profile
// (by watched programs), with the bundles they subscribe to at $now.
MATCH (u:User)
WITH u, COUNT { (u)-[:WATCHED]->() } AS watched
ORDER BY watched DESC, u.id
WITH u.profile AS profile, collect({user: u, watched: watched})[..$per_profile] AS top
UNWIND top AS row
WITH row.user AS u, row.watched AS watched
CALL (u) {
  OPTIONAL MATCH (u)-[s:SUBSCRIBES_TO]->(b:Bundle)
  WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now)
  RETURN collect(b.name) AS bundles
}
RETURN u.id AS user_id, u.profile AS profile, u.csa_ceiling AS csa_ceiling, watched, bundles
ORDER BY watched DESC, user_id;
