// Every node id of one label, in id order (the export's row order).
MATCH (n:$($label))
RETURN n.id AS id
ORDER BY id;
