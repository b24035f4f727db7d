// Create one running experiment and its arms ($arms: maps of the arm's name, weight and
// the overrides it sets; a missing key keeps the API's setting). The caller checked, in
// the same transaction, that no experiment has this name and none is running; the
// uniqueness constraint on :Experiment(name) backs the first check. Nothing here is
// ever updated afterwards but the status (stop.cypher): an arm never changes.
CREATE (e:Experiment {name: $name, salt: $salt, status: 'running', created_at: $now,
                      description: $description})
WITH e
UNWIND range(0, size($arms) - 1) AS k
CREATE (e)-[:HAS_ARM]->(a:Arm)
SET a = $arms[k], a.position = k, a.experiment = $name
RETURN count(a) AS arms;
