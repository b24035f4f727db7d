// What the rails need to know about one user, in one round trip: profile,
// bundles (active subscriptions plus free bundles), recent well-completed
// watches (anchors for "because you watched"), the last $recent watches as
// [program id, completion, last_ts epoch seconds] (the fold-in of the user's
// vector, api/model.py), watch time in all and per genre (a program of two
// genres counts in both: the shares are of watched_seconds, each watch once,
// and need not sum to 1), and which rules some loaded
// data source cannot support (the union over DataSource nodes, each rule
// once). With a TV data set and MovieLens in one database "availability" is
// listed, yet eligible.cypher still applies it to every program that has
// availability data: the flag only lets the MovieLens films through.
OPTIONAL MATCH (u:User {id: $user_id})
// @include rails/context.part
RETURN u IS NOT NULL AS known, u.csa_ceiling AS csa_ceiling,
       u.csa_ceiling_level AS csa_ceiling_level, u.profile AS profile, u.country AS country,
       bundles, free_bundles, watched, watched_seconds, anchors, recent, genre_time,
       not_applicable;
