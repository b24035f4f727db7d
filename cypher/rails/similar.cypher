// The rails about a program in one round trip: "similar to" one program ($program_id),
// or "because you watched" for each of the user's first $rails anchors ($program_id
// null). It reads the user's context (cypher/rails/context.part.cypher, as
// user_context.cypher returns it), and for each anchor program, in anchor order:
//   - its title, and whether the user has a WATCHED relationship to it;
//   - its precomputed candidates (gnn/candidates.py: its most similar programs, best
//     first, with their cosines), only while they are current: written for the serving
//     $version and holding at least $candidates programs (otherwise null, and the API
//     computes them itself from the model it serves);
//   - the first $max_offers offers among them, tested live in rank order against the
//     graph as it is now (cypher/rails/offers.part.cypher, as eligible.cypher includes
//     it): nothing about eligibility is stored;
//   - the explanation's evidence for those offers: how many of at most $sample watchers
//     of the anchor also watched each offered program (as cypher/rails/co_watchers.cypher
//     counts them), and how many watchers it has (as anchor_watchers.cypher counts them).
//     A WATCHED relationship always goes from a User to a Program (the loaders write no
//     other), so neither end's label is tested: the watchers' count is then the anchor's
//     degree, read without expanding (on the 100k bench graph, 20 % fewer db hits a
//     because-you-watched request, the same results: docs/benchmarks.md).
// A $program_id the graph does not hold gives no anchor.
OPTIONAL MATCH (u:User {id: $user_id})
// @include rails/context.part
WITH *, NOT 'availability' IN not_applicable AS check_availability,
     CASE WHEN $program_id IS NULL THEN [a IN anchors[..$rails] | a.id]
          ELSE [$program_id] END AS anchor_ids
CALL (u, bundles, check_availability, anchor_ids) {
  UNWIND range(0, size(anchor_ids) - 1) AS position
  MATCH (anchor:Program {id: anchor_ids[position]})
  WITH u, bundles, check_availability, position, anchor,
       CASE WHEN anchor.similar_version = $version AND size(anchor.similar) >= $candidates
            THEN anchor.similar[..$candidates] END AS program_ids
  CALL (u, bundles, check_availability, program_ids) {
    WITH u, program_ids, check_availability
    WHERE program_ids IS NOT NULL AND (size(bundles) > 0 OR NOT check_availability)
    // @include rails/offers.part
  }
  CALL (anchor, offers) {
    WITH anchor, COLLECT {
           MATCH (p:Program) WHERE p.id IN [o IN offers | o[2]] RETURN p
         } AS programs
    WHERE size(programs) > 0
    MATCH (anchor)<-[:WATCHED]-(viewer)
    WITH viewer, programs LIMIT $sample
    MATCH (viewer)-[:WATCHED]->(p)
    WHERE p IN programs
    WITH p, count(viewer) AS viewers
    RETURN collect([p.id, viewers]) AS co_watchers
  }
  WITH position, anchor, program_ids, offers, co_watchers
  ORDER BY position
  RETURN collect({
    id: anchor.id, title: anchor.title,
    watched: u IS NOT NULL AND EXISTS { (u)-[:WATCHED]->(anchor) },
    candidates: program_ids,
    candidate_scores: CASE WHEN program_ids IS NOT NULL
                      THEN anchor.similar_scores[..$candidates] END,
    offers: offers, co_watchers: co_watchers,
    viewers: COUNT { (anchor)<-[:WATCHED]-() }
  }) AS about
}
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile, u.country AS country,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       not_applicable, about;
