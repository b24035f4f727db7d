// Append a batch of served rails to the served log (api/served.py), in one transaction.
// Each row of $rows is one rail as the API returned it:
//   {id, request_id, rail, at, as_of, user_id, anchor_program_id, model_version,
//    csa_ceiling_level, bundles, experiment, arm,
//    items: [[program_id, source, backfill, channel_id, bundle_id], ...]}
// (items as lists, in the rail's order: the API packs the parameters on its
// event loop, and lists pack much faster than maps).
// `csa_ceiling_level` and `bundles` are the rules the rail was filtered with: the
// user's CSA ceiling level (the anonymous one for a user the graph does not know)
// and the bundles they could watch at `as_of`, read in the same round trip as the
// rest of the user's context. Recording them from the request, not from the graph
// at write time, means a subscription or profile changed in between does not turn
// a correct rail into an audit finding. The API draws every `id`; a row whose id
// is already there is skipped, so writing a batch again (a flush cancelled at
// shutdown after Neo4j committed it is written again by the last flush) changes
// nothing instead of failing the whole batch on the uniqueness constraint. The
// rest is CREATEd: a MERGE of the items would scan the SERVED_ITEM relationships
// of popular programs, which only grow.
// `experiment` and `arm` name the user's arm of the running A/B experiment (null:
// none), which the experiment's report (experiments/metrics.py) reads.
UNWIND $rows AS row
OPTIONAL MATCH (done:Served {id: row.id})
WITH row WHERE done IS NULL
OPTIONAL MATCH (u:User {id: row.user_id})
CREATE (s:Served {id: row.id})
SET s.request_id = row.request_id,
    s.rail = row.rail,
    s.at = row.at,
    s.as_of = row.as_of,
    s.user_id = row.user_id,
    s.anchor_program_id = row.anchor_program_id,
    s.model_version = row.model_version,
    s.size = size(row.items),
    s.csa_ceiling_level = row.csa_ceiling_level,
    s.bundles = row.bundles,
    s.experiment = row.experiment,
    s.arm = row.arm
FOREACH (_ IN CASE WHEN u IS NULL THEN [] ELSE [1] END | CREATE (u)-[:WAS_SERVED]->(s))
WITH s, row
CALL (s, row) {
  UNWIND range(0, size(row.items) - 1) AS k
  WITH k, row.items[k] AS item
  MATCH (p:Program {id: item[0]})
  CREATE (s)-[:SERVED_ITEM {position: k + 1, source: item[1], backfill: item[2],
                            channel_id: item[3], bundle_id: item[4]}]->(p)
}
RETURN count(s) AS written;
