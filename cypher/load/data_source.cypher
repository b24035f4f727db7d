// Records which source loaded the graph and which eligibility rules its data
// cannot support, so the rails say "not applicable" instead of guessing.
UNWIND $rows AS row
MERGE (d:DataSource {id: row.id})
SET d.not_applicable = row.not_applicable, d.loaded_at = datetime();
