// One batch of channels.csv rows.
UNWIND $rows AS row
MERGE (c:Channel {id: row.channel_id})
SET c.name = row.name;
