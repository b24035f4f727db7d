// One batch of programs.csv rows. A program's genres and series are replaced
// by the file's, so loading a corrected catalogue converges to it. HAS_GENRE.rank
// is the genre's place in the list (0 = the main genre); a repeated id keeps its
// first place.
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
WITH p, row,
     reduce(seen = [], g IN row.genres | CASE WHEN g IN seen THEN seen ELSE seen + g END)
       AS genres
CALL (p, row) {
  OPTIONAL MATCH (p)-[old:HAS_GENRE|EPISODE_OF]->()
  DELETE old
}
CALL (p, genres) {
  UNWIND range(0, size(genres) - 1) AS rank
  MATCH (g:Genre {id: genres[rank]})
  MERGE (p)-[r:HAS_GENRE]->(g)
  SET r.rank = rank
}
CALL (p, row) {
  MATCH (s:Series {id: row.series_id})
  MERGE (p)-[:EPISODE_OF]->(s)
};
