// Every program with its audience as of $until (no watch from the future): a watch
// (one WATCHED: all of a user's events on the program, dated by its latest, with its
// best completion) counts when it is dated before $until. watchers_week and
// completion_week: the watches dated in [$since, $until) ("this week"), their number
// and mean completion; watchers: every watch dated before $until (a tie-break).
// season and episode name an episode whose numbers stand for another of its series.
// The API reads it once an hour and keeps, for each bundle, the rows of the programs
// offered on its channels (bundle_programs.cypher): the popular and best-of-bundle
// rails, and the whole list where "your bundle" is not applicable (MovieLens).
MATCH (p:Program)
CALL (p) {
  OPTIONAL MATCH (p)<-[w:WATCHED]-(:User) WHERE w.last_ts < $until
  WITH w, w.last_ts >= $since AS this_week
  RETURN count(CASE WHEN this_week THEN 1 END) AS watchers_week,
         avg(CASE WHEN this_week THEN w.completion END) AS completion_week,
         count(w) AS watchers
}
CALL (p) {
  OPTIONAL MATCH (p)-[a:AVAILABLE_ON]->(:Channel)
  RETURN min(a.start).epochSeconds AS first_available
}
RETURN p.id AS program_id, p.season AS season, p.episode AS episode, watchers_week,
       completion_week, watchers, first_available
ORDER BY watchers_week DESC, watchers DESC, program_id;
