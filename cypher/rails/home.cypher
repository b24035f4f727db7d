// The home rail's one round trip: the user's context (as cypher/rails/user_context.cypher
// reads it), the user's precomputed candidates (gnn/candidates.py) and their live
// eligibility (the rules of cypher/rails/eligible.cypher, tested here exactly as there,
// against the graph as it is now: nothing about eligibility is stored).
//
// The stored list is used only while it is current: written for the serving $version,
// for a user with $min_history watches or more, holding at least $candidates programs,
// and scored after the user's latest watch (candidates_at, epoch seconds; the lists a
// publish writes hold the trained vectors, valid until the user watches something after
// the version was trained) with the same number of watches (candidates_watched, absent
// for a publish's lists). Otherwise `candidates` is null, no eligibility is tested, and
// the API scores the user itself (api/rails/service.py), then stores the fresh list.
// When it is current its first $candidates are tested in rank order up to the first
// $max_offers offers (LIMIT), as eligible.cypher does; the rest are never evaluated.
OPTIONAL MATCH (u:User {id: $user_id})
CALL (u) {
  MATCH (b:Bundle)
  WHERE b.is_free OR EXISTS {
    (u)-[s:SUBSCRIBES_TO]->(b) WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) }
  RETURN collect(b.id) AS bundles, collect(CASE WHEN b.is_free THEN b.id END) AS free_bundles
}
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(p:Program)
  WITH w, p ORDER BY w.last_ts DESC
  RETURN count(w) AS watched,
         sum(CASE WHEN w IS NOT NULL THEN coalesce(w.seconds, 1) END) AS watched_seconds,
         collect(CASE WHEN w IS NOT NULL AND coalesce(w.completion, 1.0) >= $anchor_completion
                 THEN {id: p.id, title: p.title} END)[..$anchors] AS anchors,
         collect(CASE WHEN w IS NOT NULL
                 THEN [p.id, w.completion, w.last_ts.epochSeconds] END)[..$recent] AS recent
}
CALL (u) {
  OPTIONAL MATCH (u)-[w:WATCHED]->(:Program)-[:HAS_GENRE]->(g:Genre)
  WITH g, sum(coalesce(w.seconds, 1)) AS seconds WHERE g IS NOT NULL
  RETURN collect({genre_id: g.id, genre: g.name, seconds: seconds}) AS genre_time
}
CALL () {
  OPTIONAL MATCH (d:DataSource)
  RETURN [x IN collect(d.not_applicable) | x] AS not_applicable
}
WITH u, bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
     reduce(all = [], x IN not_applicable |
       all + [rule IN x WHERE NOT rule IN all]) AS not_applicable
WITH *, CASE
       WHEN u.candidates_version = $version AND watched >= $min_history
            AND size(u.candidates) >= $candidates
            AND (u.candidates_at IS NULL OR coalesce(recent[0][2], 0) <= u.candidates_at)
            AND (u.candidates_watched IS NULL OR u.candidates_watched = watched)
       THEN u.candidates[..$candidates] END AS program_ids
WITH *, CASE WHEN program_ids IS NOT NULL THEN u.candidate_scores[..$candidates] END AS scores,
     NOT 'availability' IN not_applicable AS check_availability
// Eligibility (cypher/rails/eligible.cypher, with the stored list as $program_ids and no
// series to skip): one row whatever happens, [] when there is nothing to test or no
// channel can reach the user.
CALL (u, program_ids, bundles, check_availability) {
  WITH u, program_ids, check_availability
  WHERE program_ids IS NOT NULL AND (size(bundles) > 0 OR NOT check_availability)
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
       } AS tired
  WITH u, program_ids, check_availability, [t IN tired | t.program] AS tired_programs,
       reduce(acc = [], t IN tired |
         CASE WHEN t.series IS NULL OR t.series IN acc THEN acc ELSE acc + t.series END
       )[..$fatigue_series] AS tired_series,
       reduce(acc = [], t IN tired |
         CASE WHEN t.channel_id IS NULL OR t.channel_id IN acc THEN acc ELSE acc + t.channel_id END
       )[..$fatigue_channels] AS tired_channel_ids
  WITH u, program_ids, check_availability, tired_series,
       [(u)-[s:SUBSCRIBES_TO]->(b:Bundle)
        WHERE s.since <= $now AND (s.until IS NULL OR s.until > $now) | b] AS subscribed,
       [(u)-[:BLACKLISTED]->(x:Program) | x] + tired_programs AS blocked_programs,
       [(u)-[:BLACKLISTED]->(c:Channel) | c]
         + COLLECT { MATCH (c:Channel) WHERE c.id IN tired_channel_ids RETURN c }
         AS blocked_channels,
       [(u)-[:BLACKLISTED]->(g:Genre) | g] AS blocked_genres,
       [(u)-[w:WATCHED]->(x:Program) WHERE coalesce(w.completion, 1.0) >= $completion | x] AS done
  WITH u, program_ids, check_availability, subscribed, blocked_programs, blocked_channels,
       blocked_genres, done, tired_series,
       reduce(all = [], d IN done |
         all + [(d)-[:EPISODE_OF]->(s:Series) |
                {series: s, key: coalesce(d.season, 0) * 100000 + coalesce(d.episode, 0)}]
       ) AS done_episodes
  // One candidate per series, its best ranked: every episode of a series offers the
  // same program (the user's next episode), so the later ones could only repeat that
  // offer.
  WITH *, COLLECT {
    UNWIND range(0, size(program_ids) - 1) AS rank
    MATCH (candidate:Program {id: program_ids[rank]})
    OPTIONAL MATCH (candidate)-[:EPISODE_OF]->(series:Series)
    WITH coalesce(series, candidate) AS key, min(rank) AS rank
    RETURN rank ORDER BY rank
  } AS ranks
  UNWIND ranks AS rank
  MATCH (candidate:Program {id: program_ids[rank]})
  OPTIONAL MATCH (candidate)-[:EPISODE_OF]->(series:Series)
  WITH * WHERE series IS NULL OR NOT series IN tired_series
  WITH u, check_availability, subscribed, blocked_programs, blocked_channels, blocked_genres,
       done, rank, candidate,
       series,
       reduce(last = -1, x IN done_episodes |
         CASE WHEN x.series = series AND x.key > last THEN x.key ELSE last END) AS last_done
  CALL (u, check_availability, subscribed, blocked_programs, blocked_channels, blocked_genres,
        done, candidate, series, last_done) {
    // At most one program: the candidate, or the series' next episode.
    UNWIND CASE WHEN series IS NULL THEN [candidate]
           ELSE COLLECT {
             MATCH (e:Program)-[:EPISODE_OF]->(series)
             WITH e, coalesce(e.season, 0) * 100000 + coalesce(e.episode, 0) AS key
             WHERE key > last_done
             RETURN e ORDER BY key, e.id LIMIT 1
           }
           END AS p
    WITH u, check_availability, subscribed, blocked_programs, blocked_channels, blocked_genres,
         done, p
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
      // The window a viewer can best use: as eligible.cypher (README, "The airing offered").
      WITH c, a, b,
           a.kind = 'live' AND a.start < $now
             AND 2 * (a.end.epochSeconds - $now.epochSeconds)
                 <= a.end.epochSeconds - a.start.epochSeconds AS mostly_over
      ORDER BY mostly_over, CASE WHEN a.start > $now THEN a.start ELSE $now END,
               a.kind = 'live', a.start, c.id, b.id
      LIMIT 1
      RETURN c, a, b
    }
    WITH check_availability, p, c, a, b
    WHERE c IS NOT NULL
       OR (NOT check_availability AND p.availability IS NULL
           AND NOT EXISTS { (p)-[:AVAILABLE_ON]->(:Channel) })
    RETURN p, c, a, b
  }
  WITH rank, candidate, series, last_done, p, c, a, b
  LIMIT $max_offers
  // One record holding every offer, each as a list in the order of the fields of
  // api.rails.types.Offer: the async driver pays a socket wait per record, and
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
  ]) AS offers
}
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       not_applicable, program_ids AS candidates, scores AS candidate_scores, offers;
