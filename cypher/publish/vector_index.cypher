// Nearest programs by embedding (similar-programs rails, Browser exploration).
CREATE VECTOR INDEX program_embedding IF NOT EXISTS
FOR (p:Program) ON p.embedding
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'cosine'}};
