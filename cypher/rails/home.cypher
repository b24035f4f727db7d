// The home rail's one round trip: the user's context (as cypher/rails/user_context.cypher
// reads it), the user's precomputed candidates (gnn/candidates.py) and their live
// eligibility (the rules of cypher/rails/offers.part.cypher, included as eligible.cypher
// includes them, against the graph as it is now: nothing about eligibility is stored).
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
// With $ranker, it also returns what the ranker needs of the user (the watches, and the
// impressions of the offered programs), so ranking costs no round trip of its own.
OPTIONAL MATCH (u:User {id: $user_id})
// @include rails/context.part
WITH *, CASE
       WHEN u.candidates_version = $version AND watched >= $min_history
            AND size(u.candidates) >= $candidates
            AND (u.candidates_at IS NULL OR coalesce(recent[0][2], 0) <= u.candidates_at)
            AND (u.candidates_watched IS NULL OR u.candidates_watched = watched)
       THEN u.candidates[..$candidates] END AS program_ids
WITH *, CASE WHEN program_ids IS NOT NULL THEN u.candidate_scores[..$candidates] END AS scores,
     NOT 'availability' IN not_applicable AS check_availability
// Eligibility (cypher/rails/offers.part.cypher, as eligible.cypher tests it, with the
// stored list as the candidates): one row whatever happens, [] when there is nothing to
// test or no channel can reach the user.
CALL (u, program_ids, bundles, check_availability) {
  WITH u, program_ids, check_availability
  WHERE program_ids IS NOT NULL AND (size(bundles) > 0 OR NOT check_availability)
  // @include rails/offers.part
}
// The user's side of the ranker's features, for the offered programs, only when the
// serving version has a ranker ($ranker; otherwise both columns are null).
OPTIONAL CALL (u, offers) {
  WITH u, [o IN offers | o[2]] AS ranking_programs WHERE $ranker
  RETURN
  // @include rails/ranking_user.part
}
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile, u.country AS country,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       not_applicable, program_ids AS candidates, scores AS candidate_scores, offers,
       ranking_watches, ranking_shown;
