// Every id of one label (users, programs, channels), to check an incremental
// events file against the graph.
MATCH (n:$($label))
RETURN n.id AS id;
