// Which of the service's rules keep program $program_id out of user $user_id's rails at
// $now (GET /v1/explain): the program's genres among $banned_genres (their names), the
// rights of its airings open in the window on a channel of the user's $bundles (each
// airing's countries list, null: everywhere) against the user's country (the User
// node's, else $country), and impression fatigue (cypher/rails/overexposed.part.cypher,
// the rule the personalised rails apply). The API words them (api/routes/explain.py).
OPTIONAL MATCH (u:User {id: $user_id})
MATCH (p:Program {id: $program_id})
WITH u, p, coalesce(u.country, $country) AS country,
     // @include rails/overexposed.part
     AS overexposed
RETURN country,
       [(p)-[:HAS_GENRE]->(g:Genre) WHERE g.id IN $banned_genres | g.name] AS banned_genres,
       COLLECT {
         MATCH (p)-[a:AVAILABLE_ON]->(:Channel)<-[:INCLUDES]-(b:Bundle)
         WHERE b.id IN $bundles
           AND ((a.kind = 'live' AND a.end > $now AND a.start < $horizon)
                OR (a.kind <> 'live' AND a.start <= $now AND a.end > $now))
         RETURN {countries: a.countries}
       } AS rights,
       p IN overexposed AS overexposed;
