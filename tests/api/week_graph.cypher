// A small hand-built graph for explanations at several `now` values. Every id starts
// with $p and every node also carries the label $scratch (the test deletes them).
// The watches: 2025-02-01 (old_hit, six viewers at 95%), 2025-03-05 (old_hit, two at
// 50%), 2025-03-06 (fresh, five at 80%) and 2025-03-07 (Lupin's episode 3, five at 90%:
// the last event). The `now` values of the tests sit before, between and after them.
CREATE (pay:Bundle:$($scratch) {id: $p + 'pay', name: 'Pay', is_free: false})
CREATE (free:Bundle:$($scratch) {id: $p + 'free', name: 'Free', is_free: true})
CREATE (cPay:Channel:$($scratch) {id: $p + 'c_pay', name: 'Pay One'})
CREATE (cFree:Channel:$($scratch) {id: $p + 'c_free', name: 'Free One'})
CREATE (pay)-[:INCLUDES]->(cPay), (free)-[:INCLUDES]->(cFree)
CREATE (film:Genre:$($scratch) {id: $p + 'film', name: 'Film'})
CREATE (lupin:Series:$($scratch) {id: $p + 'lupin', title: 'Lupin'})
CREATE (viewer:User:$($scratch) {id: $p + 'viewer', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (viewer)-[:SUBSCRIBES_TO {since: datetime('2024-01-01T00:00:00Z')}]->(pay)
// A second subscription period to the same bundle: still one path per (bundle, channel).
CREATE (viewer)-[:SUBSCRIBES_TO {since: datetime('2023-01-01T00:00:00Z'),
                                 until: datetime('2023-06-01T00:00:00Z')}]->(pay)
WITH *
UNWIND range(1, 8) AS i
CREATE (:User:$($scratch) {id: $p + 'w' + i, csa_ceiling: '-18', csa_ceiling_level: 18})
WITH DISTINCT pay, cPay, cFree, film, lupin
UNWIND [
  // id, csa, level, season, episode, channel, [[kind, start, end], ...]
  ['old_hit', 'TP', 0, null, null, 'c_pay',
   [['vod', '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z']]],
  ['fresh', 'TP', 0, null, null, 'c_pay',
   [['replay', '2025-03-01T00:00:00Z', '2025-03-31T00:00:00Z']]],
  ['e1', 'TP', 0, 1, 1, 'c_pay', [['vod', '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z']]],
  ['e2', 'TP', 0, 1, 2, 'c_pay', [['vod', '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z']]],
  ['e3', 'TP', 0, 1, 3, 'c_pay', [['vod', '2025-01-01T00:00:00Z', '2025-12-31T00:00:00Z']]],
  // First aired 9.8 days before 2025-03-08T20:00; its replay opened within that week.
  ['not_new', 'TP', 0, null, null, 'c_pay',
   [['live', '2025-02-27T00:48:00Z', '2025-02-27T02:00:00Z'],
    ['replay', '2025-03-04T00:00:00Z', '2025-03-20T00:00:00Z']]],
  ['brand_new', 'TP', 0, null, null, 'c_pay',
   [['replay', '2025-03-06T00:00:00Z', '2025-03-20T00:00:00Z']]],
  // Airs 19:40-20:35 on 2025-03-08, then in full on two later days.
  ['twice', 'TP', 0, null, null, 'c_pay',
   [['live', '2025-03-08T19:40:00Z', '2025-03-08T20:35:00Z'],
    ['live', '2025-03-10T21:00:00Z', '2025-03-10T21:55:00Z'],
    ['live', '2025-03-12T21:00:00Z', '2025-03-12T21:55:00Z']]],
  // Airs 20:00-21:00 on 2025-03-08, and is on demand from 2025-03-08 to 2025-03-09.
  ['with_vod', 'TP', 0, null, null, 'c_pay',
   [['live', '2025-03-08T20:00:00Z', '2025-03-08T21:00:00Z'],
    ['vod', '2025-03-08T00:00:00Z', '2025-03-09T00:00:00Z']]],
  // Free programs, for a visitor the graph does not know (anonymous ceiling: -10).
  ['free_film', 'TP', 0, null, null, 'c_free',
   [['replay', '2025-03-01T00:00:00Z', '2025-03-31T00:00:00Z'],
    ['live', '2025-03-09T20:00:00Z', '2025-03-09T22:00:00Z']]],
  ['free_adult', '-16', 16, null, null, 'c_free',
   [['replay', '2025-03-01T00:00:00Z', '2025-03-31T00:00:00Z']]]
] AS row
CREATE (prog:Program:$($scratch) {id: $p + row[0], title: row[0], csa: row[1],
                                  csa_level: row[2], season: row[3], episode: row[4],
                                  duration_s: 3300})
CREATE (prog)-[:HAS_GENRE {rank: 0}]->(film)
WITH pay, cPay, cFree, lupin, row, prog
CALL (prog, row, lupin) {
  WITH prog, row, lupin WHERE row[4] IS NOT NULL
  CREATE (prog)-[:EPISODE_OF]->(lupin)
}
WITH row, prog, CASE row[5] WHEN 'c_pay' THEN cPay ELSE cFree END AS channel
UNWIND row[6] AS w
CREATE (prog)-[:AVAILABLE_ON {kind: w[0], start: datetime(w[1]), end: datetime(w[2])}]->(channel)
WITH DISTINCT 1 AS done
UNWIND [
  // program, watchers (w1..wN from the first given), last event, completion
  ['old_hit', 1, 6, '2025-02-01T12:00:00Z', 0.95],
  ['old_hit', 7, 8, '2025-03-05T12:00:00Z', 0.5],
  ['fresh', 1, 5, '2025-03-06T12:00:00Z', 0.8],
  ['e3', 1, 5, '2025-03-07T12:00:00Z', 0.9]
] AS watch
UNWIND range(watch[1], watch[2]) AS i
MATCH (u:User {id: $p + 'w' + i}), (prog:Program {id: $p + watch[0]})
CREATE (u)-[:WATCHED {first_ts: datetime(watch[3]), last_ts: datetime(watch[3]), seconds: 3000,
                      completion: watch[4], count: 1, event_ids: [$p + watch[0] + i],
                      last_channel_id: $p + 'c_pay'}]->(prog);
