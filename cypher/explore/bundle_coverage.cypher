// What share of the catalogue each bundle can show (on any of its channels, any window).
MATCH (p:Program)
WITH count(p) AS catalogue
MATCH (b:Bundle)
CALL (b) {
  MATCH (b)-[:INCLUDES]->(:Channel)<-[:AVAILABLE_ON]-(p:Program)
  RETURN count(DISTINCT p) AS programs
}
RETURN b.id AS bundle_id, b.name AS name, b.is_free AS is_free, programs,
       round(100.0 * programs / catalogue, 1) AS percent_of_catalogue
ORDER BY programs DESC;
