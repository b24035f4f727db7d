// One batch of users.csv rows.
UNWIND $rows AS row
MERGE (u:User {id: row.user_id})
SET u.country = row.country,
    u.profile = row.profile,
    u.csa_ceiling = row.csa_ceiling,
    u.csa_ceiling_level = row.csa_ceiling_level;
