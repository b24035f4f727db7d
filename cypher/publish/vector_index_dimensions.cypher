// Dimensions of the program embedding index, if it exists.
SHOW VECTOR INDEXES YIELD name, options
WHERE name = 'program_embedding'
RETURN options.indexConfig['vector.dimensions'] AS dimensions;
