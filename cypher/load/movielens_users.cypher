// One batch of MovieLens users (no country, profile or CSA ceiling in the data).
UNWIND $rows AS row
MERGE (u:User {id: row.id})
SET u.age = row.age, u.gender = row.gender, u.occupation = row.occupation,
    u.zip_code = row.zip_code;
