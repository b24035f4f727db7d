// How many users watched a program (the base of the co-watch sample).
MATCH (:Program {id: $program_id})<-[w:WATCHED]-(:User)
RETURN count(w) AS watchers;
