// One batch of User embeddings of model version $version, stored as float32 vectors.
UNWIND $rows AS row
MATCH (u:User {id: row.id})
CALL db.create.setNodeVectorProperty(u, 'embedding', row.embedding)
SET u.embedding_version = $version;
