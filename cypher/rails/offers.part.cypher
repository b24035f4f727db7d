// The eligibility rules (README, "Eligibility"), shared by cypher/rails/eligible.cypher
// and cypher/rails/home.cypher, which include this part where it stands (graph/queries.py):
// it is not a statement of its own. It starts from the user node `u` (null: a user the
// graph does not know), the ranked candidate ids `program_ids` and `check_availability`,
// and returns one row: `offers`, the first $max_offers offers in rank order.
//
// A program is offered iff
//   - it is available in the window on a channel of one of the user's bundles
//     (an active subscription, or a free bundle): live airing before $horizon,
//     or replay/VOD available at $now (of several such windows, the one a
//     viewer can best use: see the ORDER BY of the airing below), of a kind in
//     $kinds (null: any kind), with the rights for the user's country (below).
//     check_availability = false says some loaded data source (MovieLens) cannot
//     support the rule; it is then skipped only for a program with no
//     availability data at all (no AVAILABLE_ON and no TV `availability`
//     property, i.e. a MovieLens film), which is offered with no channel when
//     $kinds is null. A TV program loaded next to MovieLens still needs a window
//     on one of the user's channels;
//   - its CSA level is at most the user's ceiling;
//   - neither it, nor the channel offered, nor any of its genres is blacklisted,
//     and none of its genres is in $banned_genres (the service's banned kinds);
//   - the user has not watched it to completion ($completion; a WATCHED with
//     no completion, as MovieLens ratings, counts as complete, as it does for
//     the anchors of user_context.cypher and for fatigue below);
//   - the user is not tired of it (fatigue and impression fatigue, below).
// An episode offers instead the user's next episode of its series: the first,
// in (season, episode) order (ties: program id), after the last episode the
// user completed (the first episode when none). That episode must pass every
// rule, or the series offers nothing: a later episode is never offered as the
// "next" one. An unknown user (no such node) gets the free bundles and
// the CSA ceiling $default_ceiling, with no blacklist or history.
//
// Country rights: an airing (AVAILABLE_ON) with a `countries` list is offered only to
// a user whose country is in it (no list: everywhere). The user's country is the
// User node's, else $country (the request's, else the setting's; null: only airings
// with no list).
//
// Fatigue: a program the user started and abandoned (best WATCHED.completion
// below $fatigue_completion; a null completion, as in MovieLens, never is) or
// SKIPPED (and never watched to $fatigue_completion) is "tired". The user's last
// $fatigue_programs tired programs (by their latest WATCHED/SKIPPED last_ts;
// ties: program id) are kept out, and so are the first $fatigue_series
// distinct series and the first $fatigue_channels distinct channels of that
// list, most recent first. A program's channel is the channel of its latest
// event (last_channel_id, from watch_events.channel_id or the skip's channel).
// $fatigue_programs = 0 turns fatigue off.
//
// Impression fatigue: see cypher/rails/overexposed.part.cypher.
//
// The user's side (active subscriptions, blacklists, completed programs, the
// last completed episode of each series, the tired buffer) is read once, up
// front, and the per-candidate rules test membership in those lists: a user
// node is small, so every (u)-[...]->(x) test per candidate would rescan all
// its relationships (most of the query's cost on a 100,000-user graph). Tired
// programs and channels join the blacklisted ones; tired series cost one list
// test per candidate.
WITH u, program_ids, check_availability, COLLECT {
       MATCH (u)-[w:WATCHED|SKIPPED]->(x:Program)
       WITH x, w ORDER BY w.last_ts DESC
       WITH x, collect(w) AS ws,
            max(CASE WHEN type(w) = 'WATCHED' THEN coalesce(w.completion, 1.0) END) AS best
       WHERE coalesce(best, 0.0) < $fatigue_completion
       WITH x, ws[0] AS latest
       ORDER BY latest.last_ts IS NULL, latest.last_ts DESC, x.id
       LIMIT $fatigue_programs
       RETURN {program: x, channel_id: latest.last_channel_id,
               series: [(x)-[:EPISODE_OF]->(s:Series) | s][0]}
     } AS tired,
     // @include rails/overexposed.part
     AS overexposed
WITH u, program_ids, check_availability, [t IN tired | t.program] + overexposed AS tired_programs,
     reduce(acc = [], t IN tired |
       CASE WHEN t.series IS NULL OR t.series IN acc THEN acc ELSE acc + t.series END
     )[..$fatigue_series] AS tired_series,
     reduce(acc = [], t IN tired |
       CASE WHEN t.channel_id IS NULL OR t.channel_id IN acc THEN acc ELSE acc + t.channel_id END
     )[..$fatigue_channels] AS tired_channel_ids
WITH u, program_ids, check_availability, tired_series,
     coalesce(u.country, $country) AS country,
     [(u)-[s:SUBSCRIBES_TO]->(b:Bundle)
      WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) | b] AS subscribed,
     [(u)-[:BLACKLISTED]->(x:Program) | x] + tired_programs AS blocked_programs,
     [(u)-[:BLACKLISTED]->(c:Channel) | c]
       + COLLECT { MATCH (c:Channel) WHERE c.id IN tired_channel_ids RETURN c }
       AS blocked_channels,
     [(u)-[:BLACKLISTED]->(g:Genre) | g]
       + COLLECT { MATCH (g:Genre) WHERE g.id IN $banned_genres RETURN g }
       AS blocked_genres,
     [(u)-[w:WATCHED]->(x:Program) WHERE coalesce(w.completion, 1.0) >= $completion | x] AS done
WITH u, program_ids, check_availability, country, subscribed, blocked_programs,
     blocked_channels, blocked_genres, done, tired_series,
     reduce(all = [], d IN done |
       all + [(d)-[:EPISODE_OF]->(s:Series) |
              {series: s, key: coalesce(d.season, 0) * 100000 + coalesce(d.episode, 0)}]
     ) AS done_episodes
// One candidate per series, its best ranked: every episode of a series offers the
// same program (the user's next episode), so the later ones could only repeat that
// offer. Series in $skip_series (offered earlier for the same rail, which keeps at
// most one episode per series) are left out too. Each kept candidate comes out with its
// rank and series, [rank, candidate, series], so that it is not looked up again.
WITH *, COLLECT {
  UNWIND range(0, size(program_ids) - 1) AS rank
  MATCH (candidate:Program {id: program_ids[rank]})
  OPTIONAL MATCH (candidate)-[:EPISODE_OF]->(series:Series)
  WITH rank, candidate, series WHERE series IS NULL OR NOT series.id IN $skip_series
  WITH coalesce(series, candidate) AS key, min(rank) AS best,
       collect([rank, candidate, series]) AS ranked
  RETURN [x IN ranked WHERE x[0] = best][0] AS kept ORDER BY best
} AS kept
UNWIND kept AS k
WITH *, k[0] AS rank, k[1] AS candidate, k[2] AS series
WHERE series IS NULL OR NOT series IN tired_series
WITH u, check_availability, country, subscribed, blocked_programs, blocked_channels,
     blocked_genres, done, rank, candidate, series,
     reduce(last = -1, x IN done_episodes |
       CASE WHEN x.series = series AND x.key > last THEN x.key ELSE last END) AS last_done
CALL (u, check_availability, country, subscribed, blocked_programs, blocked_channels,
      blocked_genres, done, candidate, series, last_done) {
  // At most one program: the candidate, or the series' next episode.
  UNWIND CASE WHEN series IS NULL THEN [candidate]
         ELSE COLLECT {
           MATCH (e:Program)-[:EPISODE_OF]->(series)
           WITH e, coalesce(e.season, 0) * 100000 + coalesce(e.episode, 0) AS key
           WHERE key > last_done
           RETURN e ORDER BY key, e.id LIMIT 1
         }
         END AS p
  WITH u, check_availability, country, subscribed, blocked_programs, blocked_channels,
       blocked_genres, done, p
  WHERE coalesce(p.csa_level, 0) <= coalesce(u.csa_ceiling_level, $default_ceiling)
    AND NOT p IN blocked_programs
    AND NOT p IN done
    AND (size(blocked_genres) = 0
         OR NOT EXISTS { (p)-[:HAS_GENRE]->(g:Genre) WHERE g IN blocked_genres })
  OPTIONAL CALL (p, country, subscribed, blocked_channels) {
    MATCH (p)-[a:AVAILABLE_ON]->(c:Channel)<-[:INCLUDES]-(b:Bundle)
    WHERE ((a.kind = 'live' AND a.end > $now AND a.start < $horizon)
           OR (a.kind <> 'live' AND a.start <= $now AND a.end > $now))
      AND ($kinds IS NULL OR a.kind IN $kinds)
      AND (a.countries IS NULL OR country IN a.countries)
      AND NOT c IN blocked_channels
      AND (b.is_free OR b IN subscribed)
    // The window a viewer can best use (README, "The airing offered"): an airing in
    // progress with half of it or less still ahead comes last; then the soonest to
    // watch from (now for what is open, else the start), replay or VOD before a live
    // airing open as long.
    WITH c, a, b,
         a.kind = 'live' AND a.start < $now
           AND 2 * (a.end.epochSeconds - $now.epochSeconds)
               <= a.end.epochSeconds - a.start.epochSeconds AS mostly_over
    ORDER BY mostly_over, CASE WHEN a.start > $now THEN a.start ELSE $now END,
             a.kind = 'live', a.start, c.id, b.id
    LIMIT 1
    RETURN c, a, b
  }
  WITH p, c, a, b
  WHERE c IS NOT NULL
     OR (NOT check_availability AND $kinds IS NULL AND p.availability IS NULL
         AND NOT EXISTS { (p)-[:AVAILABLE_ON]->(:Channel) })
  RETURN p, c, a, b
}
WITH rank, candidate, series, last_done, p, c, a, b
LIMIT $max_offers
// One record holding every offer, each as a list in the order of the fields of
// api.rails.types.Offer: the async driver pays a socket wait per record, and
// map keys would be decoded again for every offer. Times travel as three
// numbers each, epoch seconds, nanosecond, UTC offset seconds, in the row
// itself (not a list of their own, one object less to decode): the API builds
// the datetimes itself, far cheaper than the driver's temporal types.
RETURN collect([
  rank,
  candidate.id,
  p.id,
  p.title,
  p.csa,
  // The main genre first (HAS_GENRE.rank 0: the first of programs.genres), then the others.
  COLLECT { MATCH (p)-[r:HAS_GENRE]->(g:Genre) RETURN g.id ORDER BY r.rank, g.id },
  series.id,
  series.title,
  p.season,
  p.episode,
  c.id,
  c.name,
  b.id,
  a.kind,
  a.start.epochSeconds, a.start.nanosecond, a.start.offsetSeconds,
  a.end.epochSeconds, a.end.nanosecond, a.end.offsetSeconds,
  last_done >= 0
]) AS offers
