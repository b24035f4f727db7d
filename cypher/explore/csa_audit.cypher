// CSA audit: users who watched a program above their profile's ceiling. The
// rails never offer such a program; rows here come from the playback data
// itself (e.g. a shared device), and should be reviewed, not served.
MATCH (u:User)-[w:WATCHED]->(p:Program)
WHERE p.csa_level > u.csa_ceiling_level
RETURN u.id AS user_id, u.profile AS profile, u.csa_ceiling AS ceiling,
       p.id AS program_id, p.title AS title, p.csa AS csa, w.last_ts AS last_watched
ORDER BY last_watched DESC
LIMIT 100;
