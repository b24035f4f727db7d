// A model of another embedding size needs a new index.
DROP INDEX program_embedding IF EXISTS;
