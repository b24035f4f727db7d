// One batch of candidate lists written when a version is published (gnn/candidates.py):
// each user's best programs by the model's score with their trained vector, best
// first, their scores, the version, and $at, when the version was trained (epoch
// seconds; null when unknown): the list holds until the user watches something after
// it (cypher/rails/home.cypher), whatever their number of watches. Eligibility is never
// stored: home.cypher tests it live on every request.
UNWIND $rows AS row
MATCH (u:User {id: row.id})
SET u.candidates = row.program_ids,
    u.candidate_scores = row.scores,
    u.candidates_version = $version,
    u.candidates_at = $at
REMOVE u.candidates_watched;
