// The users with the most watched programs: good examples to explore (and the
// demo's example of a personalised home rail).
MATCH (u:User)-[w:WATCHED]->(:Program)
WITH u, count(w) AS watched
ORDER BY watched DESC, u.id
LIMIT $limit
RETURN u.id AS user_id, u.profile AS profile, watched;
