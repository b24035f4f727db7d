// A small hand-built graph for the eligibility rules. Every id starts with
// $p and every node also carries the label $scratch (the test deletes them).
// "Now" in the tests is 2025-01-08T12:00:00Z.
CREATE (free:Bundle:$($scratch) {id: $p + 'free', name: 'Free', is_free: true})
CREATE (cine:Bundle:$($scratch) {id: $p + 'cine', name: 'Cinema', is_free: false})
CREATE (cFree:Channel:$($scratch) {id: $p + 'c_free', name: 'Free One'})
CREATE (cCine:Channel:$($scratch) {id: $p + 'c_cine', name: 'Cine One'})
CREATE (cBlack:Channel:$($scratch) {id: $p + 'c_black', name: 'Blacklisted One'})
CREATE (cTired:Channel:$($scratch) {id: $p + 'c_tired', name: 'Tiring One'})
CREATE (free)-[:INCLUDES]->(cFree), (free)-[:INCLUDES]->(cBlack), (cine)-[:INCLUDES]->(cCine)
CREATE (free)-[:INCLUDES]->(cTired)
// A channel in both bundles: the offer names the bundle with the smallest id.
CREATE (cBoth:Channel:$($scratch) {id: $p + 'c_both', name: 'Both One'})
CREATE (free)-[:INCLUDES]->(cBoth), (cine)-[:INCLUDES]->(cBoth)
CREATE (film:Genre:$($scratch) {id: $p + 'film', name: 'Film'})
CREATE (horror:Genre:$($scratch) {id: $p + 'horror', name: 'Horror'})
CREATE (u:User:$($scratch) {id: $p + 'adult12', csa_ceiling: '-12', csa_ceiling_level: 12})
CREATE (kid:User:$($scratch) {id: $p + 'kid', csa_ceiling: '-10', csa_ceiling_level: 10})
CREATE (lapsed:User:$($scratch) {id: $p + 'lapsed', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (:User:$($scratch) {id: $p + 'tired', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (u)-[:SUBSCRIBES_TO {since: datetime('2024-01-01T00:00:00Z')}]->(cine)
CREATE (lapsed)-[:SUBSCRIBES_TO {since: datetime('2024-01-01T00:00:00Z'),
                                 until: datetime('2025-01-01T00:00:00Z')}]->(cine)
CREATE (u)-[:BLACKLISTED]->(cBlack), (u)-[:BLACKLISTED]->(horror)
WITH *
UNWIND [
  // id, csa, level, genre, channel, kind, start, end
  ['replay_now', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['live_cine_tomorrow', 'TP', 0, 'film', 'c_cine', 'live', '2025-01-09T21:00:00Z', '2025-01-09T23:00:00Z'],
  ['live_ended', 'TP', 0, 'film', 'c_free', 'live', '2025-01-07T21:00:00Z', '2025-01-07T23:00:00Z'],
  ['live_in_ten_days', 'TP', 0, 'film', 'c_free', 'live', '2025-01-18T21:00:00Z', '2025-01-18T23:00:00Z'],
  ['vod_from_tomorrow', 'TP', 0, 'film', 'c_free', 'vod', '2025-01-09T00:00:00Z', '2025-02-09T00:00:00Z'],
  ['csa16', '-16', 16, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['csa12', '-12', 12, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['blacklisted', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['horror', 'TP', 0, 'horror', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['only_black_channel', 'TP', 0, 'film', 'c_black', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['watched_done', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['watched_half', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['rated_film', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s1e1', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s1e2', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s1e3', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s2e1', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s2e2', '-16', 16, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['s2e3', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['in_two_bundles', 'TP', 0, 'film', 'c_both', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  // fatigue (user 'tired')
  ['abandoned_old', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['abandoned_mid', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['watched_ok', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['skipped_then_watched', 'TP', 0, 'film', 'c_free', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['tired_film', 'TP', 0, 'film', 'c_tired', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z'],
  ['on_tired_channel', 'TP', 0, 'film', 'c_tired', 'replay', '2025-01-07T20:00:00Z', '2025-01-14T20:00:00Z']
] AS row
MATCH (g:Genre {id: $p + row[3]})
MATCH (c:Channel {id: $p + row[4]})
CREATE (prog:Program:$($scratch) {id: $p + row[0], title: row[0], csa: row[1], csa_level: row[2],
                                  availability: row[5]})
CREATE (prog)-[:HAS_GENRE {rank: 0}]->(g)
CREATE (prog)-[:AVAILABLE_ON {kind: row[5], start: datetime(row[6]), end: datetime(row[7])}]->(c)
WITH DISTINCT u, cBlack
// No availability data at all: a MovieLens film (no AVAILABLE_ON, no TV
// `availability` property) and a TV program with no window on any channel.
MATCH (film:Genre {id: $p + 'film'})
CREATE (ml:Program:$($scratch) {id: $p + 'ml_film', title: 'ml_film'})
       -[:HAS_GENRE {rank: 0}]->(film)
CREATE (:Program:$($scratch) {id: $p + 'tv_no_window', title: 'tv_no_window', csa: 'TP',
                              csa_level: 0, availability: 'vod'})
       -[:HAS_GENRE {rank: 0}]->(film)
WITH u, cBlack
MATCH (twice:Program {id: $p + 'replay_now'})
CREATE (twice)-[:AVAILABLE_ON {kind: 'replay', start: datetime('2025-01-07T20:00:00Z'),
                              end: datetime('2025-01-14T20:00:00Z')}]->(cBlack)
WITH u
MATCH (b:Program {id: $p + 'blacklisted'}), (done:Program {id: $p + 'watched_done'}),
      (half:Program {id: $p + 'watched_half'}), (rated:Program {id: $p + 'rated_film'})
CREATE (u)-[:BLACKLISTED]->(b)
// A rating with no completion, as MovieLens writes them: watched to the end.
CREATE (u)-[:WATCHED {rating: 4.0, count: 1, last_ts: datetime('2025-01-02T20:00:00Z')}]->(rated)
CREATE (u)-[:WATCHED {completion: 0.95, seconds: 3000, count: 1}]->(done)
CREATE (u)-[:WATCHED {completion: 0.4, seconds: 900, count: 1}]->(half)
CREATE (s:Series:$($scratch) {id: $p + 's1', title: 'Saga'})
WITH u, s
UNWIND [['s1e1', 1], ['s1e2', 2], ['s1e3', 3]] AS ep
MATCH (e:Program {id: $p + ep[0]})
SET e.season = 1, e.episode = ep[1]
CREATE (e)-[:EPISODE_OF]->(s)
WITH u, collect(e) AS episodes
MATCH (e1:Program {id: $p + 's1e1'})
CREATE (u)-[:WATCHED {completion: 1.0, seconds: 2400, count: 1}]->(e1)
// Saga Two: adult12 completed s2e1; s2e2 (-16) is above their ceiling;
// lapsed blacklisted s2e1.
CREATE (s2:Series:$($scratch) {id: $p + 's2', title: 'Saga Two'})
WITH u, s2
UNWIND [['s2e1', 1], ['s2e2', 2], ['s2e3', 3]] AS ep
MATCH (e:Program {id: $p + ep[0]})
SET e.season = 1, e.episode = ep[1]
CREATE (e)-[:EPISODE_OF]->(s2)
WITH DISTINCT u
MATCH (s2e1:Program {id: $p + 's2e1'})
CREATE (u)-[:WATCHED {completion: 1.0, seconds: 2400, count: 1}]->(s2e1)
WITH DISTINCT s2e1
MATCH (lapsed:User {id: $p + 'lapsed'})
CREATE (lapsed)-[:BLACKLISTED]->(s2e1)
// The tired user's history, most recent first: tired_film abandoned on c_tired,
// s1e2 skipped on c_free, abandoned_mid, abandoned_old; watched_ok reached 0.8;
// skipped_then_watched was skipped, then watched to 0.75.
WITH DISTINCT 1 AS one
MATCH (t:User {id: $p + 'tired'})
UNWIND [
  // program, relationship, completion, last_ts, channel
  ['tired_film', 'WATCHED', 0.1, '2025-01-07T11:00:00Z', 'c_tired'],
  ['s1e2', 'SKIPPED', null, '2025-01-07T10:00:00Z', 'c_free'],
  ['abandoned_mid', 'WATCHED', 0.5, '2025-01-06T10:00:00Z', 'c_free'],
  ['abandoned_old', 'WATCHED', 0.2, '2025-01-05T10:00:00Z', 'c_free'],
  ['watched_ok', 'WATCHED', 0.8, '2025-01-07T09:00:00Z', 'c_free'],
  ['skipped_then_watched', 'SKIPPED', null, '2025-01-08T09:00:00Z', 'c_free'],
  ['skipped_then_watched', 'WATCHED', 0.75, '2025-01-04T09:00:00Z', 'c_free']
] AS h
MATCH (x:Program {id: $p + h[0]})
CREATE (t)-[r:$(h[1]) {last_ts: datetime(h[3]), last_channel_id: $p + h[4], count: 1}]->(x)
SET r.completion = h[2];
