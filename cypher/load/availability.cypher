// One batch of availability.csv rows: one AVAILABLE_ON per window.
UNWIND $rows AS row
MATCH (p:Program {id: row.program_id})
MATCH (c:Channel {id: row.channel_id})
MERGE (p)-[:AVAILABLE_ON {start: row.start, end: row.end, kind: row.kind}]->(c);
