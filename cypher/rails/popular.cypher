// The popular and best-of-bundle rails' one round trip: the user's context (as
// cypher/rails/user_context.cypher reads it), the rail's ranking of the bundles it searches
// and the live eligibility of its first candidates (the rules of
// cypher/rails/offers.part.cypher, against the graph as it is now).
//
// The rankings come from the API's audience cache (api/rails/popularity.py: this week's
// watchers, or completion for best of bundle, of the programs of each bundle; nothing about
// the user). $ranked holds the first $candidates programs of every bundle's ranking, in the
// order of the ranking of all bundles together (each bundle's is that order, restricted to
// the bundle's programs); $rankings maps each bundle id to the positions in $ranked of its
// programs. The rail searches $bundle_id (a rail about one bundle) or else every bundle of
// the user, so its first $candidates are the first $candidates positions of those
// bundles together: the first $candidates of their merged ranking, as each bundle's list
// holds every program of its own that can be among them. They are tested in rank order up
// to the first $max_offers offers (LIMIT), as eligible.cypher does.
OPTIONAL MATCH (u:User {id: $user_id})
// @include rails/context.part
WITH *, NOT 'availability' IN not_applicable AS check_availability,
     COLLECT {
       UNWIND CASE WHEN $bundle_id IS NULL THEN bundles ELSE [$bundle_id] END AS bundle
       UNWIND coalesce($rankings[bundle], []) AS position
       WITH DISTINCT position
       ORDER BY position
       LIMIT $candidates
       RETURN $ranked[position]
     } AS program_ids
// Eligibility: one row whatever happens, [] when nothing is ranked or no channel can reach
// the user.
CALL (u, program_ids, bundles, check_availability) {
  WITH u, program_ids, check_availability
  WHERE size(program_ids) > 0 AND (size(bundles) > 0 OR NOT check_availability)
  // @include rails/offers.part
}
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile, u.country AS country,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       not_applicable, program_ids AS candidates, offers;
