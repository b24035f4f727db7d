// How many users watched a program (the base of the co-watch sample): its degree, read
// without expanding (a WATCHED relationship always comes from a User).
MATCH (p:Program {id: $program_id})
RETURN COUNT { (p)<-[:WATCHED]-() } AS watchers;
