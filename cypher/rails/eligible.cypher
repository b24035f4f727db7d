// Eligibility of a ranked candidate list for one user, in one round trip.
// For each candidate (in $program_ids order) it returns the program to offer
// or nothing, and stops at the first $max_offers offers: candidates are
// tested in rank order (UNWIND of the candidates kept one per series, then
// Apply, all order-preserving in the slotted runtime, and no sort before
// the LIMIT), so the candidates after the last offer returned are never
// tested against the rules nor decoded. Fewer than $max_offers offers means every
// candidate was tested. The rules are those of cypher/rails/offers.part.cypher, included
// below.
OPTIONAL MATCH (u:User {id: $user_id})
WITH u, $program_ids AS program_ids, $check_availability AS check_availability
// @include rails/offers.part
;
