// Candidate lists the API scored itself (api/rails/precomputed.py): for a user the
// serving version does not know (folded in from their recent watches) or whose watches
// since it was trained moved their vector. row.at is the last_ts (epoch seconds) of
// their latest watch and row.watched their number of watches when it was scored: the
// list holds until either changes (cypher/rails/home.cypher).
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.candidates = row.program_ids,
    u.candidate_scores = row.scores,
    u.candidates_version = $version,
    u.candidates_at = row.at,
    u.candidates_watched = row.watched;
