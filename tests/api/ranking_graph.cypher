// A small hand-built graph whose ranking features (gnn/ranker.py) are computed by hand in
// tests/gnn/test_ranker_features.py, at now = 2031-06-10T20:30Z (a Tuesday): its "week"
// is 2031-06-03 to 2031-06-09, whole UTC days. Dates in 2031 keep its watches away from
// every other test graph's. Every id starts with $p; every node carries the label $scratch.
CREATE (bundle:Bundle:$($scratch) {id: $p + 'pay', name: 'Pay', is_free: false})
CREATE (c1:Channel:$($scratch) {id: $p + 'c1', name: 'One'})
CREATE (c2:Channel:$($scratch) {id: $p + 'c2', name: 'Two'})
CREATE (bundle)-[:INCLUDES]->(c1), (bundle)-[:INCLUDES]->(c2)
CREATE (drama:Genre:$($scratch) {id: $p + 'drama', name: 'Drama'})
CREATE (sport:Genre:$($scratch) {id: $p + 'sport', name: 'Sport'})
CREATE (series:Series:$($scratch) {id: $p + 'saga', title: 'Saga'})
CREATE (viewer:User:$($scratch) {id: $p + 'viewer', csa_ceiling: '-18', csa_ceiling_level: 18,
                                  country: 'FR'})
CREATE (viewer)-[:SUBSCRIBES_TO {since: datetime('2030-01-01T00:00:00Z')}]->(bundle)
CREATE (w1:User:$($scratch) {id: $p + 'w1', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (w2:User:$($scratch) {id: $p + 'w2', csa_ceiling: '-18', csa_ceiling_level: 18})
CREATE (w3:User:$($scratch) {id: $p + 'w3', csa_ceiling: '-18', csa_ceiling_level: 18})
// Programs: id, duration_s, genres, episode number (in the series) or null, windows.
CREATE (a:Program:$($scratch) {id: $p + 'a', title: 'A', csa: 'TP', csa_level: 0,
                               duration_s: 3600})
CREATE (b:Program:$($scratch) {id: $p + 'b', title: 'B', csa: 'TP', csa_level: 0,
                               duration_s: 5400})
CREATE (old:Program:$($scratch) {id: $p + 'old', title: 'Old', csa: 'TP', csa_level: 0,
                                 duration_s: 1200})
CREATE (mix:Program:$($scratch) {id: $p + 'mix', title: 'Mix', csa: 'TP', csa_level: 0})
CREATE (a)-[:HAS_GENRE {rank: 0}]->(drama), (b)-[:HAS_GENRE {rank: 0}]->(sport),
       (old)-[:HAS_GENRE {rank: 0}]->(sport),
       (mix)-[:HAS_GENRE {rank: 0}]->(sport), (mix)-[:HAS_GENRE {rank: 1}]->(drama)
CREATE (a)-[:AVAILABLE_ON {kind: 'replay', start: datetime('2031-06-01T00:00:00Z'),
                           end: datetime('2031-06-30T00:00:00Z')}]->(c1)
CREATE (b)-[:AVAILABLE_ON {kind: 'live', start: datetime('2031-06-03T20:00:00Z'),
                           end: datetime('2031-06-03T21:30:00Z')}]->(c2)
CREATE (b)-[:AVAILABLE_ON {kind: 'live', start: datetime('2031-06-10T21:00:00Z'),
                           end: datetime('2031-06-10T22:30:00Z')}]->(c2)
CREATE (old)-[:AVAILABLE_ON {kind: 'vod', start: datetime('2031-05-01T00:00:00Z'),
                             end: datetime('2031-07-01T00:00:00Z')}]->(c2)
CREATE (mix)-[:AVAILABLE_ON {kind: 'replay', start: datetime('2031-07-01T00:00:00Z'),
                             end: datetime('2031-07-10T00:00:00Z')}]->(c1)
WITH *
UNWIND range(1, 3) AS n
CREATE (e:Program:$($scratch) {id: $p + 'e' + n, title: 'Saga ' + n, csa: 'TP', csa_level: 0,
                               duration_s: 1800, season: 1, episode: n})
CREATE (e)-[:EPISODE_OF]->(series), (e)-[:HAS_GENRE {rank: 0}]->(drama)
CREATE (e)-[:AVAILABLE_ON {kind: 'vod', start: datetime('2031-05-01T00:00:00Z'),
                           end: datetime('2031-07-01T00:00:00Z')}]->(c1)
WITH DISTINCT viewer, w1, w2, w3, a, b, old
MATCH (e1:Program {id: $p + 'e1'}), (e2:Program {id: $p + 'e2'})
// The viewer: a (drama, 3000 s, 83%), e1 (drama, 1800 s, done), old (sport, 1200 s, 30%)
// before now; e2 the day after now (it must count nowhere).
CREATE (viewer)-[:WATCHED {seconds: 3000, completion: 0.83, count: 2, last_channel_id: $p + 'c1',
                           first_ts: datetime('2031-06-08T20:10:00Z'),
                           last_ts: datetime('2031-06-08T21:00:00Z')}]->(a)
CREATE (viewer)-[:WATCHED {seconds: 1800, completion: 1.0, count: 1, last_channel_id: $p + 'c1',
                           first_ts: datetime('2031-06-07T21:05:00Z'),
                           last_ts: datetime('2031-06-07T21:35:00Z')}]->(e1)
CREATE (viewer)-[:WATCHED {seconds: 1200, completion: 0.3, count: 1, last_channel_id: $p + 'c2',
                           first_ts: datetime('2031-06-03T09:00:00Z'),
                           last_ts: datetime('2031-06-03T09:20:00Z')}]->(old)
CREATE (viewer)-[:WATCHED {seconds: 1800, completion: 1.0, count: 1, last_channel_id: $p + 'c1',
                           first_ts: datetime('2031-06-11T20:00:00Z'),
                           last_ts: datetime('2031-06-11T20:30:00Z')}]->(e2)
// Others: a twice in the week (50%, 100%), once on now's day (not in the week); e1 once.
CREATE (w1)-[:WATCHED {seconds: 1800, completion: 0.5, count: 1, last_channel_id: $p + 'c1',
                       first_ts: datetime('2031-06-05T09:00:00Z'),
                       last_ts: datetime('2031-06-05T10:00:00Z')}]->(a)
CREATE (w2)-[:WATCHED {seconds: 3600, completion: 1.0, count: 1, last_channel_id: $p + 'c1',
                       first_ts: datetime('2031-06-09T21:00:00Z'),
                       last_ts: datetime('2031-06-09T22:00:00Z')}]->(a)
CREATE (w3)-[:WATCHED {seconds: 3600, completion: 1.0, count: 1, last_channel_id: $p + 'c1',
                       first_ts: datetime('2031-06-10T07:00:00Z'),
                       last_ts: datetime('2031-06-10T08:00:00Z')}]->(a)
CREATE (w1)-[:WATCHED {seconds: 1440, completion: 0.8, count: 1, last_channel_id: $p + 'c1',
                       first_ts: datetime('2031-06-06T20:00:00Z'),
                       last_ts: datetime('2031-06-06T20:30:00Z')}]->(e1)
// Impressions of the viewer: b twice before now and once after; a once before its watch,
// once after it.
WITH viewer, a, b
UNWIND [['b', '2031-06-09T20:00:00Z'], ['b', '2031-06-10T10:00:00Z'],
        ['b', '2031-06-10T21:00:00Z'], ['a', '2031-06-08T19:00:00Z'],
        ['a', '2031-06-09T12:00:00Z']] AS shown
MATCH (x:Program {id: $p + shown[0]})
CREATE (viewer)-[:WAS_SERVED]->(s:Served:$($scratch) {id: $p + shown[0] + shown[1],
                                                    rail: 'home', as_of: datetime(shown[1])})
CREATE (s)-[:SERVED_ITEM {position: 1, source: 'personalised', backfill: false}]->(x);
