// A small hand-built graph for the service's rules (banned genres, country rights,
// impression fatigue, replay-only rails, the main genre). Every id starts with $p and
// every node carries the label $scratch (the test deletes them). "Now" in the tests is
// 2025-01-08T12:00:00Z.
CREATE (free:Bundle:$($scratch) {id: $p + 'free', name: 'Free', is_free: true})
CREATE (c1:Channel:$($scratch) {id: $p + 'c1', name: 'One'})
CREATE (c2:Channel:$($scratch) {id: $p + 'c2', name: 'Two'})
CREATE (free)-[:INCLUDES]->(c1), (free)-[:INCLUDES]->(c2)
CREATE (film:Genre:$($scratch) {id: $p + 'film', name: 'Film'})
CREATE (info:Genre:$($scratch) {id: $p + 'info', name: 'Information'})
CREATE (meteo:Genre:$($scratch) {id: $p + 'meteo', name: 'Météo'})
CREATE (:User:$($scratch) {id: $p + 'fr', country: 'FR', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (:User:$($scratch) {id: $p + 'de', country: 'DE', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (:User:$($scratch) {id: $p + 'nowhere', csa_ceiling: '-18', csa_ceiling_level: 18})
WITH *
UNWIND [
  // id, genres (main first), channel, kind, start, end, countries
  ['plain', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['news', ['info'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['film_with_news', ['film', 'info'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['weather', ['meteo'], 'c1', 'live', '2025-01-08T19:55:00Z', '2025-01-08T20:00:00Z', null],
  ['fr_only', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', ['FR']],
  ['fr_be', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', ['FR', 'BE']],
  ['fr_here_all_there', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', ['FR']],
  ['live_tonight', ['film'], 'c1', 'live', '2025-01-08T21:00:00Z', '2025-01-08T23:00:00Z', null],
  ['live_and_replay', ['film'], 'c1', 'live', '2025-01-08T21:00:00Z', '2025-01-08T23:00:00Z', null],
  ['shown3', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['shown2', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['shown3_watched', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['shown_long_ago', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null],
  ['kept_until_quiet', ['film'], 'c1', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z', null]
] AS row
MATCH (c:Channel {id: $p + row[2]})
CREATE (prog:Program:$($scratch) {id: $p + row[0], title: row[0], csa: 'TP', csa_level: 0,
                                  availability: row[3]})
CREATE (prog)-[a:AVAILABLE_ON {kind: row[3], start: datetime(row[4]), end: datetime(row[5])}]->(c)
SET a.countries = row[6]
WITH prog, row
UNWIND range(0, size(row[1]) - 1) AS rank
MATCH (g:Genre {id: $p + row[1][rank]})
CREATE (prog)-[:HAS_GENRE {rank: rank}]->(g)
WITH DISTINCT 1 AS one
// fr_here_all_there: licensed in FR only on c1, everywhere on c2.
MATCH (x:Program {id: $p + 'fr_here_all_there'}), (c2:Channel {id: $p + 'c2'})
CREATE (x)-[:AVAILABLE_ON {kind: 'replay', start: datetime('2025-01-07T20:00:00Z'),
                           end: datetime('2025-01-14T20:00:00Z')}]->(c2)
WITH DISTINCT 1 AS one
MATCH (x:Program {id: $p + 'live_and_replay'}), (c2:Channel {id: $p + 'c2'})
CREATE (x)-[:AVAILABLE_ON {kind: 'replay', start: datetime('2025-01-07T20:00:00Z'),
                           end: datetime('2025-01-14T20:00:00Z')}]->(c2)
// The served log of user fr (rails as of these days before now), and one watch.
WITH DISTINCT 1 AS one
MATCH (u:User {id: $p + 'fr'})
UNWIND [
  // program, days before now the rail was served
  ['shown3', 1.0], ['shown3', 2.0], ['shown3', 3.0],
  ['shown2', 1.0], ['shown2', 2.0],
  ['shown3_watched', 1.0], ['shown3_watched', 2.0], ['shown3_watched', 3.0],
  ['shown_long_ago', 8.0], ['shown_long_ago', 9.0], ['shown_long_ago', 10.0],
  ['kept_until_quiet', 6.0], ['kept_until_quiet', 9.0], ['kept_until_quiet', 10.0]
] AS shown
MATCH (x:Program {id: $p + shown[0]})
CREATE (u)-[:WAS_SERVED]->(s:Served:$($scratch) {
  id: $p + shown[0] + toString(shown[1]), rail: 'home', user_id: u.id,
  as_of: datetime('2025-01-08T12:00:00Z') - duration({seconds: toInteger(shown[1] * 86400)})
})-[:SERVED_ITEM {position: 1}]->(x)
WITH DISTINCT u
MATCH (x:Program {id: $p + 'shown3_watched'})
CREATE (u)-[:WATCHED {completion: 0.3, seconds: 600, count: 1,
                      last_ts: datetime('2025-01-06T00:00:00Z')}]->(x);
