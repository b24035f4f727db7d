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
//
// The user's side (active subscriptions, blacklists, completed programs and
// the last completed episode of each series) is read once, up front, and the
// per-candidate rules test membership in those lists: a user node is small,
// so every (u)-[...]->(x) test per candidate would rescan all its
// relationships (most of the query's cost on a 100,000-user graph).
OPTIONAL MATCH (u:User {id: $user_id})
WITH u,
     [(u)-[s:SUBSCRIBES_TO]->(b:Bundle)
      WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) | b] AS subscribed,
     [(u)-[:BLACKLISTED]->(x:Program) | x] AS blocked_programs,
     [(u)-[:BLACKLISTED]->(c:Channel) | c] AS blocked_channels,
     [(u)-[:BLACKLISTED]->(g:Genre) | g] AS blocked_genres,
     [(u)-[w:WATCHED]->(x:Program) WHERE w.completion >= $completion | x] AS done
WITH u, subscribed, blocked_programs, blocked_channels, blocked_genres, done,
     reduce(all = [], d IN done |
       all + [(d)-[:EPISODE_OF]->(s:Series) |
              {series: s, key: coalesce(d.season, 0) * 100000 + coalesce(d.episode, 0)}]
     ) AS done_episodes
UNWIND range(0, size($program_ids) - 1) AS rank
MATCH (candidate:Program {id: $program_ids[rank]})
OPTIONAL MATCH (candidate)-[:EPISODE_OF]->(series:Series)
WITH u, subscribed, blocked_programs, blocked_channels, blocked_genres, done, rank, candidate,
     series,
     reduce(last = -1, x IN done_episodes |
       CASE WHEN x.series = series AND x.key > last THEN x.key ELSE last END) AS last_done
CALL (u, subscribed, blocked_programs, blocked_channels, blocked_genres, done, candidate, series,
      last_done) {
  UNWIND CASE WHEN series IS NULL THEN [candidate]
         ELSE [(e:Program)-[:EPISODE_OF]->(series)
               WHERE coalesce(e.season, 0) * 100000 + coalesce(e.episode, 0) > last_done | e]
         END AS p
  WITH u, subscribed, blocked_programs, blocked_channels, blocked_genres, done, p
  ORDER BY coalesce(p.season, 0), coalesce(p.episode, 0)
  WHERE coalesce(p.csa_level, 0) <= coalesce(u.csa_ceiling_level, $default_ceiling)
    AND NOT p IN blocked_programs
    AND NOT p IN done
    AND (size(blocked_genres) = 0
         OR NOT EXISTS { (p)-[:HAS_GENRE]->(g:Genre) WHERE g IN blocked_genres })
  OPTIONAL CALL (p, subscribed, blocked_channels) {
    MATCH (p)-[a:AVAILABLE_ON]->(c:Channel)<-[:INCLUDES]-(b:Bundle)
    WHERE ((a.kind = 'live' AND a.end > $now AND a.start < $horizon)
           OR (a.kind <> 'live' AND a.start <= $now AND a.end > $now))
      AND NOT c IN blocked_channels
      AND (b.is_free OR b IN subscribed)
    RETURN c, a, b
    ORDER BY a.start, c.id
    LIMIT 1
  }
  WITH p, c, a, b
  WHERE NOT $check_availability OR c IS NOT NULL
  RETURN p, c, a, b
  LIMIT 1
}
WITH rank, candidate, series, last_done, p, c, a, b
ORDER BY rank
// One record holding every offer, each as a list in the order of the fields of
// api.eligibility.Offer: the async driver pays a socket wait per record, and
// map keys would be decoded again for every offer. Times travel as
// [epoch seconds, nanosecond, UTC offset seconds]: the API builds the
// datetimes itself, far cheaper than the driver's temporal types.
RETURN collect([
  rank,
  candidate.id,
  p.id,
  p.title,
  p.csa,
  [(p)-[:HAS_GENRE]->(g:Genre) | g.id],
  series.id,
  series.title,
  p.season,
  p.episode,
  c.id,
  c.name,
  b.id,
  a.kind,
  [a.start.epochSeconds, a.start.nanosecond, a.start.offsetSeconds],
  [a.end.epochSeconds, a.end.nanosecond, a.end.offsetSeconds],
  last_done >= 0
]) AS offers;
