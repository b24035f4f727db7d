// Experiments with their arms (experiments/store.py): every one, or the one named
// $name, or those whose status is $status (null: any), newest first. Arms come in
// their position order, each as the map of its properties (the overrides it sets,
// its name, weight and position).
MATCH (e:Experiment)
WHERE ($name IS NULL OR e.name = $name) AND ($status IS NULL OR e.status = $status)
RETURN e.name AS name, e.salt AS salt, e.status AS status, e.created_at AS created_at,
       e.stopped_at AS stopped_at, coalesce(e.description, '') AS description,
       COLLECT {
         MATCH (e)-[:HAS_ARM]->(a:Arm)
         RETURN properties(a) AS arm ORDER BY a.position
       } AS arms
ORDER BY e.created_at DESC, e.name;
