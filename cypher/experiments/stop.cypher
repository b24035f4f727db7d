// Stop a running experiment: the API stops assigning its arms at its next poll. The
// served log keeps the rails served under it, so it can still be reported.
MATCH (e:Experiment {name: $name})
WITH e, e.status AS was
SET e.status = 'stopped', e.stopped_at = CASE WHEN was = 'running' THEN $now ELSE e.stopped_at END
RETURN was;
