// Schema of the graphrails graph, applied by `graphrails db init` (idempotent).
// One uniqueness constraint per node label's external id; each also backs an index.
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (n:User) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT program_id IF NOT EXISTS FOR (n:Program) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT channel_id IF NOT EXISTS FOR (n:Channel) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT genre_id IF NOT EXISTS FOR (n:Genre) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT bundle_id IF NOT EXISTS FOR (n:Bundle) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT series_id IF NOT EXISTS FOR (n:Series) REQUIRE n.id IS UNIQUE;
// Which data source (tv, movielens) loaded the graph, and which rules it supports.
CREATE CONSTRAINT data_source_id IF NOT EXISTS FOR (n:DataSource) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT model_version_id IF NOT EXISTS FOR (n:ModelVersion) REQUIRE n.id IS UNIQUE;
// Wait until the indexes behind the constraints are online before loading.
CALL db.awaitIndexes(300);
// The served-rails log (api/served.py): one :Served node per rail the API returned,
// written by id and pruned by age (`at`), so both need an index.
CREATE CONSTRAINT served_id IF NOT EXISTS FOR (n:Served) REQUIRE n.id IS UNIQUE;
CREATE INDEX served_at IF NOT EXISTS FOR (n:Served) ON (n.at);
// A/B experiments (experiments/): one per name; the report reads the log by experiment.
CREATE CONSTRAINT experiment_name IF NOT EXISTS FOR (n:Experiment) REQUIRE n.name IS UNIQUE;
CREATE INDEX served_experiment IF NOT EXISTS FOR (n:Served) ON (n.experiment);
// The ranker reads the watches of a few days (cypher/rails/week_audience.cypher).
CREATE INDEX watched_last_ts IF NOT EXISTS FOR ()-[w:WATCHED]-() ON (w.last_ts);
CALL db.awaitIndexes(300);
