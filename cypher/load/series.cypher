// One batch of series.csv rows.
UNWIND $rows AS row
MERGE (s:Series {id: row.series_id})
SET s.title = row.title;
