// One batch of bundles.csv rows.
UNWIND $rows AS row
MERGE (b:Bundle {id: row.bundle_id})
SET b.name = row.name, b.is_free = row.is_free;
