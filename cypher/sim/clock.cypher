// Where a simulation's clock starts (sim/cli.py): after the latest watch or skip the
// graph holds, so fatigue, which orders a user's abandons by time, sees the simulated
// ones as the most recent; and the end of the last live airing (the EPG's end).
OPTIONAL MATCH ()-[w:WATCHED]->()
WITH max(w.last_ts) AS latest_watch
OPTIONAL MATCH ()-[s:SKIPPED]->()
WITH latest_watch, max(s.last_ts) AS latest_skip
OPTIONAL MATCH ()-[a:AVAILABLE_ON {kind: 'live'}]->()
RETURN latest_watch, latest_skip, max(a.end) AS epg_end;
