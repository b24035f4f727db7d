// One batch of genres.csv rows.
UNWIND $rows AS row
MERGE (g:Genre {id: row.genre_id})
SET g.name = row.name;
