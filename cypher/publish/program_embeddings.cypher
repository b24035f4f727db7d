// One batch of Program embeddings of model version $version, stored as float32 vectors.
UNWIND $rows AS row
MATCH (p:Program {id: row.id})
CALL db.create.setNodeVectorProperty(p, 'embedding', row.embedding)
SET p.embedding_version = $version;
