// One batch of availability.csv rows: one AVAILABLE_ON per window. countries (a list
// of ISO codes) is set, not merged on: a corrected file replaces it, and null (no
// restriction) removes it.
UNWIND $rows AS row
MATCH (p:Program {id: row.program_id})
MATCH (c:Channel {id: row.channel_id})
MERGE (p)-[a:AVAILABLE_ON {start: row.start, end: row.end, kind: row.kind}]->(c)
SET a.countries = row.countries;
