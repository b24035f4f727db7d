// One batch of programs.csv rows. A program's genres and series are replaced
// by the file's, so loading a corrected catalogue converges to it.
UNWIND $rows AS row
MERGE (p:Program {id: row.program_id})
SET p.title = row.title,
    p.csa = row.csa,
    p.csa_level = row.csa_level,
    p.duration_s = row.duration_s,
    p.year = row.year,
    p.availability = row.availability,
    p.season = row.season,
    p.episode = row.episode
WITH p, row
CALL (p, row) {
  OPTIONAL MATCH (p)-[old:HAS_GENRE|EPISODE_OF]->()
  DELETE old
}
CALL (p, row) {
  UNWIND row.genres AS genre_id
  MATCH (g:Genre {id: genre_id})
  MERGE (p)-[:HAS_GENRE]->(g)
}
CALL (p, row) {
  MATCH (s:Series {id: row.series_id})
  MERGE (p)-[:EPISODE_OF]->(s)
};
