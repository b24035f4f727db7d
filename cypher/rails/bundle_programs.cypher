// The programs offered on the channels of each bundle (whatever the dates of their
// windows): which rows of catalogue_popularity.cypher are a bundle's audience list.
MATCH (b:Bundle)-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p:Program)
RETURN b.id AS bundle_id, collect(DISTINCT p.id) AS program_ids;
