// One batch of MovieLens films; genres are replaced by the file's. HAS_GENRE.rank is
// the genre's place in the item's class list (0 first; a repeated one keeps its first).
UNWIND $rows AS row
MERGE (p:Program {id: row.id})
SET p.title = row.title, p.year = row.year
WITH p, row,
     reduce(seen = [], g IN row.genres | CASE WHEN g IN seen THEN seen ELSE seen + g END)
       AS genres
CALL (p) {
  OPTIONAL MATCH (p)-[old:HAS_GENRE]->()
  DELETE old
}
CALL (p, genres) {
  UNWIND range(0, size(genres) - 1) AS rank
  MATCH (g:Genre {id: genres[rank]})
  MERGE (p)-[r:HAS_GENRE]->(g)
  SET r.rank = rank
};
