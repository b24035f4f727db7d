// One batch of per-program candidate lists written when a version is published
// (gnn/candidates.py): each program's most similar programs by the model (cosine of the
// embeddings, itself left out), best first, their cosines and the version. The rails
// about a program read them (cypher/rails/similar.cypher) only while $version serves;
// their eligibility is never stored, it is tested live on every request.
UNWIND $rows AS row
MATCH (p:Program {id: row.id})
SET p.similar = row.program_ids,
    p.similar_scores = row.scores,
    p.similar_version = $version;
