// Exposure to an experiment, per arm, rail and user (experiments/metrics.py): how many
// rails the user was served under the experiment (empty ones count: the user was
// exposed) and how many items they held. Anonymous rails (no user) are not assigned.
MATCH (s:Served {experiment: $experiment})
WHERE s.user_id IS NOT NULL
RETURN s.arm AS arm, s.rail AS rail, s.user_id AS user_id, count(s) AS rails,
       sum(s.size) AS impressions
ORDER BY arm, rail, user_id;
