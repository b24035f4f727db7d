// Eligibility of a ranked candidate list for one user, in one round trip.
// For each candidate (in $program_ids order) it returns the program to offer
// or nothing. A program is offered iff
//   - it is available in the window on a channel of one of the user's bundles
//     (an active subscription, or a free bundle): live airing before $horizon,
//     or replay/VOD available at $now ($check_availability = false when the
//     data has no channels, e.g. MovieLens: the rule is not applicable);
//   - its CSA level is at most the user's ceiling;
//   - neither it, nor the channel offered, nor any of its genres is blacklisted;
//   - the user has not watched it to completion ($completion).
// An episode offers instead the user's next episode of its series: the first,
// in (season, episode) order, after the last episode the user completed that
// passes every rule. An unknown user (no such node) gets the free bundles and
// the CSA ceiling $default_ceiling, with no blacklist or history.
OPTIONAL MATCH (u:User {id: $user_id})
UNWIND range(0, size($program_ids) - 1) AS rank
MATCH (candidate:Program {id: $program_ids[rank]})
OPTIONAL MATCH (candidate)-[:EPISODE_OF]->(series:Series)
CALL (u, candidate, series) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(done:Program)-[:EPISODE_OF]->(series)
  WHERE w.completion >= $completion
  WITH max(coalesce(done.season, 0) * 100000 + coalesce(done.episode, 0)) AS last_done
  RETURN CASE WHEN series IS NULL THEN [candidate]
         ELSE [(e:Program)-[:EPISODE_OF]->(series)
               WHERE coalesce(e.season, 0) * 100000 + coalesce(e.episode, 0)
                     > coalesce(last_done, -1) | e]
         END AS offers
}
UNWIND offers AS p
WITH u, rank, candidate, series, p
WHERE coalesce(p.csa_level, 0) <= coalesce(u.csa_ceiling_level, $default_ceiling)
  AND NOT EXISTS { (u)-[:BLACKLISTED]->(p) }
  AND NOT EXISTS { (u)-[:BLACKLISTED]->(:Genre)<-[:HAS_GENRE]-(p) }
  AND NOT EXISTS { (u)-[w:WATCHED]->(p) WHERE w.completion >= $completion }
OPTIONAL CALL (u, p) {
  MATCH (p)-[a:AVAILABLE_ON]->(c:Channel)<-[:INCLUDES]-(b:Bundle)
  WHERE ((a.kind = 'live' AND a.end > $now AND a.start < $horizon)
         OR (a.kind <> 'live' AND a.start <= $now AND a.end > $now))
    AND NOT EXISTS { (u)-[:BLACKLISTED]->(c) }
    AND (b.is_free OR EXISTS {
          (u)-[s:SUBSCRIBES_TO]->(b)
          WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) })
  RETURN c, a, b
  ORDER BY a.start, c.id
  LIMIT 1
}
WITH rank, candidate, series, p, c, a, b
WHERE NOT $check_availability OR c IS NOT NULL
WITH rank, candidate, series, p, c, a, b
ORDER BY rank, coalesce(p.season, 0), coalesce(p.episode, 0)
WITH rank, candidate, series, collect({p: p, c: c, a: a, b: b})[0] AS first
WITH rank, candidate, series, first.p AS p, first.c AS c, first.a AS a, first.b AS b
RETURN rank,
       candidate.id AS candidate_id,
       p.id AS program_id,
       p.title AS title,
       p.csa AS csa,
       p.season AS season,
       p.episode AS episode,
       series.id AS series_id,
       series.title AS series_title,
       [(p)-[:HAS_GENRE]->(g:Genre) | g.id] AS genres,
       c.id AS channel_id,
       c.name AS channel_name,
       b.id AS bundle_id,
       a.kind AS kind,
       a.start AS available_from,
       a.end AS available_until
ORDER BY rank;
