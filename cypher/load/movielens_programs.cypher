// One batch of MovieLens films; genres are replaced by the file's.
UNWIND $rows AS row
MERGE (p:Program {id: row.id})
SET p.title = row.title, p.year = row.year
WITH p, row
CALL (p) {
  OPTIONAL MATCH (p)-[old:HAS_GENRE]->()
  DELETE old
}
CALL (p, row) {
  UNWIND row.genres AS genre_id
  MATCH (g:Genre {id: genre_id})
  MERGE (p)-[:HAS_GENRE]->(g)
};
